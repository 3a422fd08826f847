// The property test of mmu_update's run path (FrameTable.mmuUpdateRun, with its in-place L1 fast path), its count-of-one path (mmuUpdateSingle) and update_va_mapping's lent walk against their reference, the requests applied one by one with mmuUpdate(_ request:).
// Two identical machines take the same random batches; outcome, frame records, entries and M2P must agree after every batch. It must never compare the run path with itself.

import XCTest
import PVABI
@testable import ApusCore

final class MMUUpdateRunTests: XCTestCase {
    static let sequences = 300
    static let batches = 12

    /// Domain 1 on a based address space, a second pinned L1 (frame 8) with entries, and domain 2's
    /// frame 6 granted to it and mapped at 0x5000.
    private func machine() -> PagingMachine {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        m.memory.setEntry(m.f(1, 8), 0, PTE.make(m.f(1, 9), PTE.p | PTE.a))
        m.memory.setEntry(m.f(1, 8), 1, PTE.make(m.f(1, 4), PTE.p | PTE.rw))
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertNil(m.newBase(1, s.l3))
        XCTAssertNil(m.pin(1, 1, m.f(1, 8)))
        XCTAssertTrue(m.frames.getGrantReference(m.f(2, 6), owner: 2, writable: false))
        XCTAssertNil(m.frames.installGrantPTE(va: 0x5000, frame: m.f(2, 6), writable: false, user: false, state: m.states[1]!, memory: &m.memory))
        return m
    }

    /// A request biased towards runs into one L1 that keep their references (the fast path), with
    /// everything that must leave it: other commands, frames and levels, misaligned slots, new
    /// references, refused bits, the grant entry.
    private func request(_ m: PagingMachine, _ rng: inout SplitMix64, l1: UInt32) -> MMUUpdateRequest {
        let targets: [UInt32] = [l1, l1, l1, l1, m.f(1, 8), m.f(1, 1), m.f(1, 0), m.f(1, 10), m.f(2, 3), 200, m.f(1, 3) ^ 1]
        let frame = rng.chance(75) ? l1 : rng.pick(targets)
        let index = UInt64(rng.pick([0, 1, 2, 5, 6, 7, 100, 511]))
        var command = UInt64(rng.chance(80) ? 0 : rng.pick([1, 2, 2, 3]))
        var address = UInt64(frame) << 12 | index << 3
        if rng.chance(3) { address |= 4 }
        if rng.chance(2) { address |= 1 << 32 }
        if command == 1 && rng.chance(50) { command = 0 }
        let mapped = rng.pick([m.f(1, 4), m.f(1, 5), m.f(1, 9), m.f(2, 6), m.sharedInfo[1]!, m.f(1, 3), m.f(2, 4), m.f(1, 8)])
        let flags = rng.pick([PTE.p, PTE.p | PTE.a, PTE.p | PTE.rw, PTE.p | PTE.rw | PTE.a | PTE.d, 0, PTE.a, PTE.p | PTE.g,
                              PTE.p | PTE.ps, PTE.p | 1 << 52, PTE.p | PTE.nx, PTE.p | PTE.us | PTE.a, PTE.table])
        var value = PTE.make(mapped, flags)
        if rng.chance(5) { value = 0 }
        if command == 1 { value = UInt64(rng.u32()) }
        return MMUUpdateRequest(ptr: address | command, val: value)
    }

    private func assertSame(_ run: PagingMachine, _ one: PagingMachine, _ what: String) -> Bool {
        if run.snapshot() != one.snapshot() { XCTFail("\(what): frame records differ"); return false }
        for frame in run.owned[1]! + run.owned[2]! {
            for i in 0..<512 where run.memory.entry(frame, i) != one.memory.entry(frame, i) {
                XCTFail("\(what): entry \(i) of frame \(frame) differs"); return false
            }
        }
        if run.m2p.entries != one.m2p.entries { XCTFail("\(what): M2P differs"); return false }
        if run.memory.flushes != one.memory.flushes { XCTFail("\(what): flushes differ"); return false }
        return true
    }

    func testRunsAgreeWithOneByOne() {
        var fast = 0, refused = 0, done = 0, uvms = 0, singles = 0, singlesLent = 0
        for k in 0..<MMUUpdateRunTests.sequences {
            var rng = SplitMix64(seed: 0x5EED_0000_0000 &+ UInt64(k))
            let run = machine(), one = machine()
            let l1 = run.f(1, 3)
            for b in 0..<MMUUpdateRunTests.batches {
                if rng.chance(25) {
                    guard sameUpdateVAMapping(run, one, &rng, l1: l1, "seed \(k) batch \(b)") else { return }
                    uvms += 1
                    continue
                }
                let count = rng.chance(30) ? 1 : Int(rng.below(40)) + 1
                var requests: [MMUUpdateRequest] = []
                for _ in 0..<count { requests.append(request(run, &rng, l1: rng.chance(80) ? l1 : run.f(1, 8))) }
                let lentBefore = run.memory.lent
                let got: MMUUpdateOutcome
                if count == 1 && rng.chance(50) {
                    // The count-of-one path (mmuUpdateSingle), against the same reference.
                    let r = requests[0]
                    got = run.frames.mmuUpdateSingle(ptrLow: UInt32(truncatingIfNeeded: r.ptr), ptrHigh: UInt32(truncatingIfNeeded: r.ptr >> 32),
                                                     valLow: UInt32(truncatingIfNeeded: r.val), valHigh: UInt32(truncatingIfNeeded: r.val >> 32),
                                                     state: &run.states[1]!, memory: &run.memory, m2p: &run.m2p)
                    singles += 1
                    if run.memory.lent > lentBefore { singlesLent += 1 }
                } else {
                    got = run.update(1, requests)
                }
                if run.memory.lent > lentBefore { fast += 1 }

                // The reference: one request at a time, stopping at the first refusal.
                var expected = MMUUpdateOutcome(done: 0, error: nil, currentBaseChanged: false)
                var reference = one.memory
                for r in requests {
                    switch one.frames.mmuUpdate(r, state: &one.states[1]!, memory: &reference, m2p: &one.m2p) {
                    case .failure(let e): expected.error = e
                    case .success(let effect):
                        if case .tableEntry(let f, .l3, _) = effect, one.states[1]!.isBase(f) { expected.currentBaseChanged = true }
                        expected.done += 1
                    }
                    if expected.error != nil { break }
                }
                one.memory = reference
                let what = "seed \(k) batch \(b)"
                XCTAssertEqual(got, expected, what)
                if got.error != nil { refused += 1 }
                done += got.done
                guard got == expected, assertSame(run, one, what) else { return }
            }
        }
        XCTAssertGreaterThan(fast, 0, "the fast path was never taken")
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThan(done, 0)
        XCTAssertGreaterThan(uvms, 0)
        XCTAssertGreaterThan(singlesLent, 0, "the count-of-one path never lent an L1")
        XCTAssertGreaterThan(singles, singlesLent, "the count-of-one path never left the L1 check")
    }

    /// update_va_mapping (with its in-place fast path) against its reference: the walk, then
    /// modifyEntry, then the flush decoded.
    private func sameUpdateVAMapping(_ run: PagingMachine, _ one: PagingMachine, _ rng: inout SplitMix64, l1: UInt32, _ what: String) -> Bool {
        let va: UInt32 = rng.pick([0, 0x1000, 0x2000, 0x5000, 0x7000, 0x1FF000, 0x4000_0000, 0xF580_0000])
        let value = request(run, &rng, l1: l1).val
        let flags: UInt32 = rng.pick([0, UVMF.invlpg, UVMF.tlbFlush])
        let got = run.uvm(1, va, value, flags: flags)
        let expected: Result<TLBFlush, MemoryError>
        switch one.frames.l1Slot(for: va, state: one.states[1]!, memory: one.memory) {
        case .failure(let e): expected = .failure(e)
        case .success(let slot):
            if let e = one.frames.modifyEntry(table: slot.frame, level: .l1, index: slot.index, raw: value, preserveAD: false,
                                              &one.states[1]!, &one.memory) {
                expected = .failure(e)
            } else {
                expected = .success(FrameTable.decodeUVMF(flags, va: va))
            }
        }
        XCTAssertEqual(got, expected, "\(what): update_va_mapping 0x\(String(va, radix: 16)) = 0x\(String(value, radix: 16))")
        return got == expected && assertSame(run, one, what)
    }

    /// The fast path's own refusals: a grant entry rewritten with its own frame, refused bits, and a
    /// new RW bit (new references) all leave it for the general path, which decides.
    func testFastPathLeavesWhatItMayNotDecide() {
        let m = machine()
        let l1 = m.f(1, 3)
        let grant = m.memory.entry(l1, 5)
        let slot = UInt64(l1) << 12
        let outcome = m.update(1, [MMUUpdateRequest(ptr: slot | 1 << 3, val: PTE.make(m.f(1, 5), PTE.p)),
                                   MMUUpdateRequest(ptr: slot | 5 << 3, val: grant | PTE.a)])
        XCTAssertEqual(outcome.done, 1)
        XCTAssertEqual(outcome.error, .grantMappingEntry)
        XCTAssertEqual(m.memory.entry(l1, 5), grant)
        XCTAssertEqual(m.update(1, [MMUUpdateRequest(ptr: slot | 1 << 3, val: PTE.make(m.f(1, 5), PTE.p | PTE.g))]).error, .l1CacheOrGlobalBits)
        XCTAssertEqual(m.update(1, [MMUUpdateRequest(ptr: slot | 1 << 3, val: PTE.make(m.f(1, 5), PTE.p | 1 << 55))]).error, .reservedBits)
        let before = m.counts(m.f(1, 5))
        XCTAssertNil(m.update(1, [MMUUpdateRequest(ptr: slot | 1 << 3, val: PTE.make(m.f(1, 5), PTE.p | PTE.rw))]).error)
        XCTAssertEqual(m.counts(m.f(1, 5)).type, before.type + 1, "RW set: a writable type reference taken")
        // PRESERVE_AD keeps the old A/D bits on the fast path.
        XCTAssertNil(m.update(1, [MMUUpdateRequest(ptr: slot | 1 << 3 | 2, val: PTE.make(m.f(1, 5), PTE.p | PTE.rw | PTE.a | PTE.d))]).error)
        XCTAssertNil(m.update(1, [MMUUpdateRequest(ptr: slot | 1 << 3 | 2, val: PTE.make(m.f(1, 5), PTE.p | PTE.rw))]).error)
        XCTAssertEqual(m.memory.entry(l1, 1), PTE.make(m.f(1, 5), PTE.p | PTE.rw | PTE.a | PTE.d))
    }
}
