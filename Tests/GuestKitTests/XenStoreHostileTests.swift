// XenStoreHostileTests.swift: what a guest cannot do to xenstored: quotas answer EQUOTA and change
// nothing; malformed messages get an error or end only that guest's connection; an undrained reply
// ring ends it too; 10^5 seeded random messages never trap and leave a well-formed tree.

import XCTest
import ApusCore
@testable import GuestKit

final class XenStoreHostileTests: XCTestCase {
    func testNodeQuotaRefusesWholeWritesAndChangesNothing() {
        var limits = StoreLimits()
        limits.nodesPerDomain = 4  // /local/domain/1 itself is domain 1's first node
        var s = storeWithGuests(limits)
        XCTAssertTrue(s.write(1, "a", "").isOK)
        XCTAssertTrue(s.write(1, "b", "").isOK)
        let before = s.tree.nodes
        XCTAssertEqual(s.write(1, "c/d", "").errorName, "EQUOTA")  // needs two nodes, one is left
        XCTAssertEqual(s.tree.nodes, before)
        XCTAssertTrue(s.write(1, "c", "").isOK)
        XCTAssertEqual(s.ask(1, .mkdir, ["e"]).errorName, "EQUOTA")
        XCTAssertTrue(s.write(1, "c", "rewriting costs nothing").isOK)
        XCTAssertTrue(s.write(2, "a", "").isOK)  // another domain's quota is its own
        XCTAssertTrue(s.ask(1, .rm, ["a"]).isOK)
        XCTAssertTrue(s.write(1, "e", "").isOK)
        // Inside a transaction too.
        let tx = UInt32(s.ask(1, .transactionStart, [""]).strings[0])!
        XCTAssertEqual(s.write(1, "f", "", tx: tx).errorName, "EQUOTA")
    }

    func testDom0IsNotHeldToAGuestsNodeQuota() {
        var limits = StoreLimits()
        limits.nodesPerDomain = 2
        var s = storeWithGuests(limits)
        XCTAssertTrue(s.write(1, "a", "").isOK)
        XCTAssertEqual(s.write(1, "b", "").errorName, "EQUOTA")
        XCTAssertTrue(s.write(0, "/local/domain/1/b/c", "").isOK)
        XCTAssertEqual(s.ask(0, .getPerms, ["/local/domain/1/b/c"]).strings, ["n1"])
    }

    func testTreeBudgetAnswersENOSPCToGuestsOnly() {
        var limits = StoreLimits()
        limits.treeBytes = 3000
        var s = storeWithGuests(limits)
        var refused = false
        for i in 0..<100 where !refused {
            let r = s.write(1, "k\(i)", String(repeating: "v", count: 100))
            refused = r.errorName == "ENOSPC"
            XCTAssertTrue(r.isOK || refused)
        }
        XCTAssertTrue(refused)
        XCTAssertLessThanOrEqual(s.tree.bytes, 3000)
        let before = s.tree.nodes
        XCTAssertEqual(s.write(2, "x", "y").errorName, "ENOSPC")
        XCTAssertEqual(s.ask(2, .setPerms, ["/local/domain/2", "n2", "r1", "r0", "r3"]).errorName, "ENOSPC")
        XCTAssertEqual(s.tree.nodes, before)
        XCTAssertTrue(s.write(2, "/local/domain/2", "").isOK)  // no growth, no refusal
        XCTAssertTrue(s.write(0, "/tool", String(repeating: "t", count: 2000)).isOK)
        XCTAssertTrue(s.ask(1, .rm, ["k0"]).isOK)
        XCTAssertTrue(treeIsWellFormed(s.tree))
    }

    func testTransactionIDsBelongToTheirDomain() {
        var s = storeWithGuests()
        let tx = UInt32(s.ask(1, .transactionStart, [""]).strings[0])!
        XCTAssertEqual(s.write(2, "k", "v", tx: tx).errorName, "ENOENT")
        XCTAssertEqual(s.ask(2, .transactionEnd, ["T"], tx: tx).errorName, "ENOENT")
        XCTAssertTrue(s.ask(1, .transactionEnd, ["T"], tx: tx).isOK)
    }

    func testEntrySizeQuota() {
        var limits = StoreLimits()
        limits.entrySize = 16
        var s = storeWithGuests(limits)
        XCTAssertTrue(s.write(1, "v", String(repeating: "x", count: 16)).isOK)
        XCTAssertEqual(s.write(1, "v", String(repeating: "x", count: 17)).errorName, "EQUOTA")
        XCTAssertEqual(s.ask(1, .read, ["v"]).payload.count, 16)
    }

    func testWatchAndTransactionQuotas() {
        var limits = StoreLimits()
        limits.watchesPerDomain = 3
        limits.transactionsPerDomain = 2
        var s = storeWithGuests(limits)
        for i in 0..<3 { XCTAssertTrue(s.ask(1, .watch, ["w\(i)", "t"]).isOK) }
        XCTAssertEqual(s.ask(1, .watch, ["w9", "t"]).errorName, "EQUOTA")
        XCTAssertTrue(s.ask(2, .watch, ["w9", "t"]).isOK)
        XCTAssertTrue(s.ask(1, .unwatch, ["w0", "t"]).isOK)
        XCTAssertTrue(s.ask(1, .watch, ["w9", "t"]).isOK)
        let t1 = s.ask(1, .transactionStart, [""]).strings[0]
        let t2 = s.ask(1, .transactionStart, [""]).strings[0]
        XCTAssertNotEqual(t1, t2)
        XCTAssertEqual(s.ask(1, .transactionStart, [""]).errorName, "EQUOTA")
        XCTAssertEqual(s.ask(2, .transactionStart, [""]).kind, .transactionStart)
        XCTAssertTrue(s.ask(1, .transactionEnd, ["F"], tx: UInt32(t1)!).isOK)
        XCTAssertEqual(s.ask(1, .transactionStart, [""]).kind, .transactionStart)
    }

    func testMalformedMessagesAnswerErrors() {
        var s = storeWithGuests()
        func send(_ type: UInt32, _ payload: [UInt8]) -> StoreMessage? {
            let m = StoreMessage(type: type, requestID: 3, payload: payload)
            XCTAssertEqual(s.receive(from: 1, m.encoded), .open)
            let out = s.drain(1)
            XCTAssertEqual(out.count, 1)
            return out.first
        }
        XCTAssertEqual(send(99, [])?.errorName, "EINVAL")
        XCTAssertEqual(send(20, [])?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.read.rawValue, Array("name".utf8))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.write.rawValue, Array("name".utf8))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.read.rawValue, [])?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.read.rawValue, storePayload(["a", "b"]))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.watch.rawValue, storePayload(["a"]))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.watchEvent.rawValue, storePayload(["a", "b"]))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.error.rawValue, storePayload(["EINVAL"]))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.debug.rawValue, storePayload(["print"]))?.errorName, "EACCES")
        XCTAssertEqual(send(StoreMessageType.getDomainPath.rawValue, storePayload(["99999"]))?.errorName, "EINVAL")
        XCTAssertEqual(send(StoreMessageType.introduce.rawValue, storePayload(["3", "1", "1"]))?.errorName, "EACCES")
        // The connection still works, and the reply echoes the request's ids.
        let ok = send(StoreMessageType.getDomainPath.rawValue, storePayload(["1"]))
        XCTAssertEqual(ok?.strings, ["/local/domain/1"])
        XCTAssertEqual(ok?.requestID, 3)
        XCTAssertEqual(s.call(from: 0, StoreMessage(.read, payload: [UInt8](repeating: 0x61, count: 4097))).errorName,
                       "E2BIG")
    }

    func testMessagesMayArriveInPieces() {
        var s = storeWithGuests()
        let bytes = StoreMessage(.write, requestID: 1, payload: storePayload(["k"]) + Array("v".utf8)).encoded
            + StoreMessage(.read, requestID: 2, payload: storePayload(["k"])).encoded
        for b in bytes { XCTAssertEqual(s.receive(from: 1, [b]), .open) }
        let out = s.drain(1)
        XCTAssertEqual(out.map { $0.requestID }, [1, 2])
        XCTAssertEqual(out.last?.payload, Array("v".utf8))
    }

    func testOversizedLengthEndsOnlyThatConnection() {
        var s = storeWithGuests()
        let header = StoreHeader(type: 2, requestID: 1, transactionID: 0, length: 4097)
        XCTAssertEqual(s.receive(from: 1, header.bytes), .closed(.oversizedMessage))
        XCTAssertEqual(s.receive(from: 1, StoreMessage(.read, payload: storePayload(["k"])).encoded),
                       .closed(.oversizedMessage))
        XCTAssertEqual(s.drain(1).count, 0)
        XCTAssertEqual(s.ask(2, .getDomainPath, ["2"]).strings, ["/local/domain/2"])
        XCTAssertEqual(s.ask(0, .isDomainIntroduced, ["1"]).strings, ["T"])
        // A full 4096-byte payload is still fine.
        let big = StoreMessage(.write, payload: storePayload(["big"]) + [UInt8](repeating: 0x61, count: 4092))
        XCTAssertEqual(big.payload.count, 4096)
        var limits = StoreLimits()
        limits.entrySize = 4096
        var t = storeWithGuests(limits)
        XCTAssertEqual(t.receive(from: 2, big.encoded), .open)
        XCTAssertEqual(t.drain(2).first?.isOK, true)
    }

    func testUndrainedReplyRingEndsTheConnection() {
        var limits = StoreLimits()
        limits.outputBacklog = 2000
        var s = storeWithGuests(limits)
        let req = StoreMessage(.getDomainPath, payload: storePayload(["1"])).encoded  // 32-byte replies
        var state: StoreConnectionState? = .open
        var sent = 0
        while state == .open && sent < 1000 { state = s.receive(from: 1, req); sent += 1 }
        XCTAssertEqual(state, .closed(.backlogOverflow))
        XCTAssertLessThan(sent, 100)
        XCTAssertEqual(s.ask(2, .getDomainPath, ["2"]).strings, ["/local/domain/2"])
        // A guest that drains keeps going forever.
        for _ in 0..<1000 {
            XCTAssertEqual(s.receive(from: 2, req), .open)
            _ = s.drain(2)
        }
        // Released and introduced again, the guest starts afresh.
        XCTAssertTrue(s.ask(0, .release, ["1"]).isOK)
        XCTAssertTrue(s.ask(0, .introduce, ["1", "101", "11"]).isOK)
        XCTAssertEqual(s.receive(from: 1, req), .open)
    }

    /// 10^5 seeded random messages from two guests and dom0: valid-looking ones and garbage. The core
    /// must never trap, answer every whole message on an open connection exactly once, and keep
    /// the tree well-formed.
    func testRandomMessagesNeverTrap() {
        var rng = SplitMix64(seed: 0x5EED_0010)
        var s = storeWithGuests()
        let names = ["a", "b", "data", "/local/domain/1/x", "/local/domain/2", "/", "@introduceDomain",
                     "/a/b", "c/d", "//", "", "name", "/local"]
        var replies = 0, expected = 0, successes = 0, events = 0
        for _ in 0..<100_000 {
            let domain = UInt16(rng.next() % 3)
            var payload: [UInt8] = []
            if rng.next() % 4 == 0 {
                for _ in 0..<(rng.next() % 40) { payload.append(UInt8(truncatingIfNeeded: rng.next())) }
            } else {
                for _ in 0..<(rng.next() % 4) {
                    payload += Array(names[Int(rng.next() % UInt64(names.count))].utf8)
                    if rng.next() % 8 != 0 { payload.append(0) }
                }
            }
            var type = rng.next() % 10 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(rng.next() % 23)
            if rng.next() % 2 == 0 {  // a well-shaped request: its type, a path, then what it takes
                let shapes: [(StoreMessageType, [String])] = [
                    (.read, []), (.write, ["v"]), (.mkdir, []), (.rm, []), (.directory, []),
                    (.getPerms, []), (.watch, ["tok"]), (.unwatch, ["tok"]), (.setPerms, ["n1", "r2"]),
                    (.transactionStart, []), (.transactionEnd, ["T"]),
                ]
                let (kind, extra) = shapes[Int(rng.next() % UInt64(shapes.count))]
                type = kind.rawValue
                let path = kind == .transactionStart || kind == .transactionEnd
                    ? [] : [names[Int(rng.next() % UInt64(names.count))]]
                payload = storePayload(kind == .transactionStart ? [""] : path + extra)
            }
            let tx = rng.next() % 5 == 0 ? UInt32(rng.next() % 4) : 0
            var msg = StoreMessage(type: type, requestID: UInt32(truncatingIfNeeded: rng.next()),
                                   transactionID: tx, payload: payload)
            if domain == 0 {
                _ = s.call(from: 0, msg)
                _ = s.drain(0)
                continue
            }
            if type == StoreMessageType.release.rawValue || type == StoreMessageType.introduce.rawValue {
                msg.type = StoreMessageType.read.rawValue  // keep the guests introduced
            }
            var bytes = msg.encoded
            if rng.next() % 50 == 0 {  // a corrupt length
                bytes[12] = UInt8(truncatingIfNeeded: rng.next())
                bytes[13] = UInt8(truncatingIfNeeded: rng.next())
            }
            let wellFramed = Int(StoreHeader(ArraySlice(bytes))!.length) == payload.count
            guard s.receive(from: domain, bytes) == .open else {
                // Reset the connection so the run goes on.
                XCTAssertTrue(s.ask(0, .release, ["\(domain)"]).isOK)
                XCTAssertTrue(s.ask(0, .introduce, ["\(domain)", "1", "1"]).isOK)
                continue
            }
            if !wellFramed {
                XCTAssertTrue(s.ask(0, .release, ["\(domain)"]).isOK)
                XCTAssertTrue(s.ask(0, .introduce, ["\(domain)", "1", "1"]).isOK)
                continue
            }
            expected += 1
            let out = s.drain(domain)
            replies += out.filter { $0.kind != .watchEvent }.count
            successes += out.filter { $0.kind != .watchEvent && $0.kind != .error }.count
            events += out.filter { $0.kind == .watchEvent }.count
        }
        XCTAssertEqual(replies, expected)
        // The run must reach past the decoders: many requests succeed and watches fire.
        print("store fuzz: \(expected) answered, \(successes) succeeded, \(events) events, \(s.tree.nodes.count) nodes")
        XCTAssertGreaterThan(successes, expected / 10)
        XCTAssertGreaterThan(events, 100)
        XCTAssertTrue(treeIsWellFormed(s.tree))
    }
}
