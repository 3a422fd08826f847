// XenbusFrontendTests.swift: the frontend's handshake on its own (publish once from Initialising,
// Connected only after the backend says so, closing both ways, garbage backend states), and driven
// against the backend's state machine (XenbusBackend) as a frontend and dom0's backend meet through
// the store: connect, close, reconnect; and a random walk where the two never disagree about the ring.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class XenbusFrontendTests: XCTestCase {
    func testConnectAsLinuxDoes() {
        var f = XenbusFrontend()
        XCTAssertEqual(f.handle(.backend(.initialising)), .init())
        XCTAssertEqual(f.handle(.backend(.initWait)), .init(publish: true))
        XCTAssertEqual(f.handle(.published), .init(announce: .initialised))
        XCTAssertFalse(f.connected)
        // The same backend state read again: nothing is published twice.
        XCTAssertEqual(f.handle(.backend(.initWait)), .init())
        XCTAssertEqual(f.handle(.backend(.connected)), .init(announce: .connected))
        XCTAssertTrue(f.connected)
        XCTAssertEqual(f.handle(.backend(.connected)), .init())
    }

    func testRefusals() {
        // A backend that says Connected before the ring was published is not believed.
        var f = XenbusFrontend()
        XCTAssertEqual(f.handle(.backend(.connected)), .init())
        XCTAssertFalse(f.connected)
        // Publishing that failed closes the device.
        XCTAssertEqual(f.handle(.backend(.initWait)), .init(publish: true))
        XCTAssertEqual(f.handle(.publishFailed), .init(announce: .closed))
        XCTAssertEqual(f.handle(.backend(.initWait)), .init())
        // A backend state that is gone or garbage drops the ring.
        var g = XenbusFrontend()
        _ = g.handle(.backend(.initWait)); _ = g.handle(.published); _ = g.handle(.backend(.connected))
        XCTAssertEqual(g.handle(.backend(nil)), .init(disconnect: true, announce: .closed))
        XCTAssertFalse(g.connected)
        var h = XenbusFrontend()
        _ = h.handle(.backend(.initWait)); _ = h.handle(.published); _ = h.handle(.backend(.connected))
        XCTAssertEqual(h.handle(.backend(.unknown)), .init(disconnect: true, announce: .closed))
        XCTAssertEqual(h.handle(.backend(.reconfiguring)), .init())
    }

    func testBackendGoesAway() {
        var f = XenbusFrontend()
        _ = f.handle(.backend(.initWait)); _ = f.handle(.published); _ = f.handle(.backend(.connected))
        XCTAssertEqual(f.handle(.backend(.closing)), .init(disconnect: true, announce: .closing))
        XCTAssertEqual(f.handle(.backend(.closing)), .init(announce: .closed))
        XCTAssertEqual(f.handle(.backend(.closed)), .init())
    }

    /// Frontend and backend machines, the store between them: each reads the other's last
    /// announcement, until neither has anything to do.
    struct Pair {
        var front = XenbusFrontend()
        var back = XenbusBackend()
        var frontNode: XenbusState = .initialising
        var backNode: XenbusState = .initialising
        var mapped = false
        var published = false

        mutating func settle() {
            for _ in 0..<20 {
                var changed = false
                let b = back.handle(.frontend(frontNode))
                if b.disconnect { mapped = false }
                if b.connect {
                    XCTAssertTrue(published, "the backend maps only a published ring")
                    mapped = true
                    let c = back.handle(.connected)
                    if let s = c.announce { backNode = s; changed = true }
                }
                if let s = b.announce { backNode = s; changed = true }
                let f = front.handle(.backend(backNode))
                if f.publish {
                    published = true
                    let p = front.handle(.published)
                    if let s = p.announce { frontNode = s; changed = true }
                }
                if let s = f.announce { frontNode = s; changed = true }
                if !changed { return }
            }
            XCTFail("the handshake never settled")
        }
    }

    func testAgainstDom0sBackend() {
        var p = Pair()
        if let s = p.back.handle(.probe).announce { p.backNode = s }
        p.settle()
        XCTAssertTrue(p.front.connected)
        XCTAssertTrue(p.mapped)
        XCTAssertEqual(p.frontNode, .connected)
        XCTAssertEqual(p.backNode, .connected)
        // The frontend closes: Closing, the backend follows, both end Closed, the ring unmapped.
        if let s = p.front.handle(.close).announce { p.frontNode = s }
        p.settle()
        XCTAssertFalse(p.front.connected)
        XCTAssertFalse(p.mapped)
        XCTAssertEqual(p.frontNode, .closed)
        XCTAssertEqual(p.backNode, .closed)
    }

    func testRandomBackendStatesNeverConnectWithoutPublishing() {
        var rng = SplitMix64(seed: 31)
        for _ in 0..<2000 {
            var f = XenbusFrontend()
            var published = false
            for _ in 0..<12 {
                let raw = UInt8(rng.next() % 10)
                let steps = f.handle(rng.next() % 5 == 0 ? .close : .backend(XenbusState(rawValue: raw)))
                if steps.publish {
                    XCTAssertFalse(published, "published twice")
                    published = true
                    _ = f.handle(.published)
                }
                if f.connected { XCTAssertTrue(published) }
                if f.state == .closing || f.state == .closed { XCTAssertFalse(f.connected) }
            }
        }
    }
}
