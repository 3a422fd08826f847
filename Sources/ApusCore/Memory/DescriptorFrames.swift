// GDT and LDT frames: the `.segmentDescriptor` type, taken for set_gdt and for loading an LDT, with every descriptor checked.
// It must never type a frame whose descriptors DescriptorCheck refuses, nor write the frame before all 512 passed.
//
// A descriptor frame is checked whole, all 512 entries, whatever part of it the GDT or LDT
// limit covers: a later set_gdt or set_ldt with more entries reuses the typed frame without
// checking again. Grows-up limits that reach the hypervisor are truncated in place, as
// DescriptorCheck directs (the guest cannot write the frame while it has this type).

extension FrameTable {
    /// Takes a general and a `.segmentDescriptor` type reference on `frame` for the domain
    /// (set_gdt, or the hypervisor loading an LDT page). The first reference checks every
    /// entry. Nil on success; nothing changes on refusal.
    public mutating func getDescriptorFrame<M: PhysicalMemory>(_ frame: UInt32, state: DomainMemoryState, memory: inout M) -> MemoryError? {
        var state = state
        return getPageAndType(frame, .segmentDescriptor, &state, &memory, hypervisorL2: false, allowExtras: false)
    }

    /// Drops what `getDescriptorFrame` took (a new set_gdt, an LDT unloaded, teardown).
    public mutating func putDescriptorFrame<M: PhysicalMemory>(_ frame: UInt32, memory: inout M) {
        putPageAndType(frame, memory: &memory)
    }

    /// Checks the 512 descriptors of `frame` and, when all pass, stores any DescriptorCheck
    /// rewrote. Nil on success; the frame is untouched on refusal.
    mutating func validateDescriptorPage<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M) -> MemoryError? {
        var rewrites = false
        for i in 0..<PAE.entriesPerTable {
            guard let raw = memory.load64(FrameTable.entryAddress(frame, i)) else { return .memoryFault }
            switch DescriptorCheck.check(raw) {
            case .accept(let value): if value != raw { rewrites = true }
            case .refuse(let why): return .descriptorRefused(why)
            }
        }
        guard rewrites else { return nil }
        for i in 0..<PAE.entriesPerTable {
            let address = FrameTable.entryAddress(frame, i)
            guard let raw = memory.load64(address) else { return .memoryFault }
            if case .accept(let value) = DescriptorCheck.check(raw), value != raw {
                guard memory.store64(address, value) else { return .memoryFault }
            }
        }
        return nil
    }
}
