// DescriptorHypercalls.swift: set_gdt (2) and update_descriptor (10). Descriptor frames are typed
// by ApusCore's core (`.segmentDescriptor`, every entry checked, no writable mapping allowed), and
// the CPU uses a hypervisor-owned shadow of the guest's GDT pages (entries 0-7167), so the
// reserved page stays the hypervisor's. A descriptor DescriptorCheck refuses is never installed.

import ApusCore
import PVABI

enum DescriptorHypercalls {
    static let maxGuestEntries = Selector.firstReservedGDTEntry

    static func setGDT(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let entries = Int(a.a2)
        guard entries <= maxGuestEntries else { return .refused(.EINVAL, "set_gdt reaches the hypervisor's reserved GDT entries") }
        let frameCount = (entries + 511) / 512
        var frames: [UInt32] = []
        for i in 0..<frameCount {
            guard let mfn = GuestMemory.read32(a.a1 + UInt32(i * 4)) else { return .refused(.EFAULT, "set_gdt frame list is not readable") }
            frames.append(mfn)
        }
        // Type every new frame (checks all its descriptors); give back what was taken on refusal.
        for (i, f) in frames.enumerated() {
            if let refusal = Machine.frames.getDescriptorFrame(f, state: d.memory, memory: &Machine.memory) {
                for taken in frames[..<i] { Machine.frames.putDescriptorFrame(taken, memory: &Machine.memory) }
                return .refused(refusal.error, refusal.reason)
            }
        }
        for old in d.gdtFrames { Machine.frames.putDescriptorFrame(old, memory: &Machine.memory) }
        d.gdtFrames = frames
        d.gdtEntries = entries
        if Domains.current === d { GuestGDT.reload(d) }
        return .ok
    }

    static func updateDescriptor(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let machineAddress = UInt64(a.a1) | UInt64(a.a2) << 32
        let raw = UInt64(a.a3) | UInt64(a.a4) << 32
        guard machineAddress & 7 == 0 else { return .refused(.EINVAL, "descriptor address is not 8-byte aligned") }
        guard machineAddress >> 12 <= UInt64(UInt32.max) else { return .refused(.EINVAL, "descriptor address is beyond machine memory") }
        let mfn = UInt32(machineAddress >> 12)
        guard Machine.frames.owner(of: mfn) == .domain(d.id) else { return .refused(.EINVAL, "descriptor frame is not owned by the domain") }
        let record = Machine.frames.record(mfn)
        switch record.type {
        case .l1, .l2, .l3: return .refused(.EINVAL, "descriptor frame is a page table")
        case .writable where record.typeCount > 0: return .refused(.EINVAL, "descriptor frame is mapped writable")
        default: break
        }
        let fixed: UInt64
        switch DescriptorCheck.check(raw) {
        case .accept(let f): fixed = f
        case .refuse(let why): return .refused(.EINVAL, why.reason)
        }
        guard Machine.memory.store64(machineAddress, fixed) else { return .refused(.EFAULT, "descriptor frame could not be written") }
        if Domains.current === d {
            if let page = d.gdtFrames.firstIndex(of: mfn) {
                let index = page * 512 + Int((machineAddress & 0xFFF) / 8)
                if index < d.gdtEntries { GuestGDT.table[index] = fixed }
            }
            if d.ldtFrames.contains(mfn) { LocalDescriptorTable.refresh(d) }
        }
        return .ok
    }
}

/// The CPU's view of the running guest's GDT: the first 14 pages of the hypervisor GDT.
enum GuestGDT {
    static var table: UnsafeMutablePointer<UInt64>! = nil
    /// How many leading shadow entries may be non-zero (what the last reload filled).
    static var loaded = 0

    /// Re-reads the guest's GDT frames into the shadow (after set_gdt or a switch to `d`), a frame
    /// at a time through one mapcache window. The frames hold only checked descriptors: they are
    /// typed and the guest cannot write them. Entries past the guest's are cleared, and only as
    /// far as the previous guest had any, so a switch between GDT-less guests costs nothing.
    static func reload(_ d: Domain) {
        for (page, mfn) in d.gdtFrames.enumerated() {
            let first = page * 512
            let count = min(512, d.gdtEntries - first)
            guard count > 0 else { break }
            guard let window = Mapcache.map(frame: UInt64(mfn), writable: false) else { Panic.halt("mapcache exhausted loading a GDT") }
            let source = pointer(to: UInt64.self, at: window)
            for i in 0..<count { table[first + i] = source[i] }
            Mapcache.unmap(window)
        }
        var i = d.gdtEntries
        while i < loaded { table[i] = 0; i += 1 }
        loaded = d.gdtEntries
    }
}

/// The running guest's LDT (mmuext SET_LDT): its pages typed as descriptor frames, copied into a
/// hypervisor-owned shadow that an LDT descriptor in the reserved GDT page points at.
enum LocalDescriptorTable {
    static let selector: UInt16 = 0xe048
    static var shadow: UnsafeMutablePointer<UInt64>! = nil
    static let maxEntries = 8192

    static func load(_ d: Domain, base: UInt32, entries: UInt32) -> HypercallOutcome? {
        var frames: [UInt32] = []
        var va = base
        while va < base + entries * 8 {
            guard case .success(let slot) = Machine.frames.l1Slot(for: va, state: d.memory, memory: Machine.memory),
                  let raw = Machine.memory.load64(UInt64(slot.frame) << 12 | UInt64(slot.index) * 8) else {
                release(frames)
                return .refused(.EINVAL, "an LDT page is not mapped")
            }
            let e = PageTableEntry(raw: raw)
            guard e.isPresent, e.frame <= UInt64(UInt32.max) else { release(frames); return .refused(.EINVAL, "an LDT page is not mapped") }
            if let refusal = Machine.frames.getDescriptorFrame(UInt32(e.frame), state: d.memory, memory: &Machine.memory) {
                release(frames)
                return .refused(refusal.error, refusal.reason)
            }
            frames.append(UInt32(e.frame))
            va += 4096
        }
        release(d.ldtFrames)
        d.ldtFrames = frames
        refresh(d)
        return nil
    }

    static func release(_ frames: [UInt32]) {
        for f in frames { Machine.frames.putDescriptorFrame(f, memory: &Machine.memory) }
    }

    /// Copies the domain's LDT frames into the shadow and loads it (or loads none).
    static func refresh(_ d: Domain) {
        let entries = min(Int(d.memory.ldtEntries), d.ldtFrames.count * 512)
        guard entries > 0 else { cpu_load_ldt(0); return }
        if shadow == nil {
            shadow = UnsafeMutableRawPointer.allocate(byteCount: maxEntries * 8, alignment: 4096).bindMemory(to: UInt64.self, capacity: maxEntries)
        }
        for i in 0..<entries {
            shadow[i] = Machine.memory.load64(UInt64(d.ldtFrames[i / 512]) << 12 | UInt64(i % 512) * 8) ?? 0
        }
        let base = UInt32(UInt(bitPattern: shadow))
        let descriptor = SegmentDescriptor(base: base, limit: UInt32(entries * 8 - 1), type: 0x2, isCodeOrData: false,
                                           dpl: 0, present: true, available: false, defaultBig: false, granularity4K: false)
        GuestGDT.table[Int(selector >> 3)] = descriptor.raw
        cpu_load_ldt(selector)
    }
}
