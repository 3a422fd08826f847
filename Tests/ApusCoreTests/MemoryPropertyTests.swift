// The property test of the direct-paging core: seeded random hypercall sequences from two domains, checked after every step against a reference model.
// The model must never ask the core what is validated: it recomputes everything from memory, the pins, the base pointers and the held descriptor frames.
//
// Reproduce a failure with `replay(seed:)`: the message names the seed and the step.

import XCTest
import PVABI
@testable import ApusCore

/// What the test itself knows the domains hold: pins and descriptor frames (bases are in the states).
private struct Roots {
    var pins: [UInt16: [UInt32: PageType]] = [1: [:], 2: [:]]
    var descriptors: [UInt16: [UInt32]] = [1: [], 2: []]
}

private struct Pending {
    var frame: UInt32
    var domain: UInt16
}

/// How often an operation succeeded and was refused.
private struct Tally {
    var ok = 0
    var refused = 0
}

/// Recomputes, from scratch, every reference the roots imply and checks the frame table
/// against it. Nil when everything agrees, else a description of the first disagreement.
private func checkModel(_ m: PagingMachine, _ roots: Roots) -> String? {
    let n = Int(PagingMachine.frameCount)
    var ref = [UInt32](repeating: 0, count: n)
    var typ = [UInt32](repeating: 0, count: n)
    var kind = [PageType](repeating: .none, count: n)
    var slot3 = [Bool](repeating: false, count: n)
    var pending: [Pending] = []

    func claim(_ frame: UInt32, _ k: PageType, hypervisorL2: Bool, _ domain: UInt16, why: @autoclosure () -> String) -> String? {
        guard Int(frame) < n else { return "\(why()): frame \(frame) beyond memory" }
        if typ[Int(frame)] == 0 {
            kind[Int(frame)] = k
            slot3[Int(frame)] = hypervisorL2
            if k.isPageTable { pending.append(Pending(frame: frame, domain: domain)) }
        } else if kind[Int(frame)] != k || slot3[Int(frame)] != hypervisorL2 {
            return "\(why()): frame \(frame) used as \(kind[Int(frame)]) (slot3 \(slot3[Int(frame)])) and as \(k) (slot3 \(hypervisorL2))"
        } else if hypervisorL2 {
            return "\(why()): slot-3 L2 \(frame) referenced twice"
        }
        typ[Int(frame)] += 1
        ref[Int(frame)] += 1
        return nil
    }

    for id: UInt16 in [1, 2] {
        let state = m.states[id]!
        for vcpu in 0..<DomainMemoryState.vcpuCapacity {
            if let base = state.base(ofVCPU: vcpu), let e = claim(base, .l3, hypervisorL2: false, id, why: "d\(id) vCPU \(vcpu) base") { return e }
        }
        for (frame, level) in roots.pins[id]! {
            if let e = claim(frame, level, hypervisorL2: false, id, why: "d\(id) pin") { return e }
        }
        for frame in roots.descriptors[id]! {
            if let e = claim(frame, .segmentDescriptor, hypervisorL2: false, id, why: "d\(id) descriptor") { return e }
        }
    }

    var next = 0
    while next < pending.count {
        let table = pending[next].frame
        let id = pending[next].domain
        next += 1
        guard m.frames.owner(of: table) == .domain(id) else { return "table \(table) of d\(id) not owned by it" }
        let extras = m.states[id]!.extras
        func owned(_ frame: UInt64) -> Bool { frame < UInt64(n) && m.frames.owner(of: UInt32(frame)) == .domain(id) }
        switch kind[Int(table)] {
        case .l3:
            for i in 0..<4 {
                let e = PageTableEntry(raw: m.memory.entry(table, i))
                if i == 3 && !e.isPresent { return "(c) L3 \(table) has no slot 3" }
                guard e.isPresent else { continue }
                guard owned(e.frame) else { return "(a) L3 \(table)[\(i)] -> \(e.frame) not d\(id)'s" }
                if e.raw & (PTE.ps | PTE.g | PTE.nx | 0x7FF0_0000_0000_0000) != 0 { return "L3 \(table)[\(i)] bad bits" }
                if let err = claim(UInt32(e.frame), .l2, hypervisorL2: i == 3, id, why: "L3 \(table)[\(i)]") { return err }
            }
        case .l2:
            let isSlot3 = slot3[Int(table)]
            for i in m.memory.writtenIndices(table) where !isSlot3 || i < 428 {
                let e = PageTableEntry(raw: m.memory.entry(table, i))
                guard e.isPresent else { continue }
                guard owned(e.frame) else { return "(a) L2 \(table)[\(i)] -> \(e.frame) not d\(id)'s" }
                if e.raw & (PTE.ps | PTE.g | 0x7FF0_0000_0000_0000) != 0 { return "L2 \(table)[\(i)] bad bits" }
                if let err = claim(UInt32(e.frame), .l1, hypervisorL2: false, id, why: "L2 \(table)[\(i)]") { return err }
            }
            if isSlot3 {
                for k in 0..<HypervisorL2Slots.count where m.memory.entry(table, 428 + k) != m.slots.entries[k] {
                    return "(c) slot-3 L2 \(table)[\(428 + k)] is not the hypervisor's entry"
                }
            }
        case .l1:
            for i in m.memory.writtenIndices(table) {
                let e = PageTableEntry(raw: m.memory.entry(table, i))
                guard e.isPresent else { continue }
                let extra = e.frame < UInt64(n) && extras.contains(UInt32(e.frame))
                guard owned(e.frame) || extra else { return "(a)/(c) L1 \(table)[\(i)] -> \(e.frame) not d\(id)'s" }
                if e.raw & (PTE.ps | PTE.g | 0x7FF0_0000_0000_0000) != 0 { return "L1 \(table)[\(i)] bad bits" }
                let target = UInt32(e.frame)
                if e.raw & PTE.rw != 0 {
                    if let err = claim(target, .writable, hypervisorL2: false, id, why: "(b) L1 \(table)[\(i)] RW") { return err }
                } else {
                    ref[Int(target)] += 1
                }
            }
        default:
            return "frame \(table) queued as \(kind[Int(table)])"
        }
    }

    var pinnedModel = [Bool](repeating: false, count: n)
    for pins in roots.pins.values { for frame in pins.keys { pinnedModel[Int(frame)] = true } }
    let validated = FrameFlags.validated.rawValue
    let hypervisorSlots = FrameFlags.hypervisorSlots.rawValue
    let pinnedBit = FrameFlags.pinned.rawValue
    for f in 0..<n {
        let r = m.frames.record(UInt32(f))
        if r.refCount != ref[f] || r.typeCount != typ[f] {
            return "(d) frame \(f) \(r.owner): counts ref \(r.refCount) type \(r.typeCount), model ref \(ref[f]) type \(typ[f])"
        }
        if typ[f] > 0 {
            if r.typeRaw != kind[f].rawValue { return "(d) frame \(f) type \(r.type), model \(kind[f])" }
            if r.flagsRaw & validated == 0 { return "(d) frame \(f) in use but not validated" }
            if (r.flagsRaw & hypervisorSlots != 0) != slot3[f] { return "(d) frame \(f) slot-3 flag wrong" }
        } else if r.typeRaw != 0 || r.flagsRaw & (validated | hypervisorSlots) != 0 {
            return "(d) frame \(f) unused but typed \(r.type) flags \(r.flagsRaw)"
        }
        if (r.flagsRaw & pinnedBit != 0) != pinnedModel[f] { return "(d) frame \(f) pinned flag \(r.flagsRaw), model \(pinnedModel[f])" }
    }
    for id: UInt16 in [1, 2] where m.states[id]!.pinnedCount != roots.pins[id]!.count {
        return "d\(id) pinnedCount \(m.states[id]!.pinnedCount), model \(roots.pins[id]!.count)"
    }
    return nil
}

/// One random sequence.
private struct PagingSequence {
    let seed: UInt64
    var rng: SplitMix64
    let m = PagingMachine()
    var roots = Roots()
    var stats: [String: Tally] = [:]
    /// Whether steps describe themselves (string building is most of a debug build's time).
    var describe = false
    var op = ""

    /// Records the current step's description when describing.
    mutating func note(_ text: @autoclosure () -> String) { if describe { op = text() } }

    init(seed: UInt64) {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        // Most sequences start as guests do: a built address space, pinned and current.
        for id: UInt16 in [1, 2] where rng.chance(80) {
            let s = m.buildSpace(id)
            if rng.chance(50), m.pin(id, 3, s.l3) == nil { roots.pins[id]![s.l3] = .l3 }
            _ = m.newBase(id, s.l3)
        }
    }

    static let indexPalette = [0, 1, 2, 3, 7, 300, 427, 428, 511]

    mutating func ownFrame(_ id: UInt16) -> UInt32 { rng.pick(m.owned[id]!) }

    /// Often a domain's own frame, sometimes anything it must not reach.
    mutating func target(_ id: UInt16) -> UInt32 {
        let other: UInt16 = id == 1 ? 2 : 1
        switch rng.below(100) {
        case 0..<72: return ownFrame(id)
        case 72..<80: return ownFrame(other)
        case 80..<86: return rng.pick(m.hypervisorFrames)
        case 86..<92: return rng.chance(70) ? m.sharedInfo[id]! : m.sharedInfo[other]!
        case 92..<96: return m.freeFrame
        case 96..<98: return 1
        default: return 200
        }
    }

    mutating func entry(_ id: UInt16) -> UInt64 {
        if rng.chance(12) { return 0 }
        let frame = target(id)
        if rng.chance(45) {
            // Well-formed: a table link or a data mapping.
            return PTE.make(frame, rng.chance(50) ? PTE.table : (PTE.p | PTE.a | (rng.chance(40) ? PTE.rw : 0)))
        }
        var flags: UInt64 = rng.chance(90) ? PTE.p : 0
        if rng.chance(50) { flags |= PTE.rw }
        if rng.chance(50) { flags |= PTE.us }
        if rng.chance(50) { flags |= PTE.a | PTE.d }
        if rng.chance(8) { flags |= PTE.ps }
        if rng.chance(4) { flags |= PTE.g }
        if rng.chance(5) { flags |= PTE.nx }
        if rng.chance(5) { flags |= 1 << UInt64(52 + rng.below(11)) }
        return PTE.make(frame, flags)
    }

    /// Often an address whose L1 exists in the domain's current tables (read from memory).
    mutating func mappedAddress(_ id: UInt16) -> UInt32? {
        guard let base = m.states[id]!.baseL3 else { return nil }
        let slots = (0..<4).filter { PageTableEntry(raw: m.memory.entry(base, $0)).isPresent }
        guard !slots.isEmpty else { return nil }
        let l3i = rng.pick(slots)
        let l3e = PageTableEntry(raw: m.memory.entry(base, l3i))
        guard l3e.frame < UInt64(PagingMachine.frameCount) else { return nil }
        let present = m.memory.writtenIndices(UInt32(l3e.frame)).filter {
            $0 < 428 && PageTableEntry(raw: m.memory.entry(UInt32(l3e.frame), $0)).isPresent
        }
        guard !present.isEmpty else { return nil }
        return UInt32(l3i) << 30 | UInt32(rng.pick(present)) << 21 | UInt32(rng.pick(PagingSequence.indexPalette)) << 12
    }

    /// Frames of domain `id` currently typed as `type`.
    func typed(_ id: UInt16, _ type: PageType) -> [UInt32] {
        m.owned[id]!.filter { m.record($0).type == type && m.record($0).typeCount > 0 }
    }

    mutating func count(_ name: String, _ ok: Bool) {
        var s = stats[name] ?? Tally()
        if ok { s.ok += 1 } else { s.refused += 1 }
        stats[name] = s
    }

    /// Performs one random operation; returns its description, or a failure.
    mutating func step() -> (op: String, failure: String?) {
        let id: UInt16 = rng.chance(50) ? 1 : 2
        let before = m.snapshot()
        op = ""
        var refused = false
        var mustBeUnchanged: (frame: UInt32, index: Int, raw: UInt64)? = nil
        switch rng.below(100) {
        case 0..<30:
            let tables = typed(id, .l1) + typed(id, .l2) + typed(id, .l3)
            let frame = !tables.isEmpty && rng.chance(55) ? rng.pick(tables) : (rng.chance(92) ? ownFrame(id) : target(id))
            let level = m.record(frame).type
            let index = level == .l3 && rng.chance(80) ? rng.below(4) : rng.pick(PagingSequence.indexPalette)
            let value = entry(id)
            let preserve = rng.chance(10)
            note("d\(id) mmu_update \(frame)(\(level))[\(index)] = \(String(value, radix: 16))\(preserve ? " preserveAD" : "")")
            let old = Int(frame) < m.memory.frameCount ? m.memory.entry(frame, index) : 0
            let ptr = UInt64(frame) << 12 | UInt64(index) << 3 | (preserve ? 2 : 0)
            refused = m.update(id, [MMUUpdateRequest(ptr: ptr, val: value)]).error != nil
            if refused && Int(frame) < m.memory.frameCount { mustBeUnchanged = (frame, index, old) }
            count("mmu_update", !refused)
        case 30..<34:
            let frame = target(id)
            note("d\(id) machphys \(frame)")
            refused = m.update(id, [MMUUpdateRequest(ptr: UInt64(frame) << 12 | 1, val: 5)]).error != nil
            count("machphys", !refused)
        case 34..<46:
            let level = 1 + rng.below(3)
            let frame = rng.chance(93) ? ownFrame(id) : target(id)
            note("d\(id) pin L\(level) \(frame)")
            refused = m.pin(id, level, frame) != nil
            if !refused { roots.pins[id]![frame] = level == 1 ? .l1 : (level == 2 ? .l2 : .l3) }
            count("pin", !refused)
        case 46..<53:
            let pinned = Array(roots.pins[id]!.keys).sorted()
            let frame = !pinned.isEmpty && rng.chance(85) ? rng.pick(pinned) : ownFrame(id)
            note("d\(id) unpin \(frame)")
            refused = m.unpin(id, frame) != nil
            if !refused { roots.pins[id]![frame] = nil }
            count("unpin", !refused)
        case 53..<61:
            let l3s = typed(id, .l3)
            let shaped = m.owned[id]!.filter { PageTableEntry(raw: m.memory.entry($0, 3)).isPresent }
            let frame = !l3s.isEmpty && rng.chance(30) ? rng.pick(l3s)
                : (!shaped.isEmpty && rng.chance(50) ? rng.pick(shaped) : (rng.chance(95) ? ownFrame(id) : target(id)))
            note("d\(id) new_baseptr \(frame)")
            refused = m.newBase(id, frame) != nil
            count("new_baseptr", !refused)
        case 61..<73:
            var va: UInt32
            if let mapped = mappedAddress(id), rng.chance(70) {
                va = mapped
            } else if rng.chance(5) {
                va = 0xF580_0000 + UInt32(rng.below(0x0A80_0000)) & ~0xFFF
            } else {
                let l2i = UInt32(rng.pick(PagingSequence.indexPalette.filter { $0 < 428 }))
                va = UInt32(rng.below(4)) << 30 | l2i << 21 | UInt32(rng.pick(PagingSequence.indexPalette)) << 12
            }
            let value = entry(id)
            note("d\(id) update_va_mapping \(String(va, radix: 16)) = \(String(value, radix: 16))")
            if case .failure = m.uvm(id, va, value, flags: UInt32(rng.below(8))) { refused = true }
            count("update_va_mapping", !refused)
        case 73..<85:
            let l1s = typed(id, .l1)
            let frame = !l1s.isEmpty && rng.chance(85) ? rng.pick(l1s) : ownFrame(id)
            let width = rng.chance(50) ? 8 : 4
            let half = width == 4 && rng.chance(50) ? 4 : 0
            let offset = UInt32(rng.pick(PagingSequence.indexPalette) * 8 + half + (rng.chance(3) ? 2 : 0))
            let value = entry(id)
            let written = half == 4 ? value >> 32 : value
            note("d\(id) ptwr \(frame)+\(offset) width \(width) = \(String(written, radix: 16))")
            let index = Int(offset >> 3)
            let old = m.memory.entry(frame, index)
            refused = m.ptwr(id, frame, offset, width, written) != nil
            if refused { mustBeUnchanged = (frame, index, old) }
            count("ptwr", !refused)
        case 85..<92:
            let frame = rng.chance(95) ? ownFrame(id) : target(id)
            note("d\(id) get descriptor frame \(frame)")
            refused = m.getDescriptor(id, frame) != nil
            if !refused { roots.descriptors[id]!.append(frame) }
            count("descriptor get", !refused)
        case 92..<99:
            guard !roots.descriptors[id]!.isEmpty else { return ("nothing", nil) }
            let i = rng.below(roots.descriptors[id]!.count)
            let frame = roots.descriptors[id]!.remove(at: i)
            note("d\(id) put descriptor frame \(frame)")
            m.putDescriptor(frame)
        default:
            note("d\(id) teardown")
            let left = m.teardown(id)
            roots.pins[id] = [:]
            roots.descriptors[id] = []
            if left != 0 { return (op, "teardown left \(left) frames referenced") }
            for frame in m.owned[id]! {
                let r = m.record(frame)
                if r.refCount != 0 || r.typeCount != 0 || r.flags != [] { return (op, "teardown left frame \(frame) in use") }
            }
        }
        if refused {
            if m.snapshot() != before { return (op, "a refused operation changed the frame table") }
            if let (frame, index, raw) = mustBeUnchanged, m.memory.entry(frame, index) != raw {
                return (op, "a refused operation changed the entry")
            }
        }
        return (op, checkModel(m, roots))
    }

    /// Tears both domains down; every frame must end unreferenced.
    mutating func finish() -> String? {
        for id: UInt16 in [1, 2] {
            if m.teardown(id) != 0 { return "final teardown of d\(id) left frames referenced" }
            roots.pins[id] = [:]
            roots.descriptors[id] = []
        }
        for f in 0..<PagingMachine.frameCount {
            let r = m.record(f)
            if r.refCount != 0 || r.typeCount != 0 || r.type != .none || r.flags != [] {
                return "frame \(f) still referenced after both teardowns"
            }
        }
        return checkModel(m, roots)
    }
}

final class MemoryPropertyTests: XCTestCase {
    static let sequences = 2000
    static let steps = 50
    static let firstSeed: UInt64 = 0x00A9_0500_0000_0000

    /// Runs one sequence; nil or "seed ... step ...: failure (operation)".
    private func run(seed: UInt64, steps: Int, stats: inout [String: Tally]) -> String? {
        var sequence = PagingSequence(seed: seed)
        defer {
            for (k, v) in sequence.stats {
                let s = stats[k] ?? Tally()
                stats[k] = Tally(ok: s.ok + v.ok, refused: s.refused + v.refused)
            }
        }
        for n in 0..<steps {
            let (_, failure) = sequence.step()
            if let failure {
                // Run it again, deterministically, to name the operation.
                var again = PagingSequence(seed: seed)
                again.describe = true
                for _ in 0..<n { _ = again.step() }
                let (op, _) = again.step()
                return "seed 0x\(String(seed, radix: 16)) step \(n): \(failure) after \(op)"
            }
        }
        if let failure = sequence.finish() { return "seed \(String(seed, radix: 16)) final teardown: \(failure)" }
        return nil
    }

    func testRandomSequencesKeepEveryInvariant() {
        var stats: [String: Tally] = [:]
        var failures = 0
        for k in 0..<MemoryPropertyTests.sequences {
            let seed = MemoryPropertyTests.firstSeed &+ UInt64(k)
            if let failure = run(seed: seed, steps: MemoryPropertyTests.steps, stats: &stats) {
                XCTFail(failure)
                failures += 1
                if failures >= 5 { break }
            }
        }
        // The sequences must exercise both outcomes of every operation, or they prove little.
        for (name, s) in stats.sorted(by: { $0.key < $1.key }) {
            XCTAssertGreaterThan(s.ok, 0, "\(name) never succeeded")
            XCTAssertGreaterThan(s.refused, 0, "\(name) never refused")
        }
        let summary = stats.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.ok)/\($0.value.refused)" }.joined(separator: ", ")
        print("paging property test: \(MemoryPropertyTests.sequences) sequences x \(MemoryPropertyTests.steps) steps; ok/refused: \(summary)")
    }

    /// Replays one seed step by step with every operation printed (for debugging a failure).
    func replay(seed: UInt64, steps: Int = MemoryPropertyTests.steps) {
        var sequence = PagingSequence(seed: seed)
        sequence.describe = true
        for n in 0..<steps {
            let (op, failure) = sequence.step()
            print("step \(n): \(op)")
            if let failure { XCTFail("step \(n): \(failure)"); return }
        }
    }
}
