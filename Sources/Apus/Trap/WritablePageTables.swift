// WritablePageTables.swift: Xen's "writable page tables": a guest store into one of its own
// read-only L1 pages faults; the instruction is fetched through the checked guest-memory path,
// decoded (ApusCore's StoreDecoder), the new entry checked by the core and applied, and the guest
// continues after the instruction (stores, exchanges, and the byte or dword read-modify-writes of
// Linux's bit operations). An invalid write is bounced as #PF. It never writes a PTE itself.

import ApusCore
import PVABI

/// Xen's "writable page tables": a guest store into one of its own read-only L1 pages faults;
/// the instruction is decoded (ApusCore's StoreDecoder), the new entry checked by the core and
/// applied, and the guest continues after the instruction. An invalid write is bounced as #PF.
enum WritablePageTables {
    static var emulated: UInt64 = 0

    /// True when the fault was such a write and has been handled (applied or refused and bounced).
    /// The first test (a ring-1 write to a present page below the hypervisor) is inlined into the
    /// trap path: any other page fault goes on to its bounce without a call or a copy of the frame.
    @inline(__always)
    static func tryEmulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, cr2: UInt32) -> Bool {
        // Only for a domain that turned the assist on (vm_assist writable_pagetables), as Xen's fixup_page_fault.
        guard frame.pointee.ring == 1, frame.pointee.errorCode & 3 == 3, cr2 < XenLayout.hypervisorVirtStart,
              d.vmAssist & VMAssistType.writablePagetables.bit != 0 else { return false }
        return emulate(frame, d, cr2: cr2)
    }

    /// tryEmulate past its first test.
    @inline(never)
    private static func emulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, cr2: UInt32) -> Bool {
        let f = frame.pointee
        guard case .success(let slot) = Machine.frames.l1Slot(for: cr2, base: d.memory.baseL3, ownerRaw: d.memory.ownerRaw, memory: Machine.memory),
              let entry = Machine.memory.load64(UInt64(slot.frame) << 12 | UInt64(slot.index) * 8) else { return false }
        let target = PageTableEntry(raw: entry)
        guard target.isPresent, target.frame <= UInt64(UInt32.max) else { return false }
        let table = UInt32(target.frame)
        guard Machine.frames.owner(of: table) == .domain(d.id), Machine.frames.record(table).type == .l1 else { return false }
        var memory = RunningGuestMemory()
        let bytes = InstructionBytes.fetch(f.eip, &memory)
        let offset = cr2 & 0xFFF
        switch StoreDecoder.decode(bytes, registers: StoreDecoder.Registers(f)) {
        case .unsupported(let reason):
            Log.guestWarning("d\(d.id): write to its L1 at \(hex8: cr2) by an instruction the emulator does not handle (\(reason))")
            return false
        case .store(let width, let value, let length, let kind):
            let entryAddress = UInt64(table) << 12 | UInt64(offset & ~7)
            let current = Machine.memory.load64(entryAddress) ?? 0
            // What the instruction writes: a whole 64-bit entry (cmpxchg8b), or one aligned dword
            // of it, of which a byte store or update changes one byte.
            var writeWidth = 8
            var writeOffset = offset
            var written = value
            var store = true
            var after: (() -> Void)? = nil
            if width == 8 {
                if case .cmpxchg8b(let expected) = kind {
                    store = current == expected
                    setZF(frame, store)
                    if !store { frame.pointee.eax = UInt32(truncatingIfNeeded: current); frame.pointee.edx = UInt32(truncatingIfNeeded: current >> 32) }
                }
            } else {
                writeWidth = 4
                writeOffset = offset & ~3
                let oldDword = UInt32(truncatingIfNeeded: writeOffset & 4 != 0 ? current >> 32 : current)
                let shift = width == 1 ? (offset & 3) * 8 : 0
                let oldPart = width == 1 ? (oldDword >> shift) & 0xFF : oldDword
                var newPart = UInt32(truncatingIfNeeded: value)
                switch kind {
                case .plain, .cmpxchg8b: break
                case .xchg(let register): after = { frame.pointee.setRegister(register, oldPart) }
                case .cmpxchg(let expected):
                    store = oldPart == expected
                    setZF(frame, store)
                    if !store { frame.pointee.eax = oldPart }
                case .update(let operation):
                    let result = operation.apply(to: oldPart, operand: newPart, width: width)
                    newPart = result.value
                    after = { frame.pointee.eflags = frame.pointee.eflags & ~result.affected | result.flags }
                }
                written = UInt64(width == 1 ? oldDword & ~(UInt32(0xFF) << shift) | (newPart & 0xFF) << shift : newPart)
            }
            if store, let refusal = Machine.frames.ptwrWrite(l1Frame: table, offset: writeOffset, width: writeWidth, value: written,
                                                            state: &d.memory, memory: &Machine.memory) {
                Log.guestWarning("d\(d.id): direct write of \(hex16: written) to its L1 at \(hex8: cr2) refused: \(refusal.reason)")
                return false
            }
            after?()
            emulated &+= 1
            frame.pointee.skipInstruction(length: length)
            EmulatedSingleStep.retire(frame, d)
            return true
        }
    }

    private static func setZF(_ frame: UnsafeMutablePointer<TrapFrame>, _ on: Bool) {
        frame.pointee.eflags = on ? frame.pointee.eflags | 0x40 : frame.pointee.eflags & ~UInt32(0x40)
    }
}
