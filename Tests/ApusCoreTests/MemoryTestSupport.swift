// Test fixtures for the direct-paging core: a word-addressed fake memory that remembers which slots were written, and a two-domain machine.
// Test-only: it must never be compiled into the hypervisor, and never bypass the core's API except to set up guest memory as a guest would.

import XCTest
import PVABI
@testable import ApusCore

/// Fixed storage of 64-bit words that can lend a pointer into itself (tableEntries).
final class WordStorage {
    let base: UnsafeMutablePointer<UInt64>
    let count: Int
    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
    }
    deinit { base.deallocate() }
    subscript(i: Int) -> UInt64 {
        get { precondition(i >= 0 && i < count); return base[i] }
        set { precondition(i >= 0 && i < count); base[i] = newValue }
    }
}

/// Physical memory from address 0 as 64-bit words (fast for page-table slots), with a
/// per-frame bitmap of the words ever written so a reference model can scan tables quickly.
/// It lends a frame's entries in place (tableEntries), as the hypervisor's memory does, and
/// counts as written every word of a frame it lent.
struct PagingFakeMemory: PhysicalMemory {
    let words: WordStorage
    var written: [UInt64]
    let frameCount: Int
    /// Full TLB flushes the paging core asked for.
    var flushes = 0

    init(frames: Int) {
        frameCount = frames
        words = WordStorage(count: frames * 512)
        written = [UInt64](repeating: 0, count: frames * 8)
    }

    private func word(_ pa: UInt64) -> Int? {
        let i = pa >> 3
        return i < UInt64(words.count) ? Int(i) : nil
    }

    private mutating func mark(_ i: Int) { written[i >> 6] |= 1 << UInt64(i & 63) }

    mutating func flushTranslations() { flushes += 1 }

    /// Entries lent so far (tests check the fast path was taken).
    var lent = 0
    mutating func tableEntries(_ frame: UInt32) -> UnsafeMutablePointer<UInt64>? {
        guard Int(frame) < frameCount else { return nil }
        for w in 0..<8 { written[Int(frame) * 8 + w] = ~0 }
        lent += 1
        return words.base + Int(frame) * 512
    }

    func load64(_ pa: UInt64) -> UInt64? {
        if pa & 7 == 0 { return word(pa).map { words[$0] } }
        var v: UInt64 = 0
        for k in (0..<UInt64(8)).reversed() {
            guard let b = load8(pa + k) else { return nil }
            v = v << 8 | UInt64(b)
        }
        return v
    }
    func load32(_ pa: UInt64) -> UInt32? {
        guard pa & 3 == 0 else {
            guard let lo = load16(pa), let hi = load16(pa + 2) else { return nil }
            return UInt32(lo) | UInt32(hi) << 16
        }
        return word(pa).map { UInt32(truncatingIfNeeded: words[$0] >> ((pa & 4) * 8)) }
    }
    func load16(_ pa: UInt64) -> UInt16? {
        guard let lo = load8(pa), let hi = load8(pa + 1) else { return nil }
        return UInt16(lo) | UInt16(hi) << 8
    }
    func load8(_ pa: UInt64) -> UInt8? {
        word(pa).map { UInt8(truncatingIfNeeded: words[$0] >> ((pa & 7) * 8)) }
    }
    mutating func store64(_ pa: UInt64, _ v: UInt64) -> Bool {
        guard pa & 7 == 0 else {
            guard word(pa) != nil, word(pa + 7) != nil else { return false }
            for k in 0..<UInt64(8) { _ = store8(pa + k, UInt8(truncatingIfNeeded: v >> (8 * k))) }
            return true
        }
        guard let i = word(pa) else { return false }
        words[i] = v
        mark(i)
        return true
    }
    mutating func store32(_ pa: UInt64, _ v: UInt32) -> Bool {
        guard pa & 3 == 0, let i = word(pa) else { return false }
        let shift = (pa & 4) * 8
        words[i] = words[i] & ~(UInt64(0xFFFF_FFFF) << shift) | UInt64(v) << shift
        mark(i)
        return true
    }
    mutating func store8(_ pa: UInt64, _ v: UInt8) -> Bool {
        guard let i = word(pa) else { return false }
        let shift = (pa & 7) * 8
        words[i] = words[i] & ~(UInt64(0xFF) << shift) | UInt64(v) << shift
        mark(i)
        return true
    }

    /// Entry `index` of frame `frame`.
    func entry(_ frame: UInt32, _ index: Int) -> UInt64 { words[Int(frame) * 512 + index] }
    /// Writes an entry as a guest building a table would (plain memory, no checks).
    mutating func setEntry(_ frame: UInt32, _ index: Int, _ raw: UInt64) {
        precondition(store64(UInt64(frame) << 12 | UInt64(index) << 3, raw))
    }
    /// Indices of frame `frame` ever written, ascending.
    func writtenIndices(_ frame: UInt32) -> [Int] {
        var result: [Int] = []
        for w in 0..<8 {
            var bits = written[Int(frame) * 8 + w]
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                result.append(w * 64 + b)
                bits &= bits - 1
            }
        }
        return result
    }
}

/// An M2P store for tests.
struct DictionaryM2P: MachineToPhysicalStore {
    var entries: [UInt32: UInt32] = [:]
    mutating func setM2P(mfn: UInt32, pfn: UInt32) { entries[mfn] = pfn }
}

/// PTE helpers.
enum PTE {
    static let p: UInt64 = 1 << 0
    static let rw: UInt64 = 1 << 1
    static let us: UInt64 = 1 << 2
    static let a: UInt64 = 1 << 5
    static let d: UInt64 = 1 << 6
    static let ps: UInt64 = 1 << 7
    static let g: UInt64 = 1 << 8
    static let nx: UInt64 = 1 << 63
    static let table: UInt64 = p | rw | us | a | d
    static func make(_ frame: UInt32, _ flags: UInt64) -> UInt64 { UInt64(frame) << 12 | flags }
}

/// A small machine: frames 0-3 not RAM, 4 hypervisor frames (what the hypervisor's L2
/// slots point at), one hypervisor-owned shared_info per domain, two domains (ids 1 and 2)
/// of `perDomain` frames each, the rest free.
final class PagingMachine {
    static let frameCount: UInt32 = 96
    let storage: UnsafeMutablePointer<FrameRecord>
    var frames: FrameTable
    var memory: PagingFakeMemory
    var m2p = DictionaryM2P()
    var hypervisorFrames: [UInt32] = []
    var sharedInfo: [UInt16: UInt32] = [:]
    var owned: [UInt16: [UInt32]] = [:]
    var states: [UInt16: DomainMemoryState] = [:]
    let slots: HypervisorL2Slots

    init(perDomain: Int = 24) {
        storage = .allocate(capacity: Int(PagingMachine.frameCount))
        frames = FrameTable(storage: storage, count: PagingMachine.frameCount)
        memory = PagingFakeMemory(frames: Int(PagingMachine.frameCount))
        frames.addUsable(FrameRange(first: 4, count: PagingMachine.frameCount - 4))
        for _ in 0..<4 { hypervisorFrames.append(frames.allocate(for: .hypervisor)!) }
        var entries: [UInt64] = []
        for i in 0..<HypervisorL2Slots.count {
            entries.append(PTE.make(hypervisorFrames[i % 4], PTE.p | PTE.rw | PTE.a | PTE.d))
        }
        slots = HypervisorL2Slots(entries)!
        frames.hypervisorSlots = slots
        for id: UInt16 in [1, 2] {
            let si = frames.allocate(for: .hypervisor)!
            sharedInfo[id] = si
            var extras = MappableExtras()
            extras.add(si)
            var list: [UInt32] = []
            for _ in 0..<perDomain { list.append(frames.allocate(for: .domain(id), memory: &memory)!) }
            owned[id] = list
            states[id] = DomainMemoryState(id: id, extras: extras)
        }
    }

    deinit { storage.deallocate() }

    /// The n-th frame of domain `id`.
    func f(_ id: UInt16, _ n: Int) -> UInt32 { owned[id]![n] }

    var freeFrame: UInt32 {
        (0..<PagingMachine.frameCount).first { frames.owner(of: $0) == .free }!
    }

    func record(_ frame: UInt32) -> FrameRecord { frames.record(frame) }
    func counts(_ frame: UInt32) -> (ref: UInt32, type: UInt32) {
        (frames.record(frame).refCount, frames.record(frame).typeCount)
    }
    func snapshot() -> [FrameRecord] { Array(UnsafeBufferPointer(start: storage, count: Int(PagingMachine.frameCount))) }

    // Operations, as the hypervisor would call them.

    func getType(_ frame: UInt32, _ type: PageType, _ id: UInt16 = 1) -> MemoryError? {
        frames.getPageType(frame, type, state: states[id]!, memory: &memory)
    }
    func putType(_ frame: UInt32) { frames.putPageType(frame, memory: &memory) }

    /// One mmuext_op; after a base change the CPU is on the new base, so the old one goes (as
    /// MemoryHypercalls.apply does once it has reloaded CR3).
    func ext(_ id: UInt16, _ cmd: MMUExtCommand, _ arg1: UInt32 = 0, _ arg2: UInt32 = 0) -> Result<MMUExtEffect, MemoryError> {
        let result = rawExt(id, cmd, arg1, arg2)
        if case .success(.baseChanged) = result { frames.releaseRetiringBase(state: &states[id]!, memory: &memory) }
        return result
    }
    /// One mmuext_op exactly as the core answers it, with nothing done after.
    func rawExt(_ id: UInt16, _ cmd: MMUExtCommand, _ arg1: UInt32 = 0, _ arg2: UInt32 = 0) -> Result<MMUExtEffect, MemoryError> {
        frames.mmuextOp(MMUExtRequest(cmd: cmd.rawValue, arg1: arg1, arg2: arg2), state: &states[id]!, memory: &memory)
    }
    func extError(_ id: UInt16, _ cmd: MMUExtCommand, _ arg1: UInt32 = 0, _ arg2: UInt32 = 0) -> MemoryError? {
        if case .failure(let e) = ext(id, cmd, arg1, arg2) { return e }
        return nil
    }
    func pin(_ id: UInt16, _ level: Int, _ frame: UInt32) -> MemoryError? {
        extError(id, level == 1 ? .pinL1Table : (level == 2 ? .pinL2Table : .pinL3Table), frame)
    }
    func unpin(_ id: UInt16, _ frame: UInt32) -> MemoryError? { extError(id, .unpinTable, frame) }
    func newBase(_ id: UInt16, _ frame: UInt32) -> MemoryError? { extError(id, .newBaseptr, frame) }

    func update(_ id: UInt16, _ requests: [MMUUpdateRequest]) -> MMUUpdateOutcome {
        frames.mmuUpdate(requests, state: &states[id]!, memory: &memory, m2p: &m2p)
    }
    /// One NORMAL_PT_UPDATE of entry `index` of `frame`.
    func set(_ id: UInt16, _ frame: UInt32, _ index: Int, _ raw: UInt64) -> MemoryError? {
        update(id, [MMUUpdateRequest(ptr: UInt64(frame) << 12 | UInt64(index) << 3, val: raw)]).error
    }
    func uvm(_ id: UInt16, _ va: UInt32, _ raw: UInt64, flags: UInt32 = 0) -> Result<TLBFlush, MemoryError> {
        frames.updateVAMapping(va: va, value: raw, flags: flags, state: &states[id]!, memory: &memory)
    }
    func ptwr(_ id: UInt16, _ l1: UInt32, _ offset: UInt32, _ width: Int, _ value: UInt64) -> MemoryError? {
        frames.ptwrWrite(l1Frame: l1, offset: offset, width: width, value: value, state: &states[id]!, memory: &memory)
    }
    func getDescriptor(_ id: UInt16, _ frame: UInt32) -> MemoryError? {
        frames.getDescriptorFrame(frame, state: states[id]!, memory: &memory)
    }
    func putDescriptor(_ frame: UInt32) { frames.putDescriptorFrame(frame, memory: &memory) }
    @discardableResult
    /// The hypervisor's teardown, over the domain's own frames (the whole-table walk is compared
    /// with it in TeardownExtentsTests).
    func teardown(_ id: UInt16) -> Int { frames.teardown(state: &states[id]!, frames: owned[id]!, memory: &memory) }

    /// Builds, in domain `id`'s frames 0-5 with plain writes, a minimal address space:
    /// L3 = f0 (slot 0 -> L2 f1, slot 3 -> L2 f2), f1[0] -> L1 f3, f3 maps f4 RW and f5 RO
    /// at 0x0 and 0x1000. Returns (l3, l2low, l2high, l1).
    @discardableResult
    func buildSpace(_ id: UInt16) -> (l3: UInt32, l2: UInt32, l2h: UInt32, l1: UInt32) {
        let (l3, l2, l2h, l1) = (f(id, 0), f(id, 1), f(id, 2), f(id, 3))
        memory.setEntry(l3, 0, PTE.make(l2, PTE.table))
        memory.setEntry(l3, 3, PTE.make(l2h, PTE.table))
        memory.setEntry(l2, 0, PTE.make(l1, PTE.table))
        memory.setEntry(l1, 0, PTE.make(f(id, 4), PTE.p | PTE.rw | PTE.a))
        memory.setEntry(l1, 1, PTE.make(f(id, 5), PTE.p | PTE.a))
        return (l3, l2, l2h, l1)
    }

    /// Every frame of domain `id` at refCount 0 / typeCount 0 with no flags.
    func assertDomainClean(_ id: UInt16, file: StaticString = #filePath, line: UInt = #line) {
        for frame in owned[id]! {
            let r = record(frame)
            XCTAssertEqual(r.refCount, 0, "refCount of frame \(frame)", file: file, line: line)
            XCTAssertEqual(r.typeCount, 0, "typeCount of frame \(frame)", file: file, line: line)
            XCTAssertEqual(r.type, .none, "type of frame \(frame)", file: file, line: line)
            XCTAssertEqual(r.flags, [], "flags of frame \(frame)", file: file, line: line)
        }
    }
}
