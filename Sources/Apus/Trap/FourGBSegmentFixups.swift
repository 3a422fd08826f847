// FourGBSegmentFixups.swift: the 4gb_segments vm_assist at work, as 32-bit Xen's gpf_emulate_4gb: a
// #GP (error code 0) from a guest that turned the assist on, whose instruction reaches a guest-owned
// GDT or LDT data segment past its truncated limit (a negative offset such as glibc's `%gs:-4`), gets
// that descriptor flipped by FourGBSegments' rule, in the guest's typed descriptor frame and in the
// running vCPU's shadow, and the instruction runs again. With 4gb_segments_notify the guest's vector-15
// handler is told, its error code the instruction's length, as Xen does. The instruction is fetched
// through the checked guest-memory path; it must never write a descriptor the core did not produce,
// nor touch the hypervisor's own GDT entries.

import ApusCore
import PVABI

enum FourGBSegmentFixups {
    /// Vector 15, otherwise unused: where 4gb_segments_notify reports a fixup.
    static let notifyVector: UInt8 = 15
    /// Fixups logged per domain (the rest are counted).
    static let maxLogged: UInt32 = 8

    /// True when the fault was a segment the assist flipped: the guest retries the instruction.
    static func tryFixup(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> Bool {
        guard d.vmAssist & VMAssistType.fourGBSegments.bit != 0, frame.pointee.errorCode == 0 else { return false }
        let ring = frame.pointee.ring
        guard ring == 1 || ring == 3 else { return false }
        var memory = RunningGuestMemory()
        let bytes = InstructionBytes.fetch(frame.pointee.eip, &memory)
        let f = frame.pointee
        guard let operand = SegmentedOperand.decode(bytes, register: { f.register($0) }), operand.segment != .cs else { return false }
        let selector = PrivilegedEmulation.selector(operand.segment, f)
        let index = Int(selector >> 3)
        guard index != 0 || selector & 4 != 0 else { return false }
        // The descriptor's place in the guest's own typed frame.
        let frames = selector & 4 == 0 ? d.vcpu.gdtFrames : d.vcpu.ldtFrames
        let entries = selector & 4 == 0 ? d.vcpu.gdtEntries : Int(d.memory.ldtEntries)
        guard index < entries, index < Selector.firstReservedGDTEntry, index / 512 < frames.count else { return false }
        let address = UInt64(frames[index / 512]) << 12 | UInt64(index % 512) * 8
        guard let raw = Machine.memory.load64(address), let flipped = FourGBSegments.flip(raw, offset: operand.offset),
              Machine.memory.store64(address, flipped) else { return false }
        if selector & 4 == 0 { GuestGDT.table[index] = flipped } else { LocalDescriptorTable.refresh(d) }
        d.fourGBFixups &+= 1
        if d.fourGBFixups <= maxLogged {
            let growsDown = SegmentDescriptor(raw: flipped).type & 0x4 != 0
            Log.info("d\(d.id): 4gb_segments: \(selector & 4 == 0 ? StaticString("GDT") : StaticString("LDT")) entry \(UInt32(index)) (selector \(hex: UInt32(selector))) flipped to \(growsDown ? StaticString("grows-down") : StaticString("grows-up")) for offset \(hex8: operand.offset) at eip \(hex8: f.eip)")
        }
        // 4gb_segments_notify: the guest's vector-15 handler, told the instruction's length.
        if d.vmAssist & VMAssistType.fourGBSegmentsNotify.bit != 0 && d.vcpu.trapTable[Int(notifyVector)].hasHandler {
            frame.pointee.errorCode = UInt32(operand.length)
            GuestFaults.deliver(frame, d, vector: notifyVector, hasErrorCode: true, eipAdvance: 0)
        }
        return true
    }
}
