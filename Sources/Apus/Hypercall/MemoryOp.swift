// MemoryOp.swift: memory_op (12) acted on: the current and maximum reservation, the highest machine
// frame, the guest's pseudo-physical memory map and where the read-only M2P lies (machphys_mapping). Ballooning answers -ENOSYS (the decoder says so).
// ApusCore's MemoryOpRequest decodes; this file only acts, on the ranges it was given.

import ApusCore
import PVABI

enum MemoryOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch MemoryOpRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.maximumRAMPage):
            return .value(Int32(bitPattern: MachineToPhysicalTable.entries))
        case .success(.currentReservation(let domid)), .success(.maximumReservation(let domid)):
            guard domid == SpecialDomainID.selfID || domid == d.id else { return .refused(.EPERM, "only your own reservation may be read here") }
            return .value(Int32(d.frames.count))
        case .success(.memoryMap(let firstEntry, let entryCount)):
            // One RAM entry covering the domain's pages (what xl's memmap limit gives a PV domU).
            guard let firstEntry else {
                return memory.write32(0, to: entryCount) ? .ok : .refused(.EFAULT, "xen_memory_map is not writable guest memory")
            }
            var entry = GuestBytes<20>(count: E820EntryLayout.size)
            entry.set64(E820EntryLayout.addrOffset, 0)
            entry.set64(E820EntryLayout.sizeOffset, UInt64(d.frames.count) << 12)
            entry.set32(E820EntryLayout.typeOffset, XenMemoryMapLayout.e820RAM)
            guard memory.write(entry, to: firstEntry), memory.write32(1, to: entryCount) else {
                return .refused(.EFAULT, "the memory map buffer is not writable guest memory")
            }
            return .ok
        case .success(.machphysMapping(let out)):
            return memory.write(MachphysMapping.bytes, to: out) ? .ok : .refused(.EFAULT, "xen_machphys_mapping is not writable guest memory")
        }
    }
}
