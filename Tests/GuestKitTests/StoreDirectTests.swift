// StoreDirectTests.swift: dom0's direct WRITE and SET_PERMS (privilegedWrite, privilegedSetPermissions,
// and apply built on them) against the same requests through `call`: over seeded random sequences,
// two stores must answer alike, hold equal trees (generations included) and queue identical bytes.

import XCTest
@testable import GuestKit

/// A small seeded generator (xorshift64*), test-only.
private struct Draws {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

final class StoreDirectTests: XCTestCase {
    private static let names = ["a", "b", "data", "x-y", "device", "1", "@q", "bad!", ""]

    private func path(_ r: inout Draws) -> [UInt8] {
        switch r.below(14) {
        case 0: return []
        case 1: return Array("/".utf8)
        case 2: return Array("/local/domain/1/".utf8)
        case 3: return Array("/local/domain//1".utf8)
        case 4: return Array("/local/domain/1".utf8) + [0] + Array("x".utf8)
        case 5: return Array(repeating: 0x61, count: 3100)
        case 6: return Array("relative/".utf8) + Array(StoreDirectTests.names[r.below(4)].utf8)
        default:
            var p = Array("/local/domain/".utf8) + Array(String(1 + r.below(3)).utf8)
            for _ in 0..<r.below(4) { p += [0x2F] + Array(StoreDirectTests.names[r.below(StoreDirectTests.names.count)].utf8) }
            return p
        }
    }

    private func value(_ r: inout Draws) -> [UInt8] {
        switch r.below(12) {
        case 0: return Array(repeating: 0x76, count: 4070 + r.below(40))
        case 1: return [0, 1, 0]
        default: return Array(String(r.below(1000)).utf8)
        }
    }

    private func permissions(_ r: inout Draws) -> StorePermissions {
        var grants: [StorePermission] = []
        for _ in 0..<(r.below(8) == 0 ? 700 + r.below(400) : r.below(3)) {
            grants.append(StorePermission(domain: UInt16(r.below(5)), access: StoreAccess(rawValue: UInt8(r.below(4)))))
        }
        let others = StoreAccess(rawValue: UInt8(r.below(9) == 0 ? 4 + r.below(4) : r.below(4)))
        return StorePermissions(owner: UInt16(r.below(5)), others: others, grants: grants)
    }

    /// Two identical stores with guests connected and watches set, some in a transaction.
    private func pair() -> (XenStore, XenStore) {
        var s = XenStore()
        for id: UInt16 in 1...3 { XCTAssertNoThrow(try s.introduceDomain(id, frame: 100 + UInt32(id), port: 1).get()) }
        XCTAssertNoThrow(try s.localWrite(Array("/local/domain/1".utf8), []).get())
        XCTAssertNoThrow(try s.localSetPermissions(Array("/local/domain/1".utf8), StorePermissions(owner: 1)).get())
        s.ask(1, .watch, ["/", "all"])
        s.ask(1, .watch, ["data", "mine"])
        s.ask(2, .watch, ["/local/domain/1", "peek"])
        s.ask(3, .watch, ["/local/domain/3/a/b", "deep"])
        s.ask(0, .watch, ["/local", "dom0"])
        s.ask(2, .transactionStart, [])
        for id: UInt16 in 0...3 { _ = s.drain(id) }
        return (s, s)
    }

    func testDirectWritesMatchWritesThroughCall() {
        var outcomes: Set<String> = []
        for seed: UInt64 in 1...40 {
            var r = Draws(state: 0x5EED_0000 &+ seed &* 0x9E37_79B9)
            var (direct, wire) = pair()
            for step in 0..<300 {
                let p = path(&r)
                let answered: (Result<Void, StoreError>, Result<Void, StoreError>)
                switch r.below(7) {
                case 5, 6:
                    // One toolstack setting: the write, then (if it was done) the access list.
                    let v = value(&r)
                    let perms = permissions(&r)
                    let wired = wire.localWrite(p, v).flatMap { wire.localSetPermissions(p, perms) }
                    answered = (direct.privilegedSetting(p, v, perms), wired)
                case 0, 1:
                    let v = value(&r)
                    answered = (direct.privilegedWrite(p, v), wire.localWrite(p, v))
                case 2, 3:
                    let perms = permissions(&r)
                    answered = (direct.privilegedSetPermissions(p, perms), wire.localSetPermissions(p, perms))
                default:
                    // A guest's own request, the same on both, so the trees hold guest-owned nodes too.
                    let guest = UInt16(1 + r.below(3))
                    let tail = Array(StoreDirectTests.names[r.below(4)].utf8)
                    let message = StoreMessage(.write, payload: tail + [0] + value(&r))
                    let replies = (direct.call(from: guest, message), wire.call(from: guest, message))
                    XCTAssertEqual(replies.0, replies.1, "seed \(seed) step \(step)")
                    answered = (.success(()), .success(()))
                }
                XCTAssertEqual(String(describing: answered.0), String(describing: answered.1), "seed \(seed) step \(step)")
                outcomes.insert(String(describing: answered.0))
                XCTAssertEqual(direct.tree.nodes, wire.tree.nodes, "seed \(seed) step \(step)")
                XCTAssertEqual(direct.tree.bytes, wire.tree.bytes)
                for id: UInt16 in 0...3 {
                    XCTAssertEqual(Array(direct.unsent(for: id)), Array(wire.unsent(for: id)), "seed \(seed) step \(step) d\(id)")
                    XCTAssertEqual(direct.state(of: id), wire.state(of: id))
                }
                if r.below(4) == 0 { for id: UInt16 in 0...3 { _ = direct.drain(id); _ = wire.drain(id) } }
            }
            XCTAssertTrue(direct.tree.isWellFormed)
        }
        // The draws reach every answer dom0 can get: done, a bad path, too big, no such node.
        for e: StoreError in [.EINVAL, .E2BIG, .ENOENT] { XCTAssertTrue(outcomes.contains(String(describing: Result<Void, StoreError>.failure(e))), "\(e)") }
        XCTAssertTrue(outcomes.contains(String(describing: Result<Void, StoreError>.success(()))))
    }

    func testApplyMatchesTheWritesAndPermissionsItStandsFor() {
        let facts = DomainStoreFacts(id: 5, name: Array("guest".utf8), memoryKiB: 4096, storePort: 3, storeMFN: 77,
                                     consolePort: 4, consoleMFN: 78,
                                     vifs: [VifSpec(bridge: Array("br0".utf8))],
                                     disks: [])
        var (direct, wire) = pair()
        XCTAssertNoThrow(try direct.introduceDomain(5, frame: 77, port: 3).get())
        XCTAssertNoThrow(try wire.introduceDomain(5, frame: 77, port: 3).get())
        direct.ask(5, .watch, ["/", "all"])
        wire.ask(5, .watch, ["/", "all"])
        let settings = DomainStoreLayout.settings(facts)
        XCTAssertNoThrow(try direct.apply(settings).get())
        for s in settings {
            XCTAssertNoThrow(try wire.localWrite(s.path, s.value).get())
            XCTAssertNoThrow(try wire.localSetPermissions(s.path, s.permissions).get())
        }
        XCTAssertEqual(direct.tree.nodes, wire.tree.nodes)
        let events = direct.events(5)
        XCTAssertGreaterThan(events.count, settings.count / 2)
        XCTAssertEqual(events, wire.events(5))
        XCTAssertGreaterThan(direct.unsent(for: 0).count, 1000)
        for id: UInt16 in 0...5 { XCTAssertEqual(Array(direct.unsent(for: id)), Array(wire.unsent(for: id))) }
    }
}

final class StorePathRuleTests: XCTestCase {
    func testTheAllowedBytesAreTheList() {
        for b in 0...255 { XCTAssertEqual(StorePath.allowed(UInt8(b)), StorePath.allowedByList(UInt8(b)), "\(b)") }
    }

    func testDecimalSpellingIsSwifts() {
        var values: [UInt32] = [0, 1, 9, 10, 99, 100, 65535, 999_999_999, 1_000_000_000, UInt32.max]
        var r: UInt32 = 0x9E37_79B9
        for _ in 0..<5000 { r = r &* 1_664_525 &+ 1_013_904_223; values.append(r >> (r % 32)) }
        for v in values {
            XCTAssertEqual(StorePayload.decimal(v), Array(String(v).utf8))
            XCTAssertEqual(StorePayload.digitCount(v), String(v).count)
        }
    }

    func testWordWiseComparisonIsByteOrder() {
        var r = UInt64(0x1234_5678)
        func next() -> Int { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return Int(r % 1_000_000) }
        let alphabet: [UInt8] = Array("/-0az".utf8)
        for _ in 0..<20_000 {
            let shared = Array(repeating: UInt8(0x2F), count: next() % 9)
            let a = shared + (0..<(next() % 9)).map { _ in alphabet[next() % alphabet.count] }
            let b = shared + (0..<(next() % 9)).map { _ in alphabet[next() % alphabet.count] }
            let expected = a.lexicographicallyPrecedes(b)
            XCTAssertEqual(StorePath.less(a, b), expected)
            let from = next() % (shared.count + 1)
            let (less, common) = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { StorePath.compare(pa, $0, from: from) } }
            XCTAssertEqual(less, expected, "\(a) \(b) from \(from)")
            XCTAssertEqual(common, zip(a, b).prefix { $0 == $1 }.count)
            XCTAssertEqual(a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { StorePath.same(pa, $0) } }, a == b)
        }
    }
}
