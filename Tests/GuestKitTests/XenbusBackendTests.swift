// XenbusBackendTests.swift: the backend's handshake through the lifecycles the real frontends drive
// (Mini-OS's blkfront connect, shutdown and reconnect wait; a frontend that dies), the refusals
// (garbage state values, a ring fault, teardown), and a random walk held against a reference model.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class XenbusBackendTests: XCTestCase {
    func testMiniOSLifecycle() {
        var b = XenbusBackend()
        XCTAssertEqual(b.handle(.probe), .init(announce: .initWait))
        // blkfront writes ring-ref, event-channel, protocol and state 4 in one transaction.
        XCTAssertEqual(b.handle(.frontend(.connected)), .init(connect: true))
        XCTAssertEqual(b.handle(.connected), .init(announce: .connected))
        XCTAssertTrue(b.connected)
        // A second look at the same state does nothing.
        XCTAssertEqual(b.handle(.frontend(.connected)), .init())
        // shutdown_blkfront: 5, wait for >= 5; 6, wait for >= 6; 1, wait for 2...5.
        XCTAssertEqual(b.handle(.frontend(.closing)), .init(disconnect: true, announce: .closing))
        XCTAssertEqual(b.handle(.frontend(.closed)), .init(announce: .closed))
        XCTAssertEqual(b.handle(.frontend(.initialising)), .init(announce: .initWait))
        XCTAssertFalse(b.connected)
        // It may connect again.
        XCTAssertEqual(b.handle(.frontend(.initialised)), .init(connect: true))
    }

    func testFrontendThatVanishes() {
        var b = XenbusBackend()
        _ = b.handle(.probe)
        _ = b.handle(.frontend(.connected))
        _ = b.handle(.connected)
        XCTAssertEqual(b.handle(.frontend(nil)), .init(disconnect: true, announce: .closed))
        XCTAssertEqual(b.handle(.teardown), .init())
    }

    func testRefusals() {
        var b = XenbusBackend()
        _ = b.handle(.probe)
        _ = b.handle(.frontend(.connected))
        XCTAssertEqual(b.handle(.connectFailed), .init(announce: .closing))
        XCTAssertFalse(b.connected)
        // No reconnect until the frontend closes and starts again.
        XCTAssertEqual(b.handle(.frontend(.connected)), .init())

        var f = XenbusBackend()
        _ = f.handle(.probe)
        _ = f.handle(.frontend(.connected))
        _ = f.handle(.connected)
        XCTAssertEqual(f.handle(.fault), .init(disconnect: true, announce: .closing))
        XCTAssertEqual(f.handle(.fault), .init())
        XCTAssertEqual(f.handle(.teardown), .init(announce: .closed))
        // A connect report that comes when it was not asked for is ignored.
        XCTAssertEqual(f.handle(.connected), .init())
        XCTAssertFalse(f.connected)
    }

    func testParse() {
        XCTAssertEqual(XenbusBackend.parse(Array("4".utf8)), .connected)
        XCTAssertEqual(XenbusBackend.parse(Array("6".utf8) + [0]), .closed)
        XCTAssertEqual(XenbusBackend.parse(Array("004".utf8)), .connected)
        for bad in ["", "x", "4a", "-1", "9", "256", "99999999999", " 4"] {
            XCTAssertNil(XenbusBackend.parse(Array(bad.utf8)), bad)
        }
    }

    /// The reference: Linux blkback's frontend_changed and its own transitions, written as a table.
    struct Model {
        var state = 1
        var connected = false
        mutating func step(_ e: XenbusBackend.Event) -> XenbusBackend.Steps {
            var s = XenbusBackend.Steps()
            let before = state
            let wasConnected = connected
            switch e {
            case .probe: if state == 1 { state = 2 }
            case .frontend(let f):
                let v = f.map { Int($0.rawValue) } ?? 0
                if v == 3 || v == 4 { s.connect = state == 2 && !connected }
                if v == 5 { connected = false; if state != 6 { state = 5 } }
                if v == 6 || v == 0 { connected = false; state = 6 }
                if (v == 1 || v == 2) && state == 6 { state = 2 }
            case .connected: if state == 2 && !connected { connected = true; state = 4 }
            case .connectFailed: connected = false; state = 5
            case .fault: connected = false; if state != 6 { state = 5 }
            case .teardown: connected = false; state = 6
            }
            s.disconnect = wasConnected && !connected
            if state != before { s.announce = XenbusState(rawValue: UInt8(state)) }
            return s
        }
    }

    func testRandomWalkAgainstModel() {
        var rng = SplitMix64(seed: 1406)
        let fronts: [XenbusState?] = [nil, .unknown, .initialising, .initWait, .initialised, .connected, .closing, .closed,
                                      .reconfiguring, .reconfigured]
        for _ in 0..<200 {
            var b = XenbusBackend()
            var m = Model()
            var mappedRings = 0
            for _ in 0..<300 {
                let e: XenbusBackend.Event
                switch rng.next() % 8 {
                case 0: e = .probe
                case 1: e = .connectFailed
                case 2: e = .fault
                case 3: e = .teardown
                case 4: e = .connected
                default: e = .frontend(fronts[Int(rng.next() % UInt64(fronts.count))])
                }
                let got = b.handle(e)
                XCTAssertEqual(got, m.step(e), "\(e)")
                // A ring is unmapped only when mapped, and a connected backend says so.
                if got.disconnect { mappedRings -= 1 }
                if e == .connected && got.announce == .connected { mappedRings += 1 }
                XCTAssertTrue(mappedRings == 0 || mappedRings == 1)
                XCTAssertEqual(b.connected, mappedRings == 1)
                XCTAssertEqual(b.connected, b.state == .connected)
                XCTAssertFalse(got.connect && b.connected)
            }
            _ = b.handle(.teardown)
            XCTAssertFalse(b.connected)
            XCTAssertEqual(b.state, .closed)
        }
    }
}
