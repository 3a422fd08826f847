// DescriptorShadows.swift: the hypervisor-owned copies of the running guest's GDT and LDT that the
// CPU really uses. They are filled only from frames the core has typed as descriptor tables (every
// entry checked, no writable mapping), so they must never hold a descriptor the core did not check.

import ApusCore
import PVABI

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
        if d.vcpu.gdtEntries == 0 && loaded == 0 { return }       // neither the old guest nor `d` has one
        for (page, mfn) in d.vcpu.gdtFrames.enumerated() {
            let first = page * 512
            let count = min(512, d.vcpu.gdtEntries - first)
            guard count > 0 else { break }
            guard let window = Mapcache.map(frame: UInt64(mfn), writable: false) else { Panic.halt("mapcache exhausted loading a GDT") }
            let source = pointer(to: UInt64.self, at: window)
            for i in 0..<count { table[first + i] = source[i] }
            Mapcache.unmap(window)
        }
        var i = d.vcpu.gdtEntries
        while i < loaded { table[i] = 0; i += 1 }
        loaded = d.vcpu.gdtEntries
    }
}

/// The running guest's LDT (mmuext SET_LDT): its pages typed as descriptor frames, copied into a
/// hypervisor-owned shadow that an LDT descriptor in the reserved GDT page points at.
enum LocalDescriptorTable {
    static let selector: UInt16 = Selector.hypervisorLDT
    static var shadow: UnsafeMutablePointer<UInt64>! = nil
    static let maxEntries = 8192
    /// Whether the CPU's LDT register holds the null selector (no LDT), so a switch between
    /// LDT-less guests needs no lldt.
    private static var noneLoaded = false

    /// refresh(d) at a context switch, with its common case inline: a domain without an LDT after
    /// one without (the LDT register already null) needs no call at all.
    @inline(__always)
    static func switchTo(_ d: Domain) {
        if d.memory.ldtEntries == 0 && noneLoaded { return }
        refresh(d)
    }

    /// Types the pages of the LDT the core accepted (MMUEXT_SET_LDT) and makes it the domain's;
    /// on refusal the domain keeps the LDT it had, and nothing taken stays taken.
    static func load(_ d: Domain, base: UInt32, entries: UInt32) -> HypercallOutcome? {
        guard let table = GuestRange(base, count: entries &* 8) else { return .refused(.EINVAL, "the LDT reaches into the hypervisor area") }
        var frames: [UInt32] = []
        var offset: UInt32 = 0
        while offset < table.count {
            guard let page = table.slice(at: offset, count: 1),
                  case .success(let slot) = Machine.frames.l1Slot(for: page.start, state: d.memory, memory: Machine.memory),
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
            offset &+= PAE.pageSize
        }
        release(d.vcpu.ldtFrames)
        d.vcpu.ldtFrames = frames
        d.memory.commitLDT(base: base, entries: entries)
        refresh(d)
        if d.vcpu.trapTable[Int(DirectTrapGate.vector)].cs & 4 != 0 { SystemCallGate.refresh(d) }   // its int 0x80 segment moved
        return nil
    }

    static func release(_ frames: [UInt32]) {
        for f in frames { Machine.frames.putDescriptorFrame(f, memory: &Machine.memory) }
    }

    /// Copies the domain's LDT frames into the shadow and loads it (or loads none).
    static func refresh(_ d: Domain) {
        let entries = min(Int(d.memory.ldtEntries), d.vcpu.ldtFrames.count * 512)
        guard entries > 0 else {
            if !noneLoaded { DescriptorTables.loadLDT(0); noneLoaded = true }
            return
        }
        if shadow == nil {
            shadow = UnsafeMutableRawPointer.allocate(byteCount: maxEntries * 8, alignment: 4096).bindMemory(to: UInt64.self, capacity: maxEntries)
        }
        for i in 0..<entries {
            shadow[i] = Machine.memory.load64(UInt64(d.vcpu.ldtFrames[i / 512]) << 12 | UInt64(i % 512) * 8) ?? 0
        }
        let base = UInt32(UInt(bitPattern: shadow))
        let descriptor = SegmentDescriptor(base: base, limit: UInt32(entries * 8 - 1), type: 0x2, isCodeOrData: false,
                                           dpl: 0, present: true, available: false, defaultBig: false, granularity4K: false)
        GuestGDT.table[Int(selector >> 3)] = descriptor.raw
        DescriptorTables.loadLDT(selector)
        noneLoaded = false
    }
}

/// The descriptor the CPU uses for a running guest's segment selector: from the GDT shadow (the guest's
/// entries and the hypervisor's flat ones) or the LDT shadow. nil for a null selector or one past its table.
enum GuestSegments {
    static func descriptor(_ selector: UInt16, _ d: Domain) -> SegmentDescriptor? {
        let index = Int(selector >> 3)
        if selector & 4 == 0 {
            guard index != 0, index < DescriptorTables.gdtEntries, let table = GuestGDT.table else { return nil }
            return SegmentDescriptor(raw: table[index])
        }
        guard index < Int(d.memory.ldtEntries), index < d.vcpu.ldtFrames.count * 512, let shadow = LocalDescriptorTable.shadow else { return nil }
        return SegmentDescriptor(raw: shadow[index])
    }
}
