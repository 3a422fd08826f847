// PrivilegedEmulation.swift: a domU kernel's port I/O and control-register moves, emulated on the
// #GP(0) they raise in ring 1, as Xen's emulate_privileged_op does for a PV guest: a domU has no I/O
// ports (reads give all ones, writes are dropped), CR0 shows the guest's own TS, CR2 its fault
// address, CR3 its base, CR4 what a PV kernel may see; writes change only what the guest owns (TS,
// the base, its own view of CR4). Anything else stays the #GP it was. It never touches a real port for a guest.

import ApusCore
import PVABI

enum PrivilegedEmulation {
    /// CR4 bits a PV kernel is shown (Xen shows the guest a filtered CR4): PSE, PAE, OSFXSR, OSXMMEXCPT.
    static let visibleCR4: UInt32 = 1 << 4 | 1 << 5 | 1 << 9 | 1 << 10

    /// True when the instruction at EIP was emulated and the guest moved past it.
    static func tryEmulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> Bool {
        guard !d.privileged, frame.pointee.ring == 1, frame.pointee.errorCode == 0 else { return false }
        var memory = RunningGuestMemory()
        let bytes = InstructionBytes.fetch(frame.pointee.eip, &memory)
        guard let (instruction, length) = PrivilegedInstruction.decode(bytes) else { return false }
        switch instruction {
        case .portIn(let size, _):
            let value = PrivilegedInstruction.unreadablePortValue(size: size)
            let keep: UInt32 = size == 4 ? 0 : (size == 2 ? 0xFFFF_0000 : 0xFFFF_FF00)
            frame.pointee.eax = frame.pointee.eax & keep | value
        case .portOut:
            break
        case .readControl(let cr, let reg):
            let value: UInt32
            switch cr {
            case 0: value = cpu_read_cr0() & ~ControlRegisters.taskSwitched | (d.vcpu.taskSwitched ? ControlRegisters.taskSwitched : 0)
            case 2: value = d.vcpuInfo.load(fromByteOffset: VcpuInfo.cr2Offset, as: UInt32.self)
            case 3: value = PAE.xenPfnToCR3(mfn: d.l3MFN)
            default: value = d.vcpu.guestCR4 ?? cpu_read_cr4() & visibleCR4
            }
            frame.pointee.setRegister(reg, value)
        case .writeControl(let cr, let reg):
            let value = frame.pointee.register(reg)
            switch cr {
            case 0:
                // Only TS is the guest's (fpu_taskswitch); any other change is refused with the #GP.
                let current = cpu_read_cr0() & ~ControlRegisters.taskSwitched
                guard value & ~ControlRegisters.taskSwitched == current else { return false }
                d.vcpu.taskSwitched = value & ControlRegisters.taskSwitched != 0
                FPU.applyTaskSwitched(d)
            case 3:
                // As NEW_BASEPTR: validated by the paging core, the old base released once the CPU left it.
                let request = MMUExtRequest(cmd: MMUExtCommand.newBaseptr.rawValue, arg1: PAE.xenCR3ToPfn(value))
                switch Machine.frames.mmuextOp(request, state: &d.memory, memory: &Machine.memory) {
                case .success(let effect):
                    guard MemoryHypercalls.apply(effect, d) == nil else { return false }
                case .failure(let error):
                    Log.info("d\(d.id): mov to cr3 \(hex8: value) at \(hex8: frame.pointee.eip) refused (#GP): \(error.reason)")
                    return false
                }
            default:
                // CR4: as Xen, the write is accepted and the guest keeps its view of the register;
                // the real CR4 stays the hypervisor's.
                d.vcpu.guestCR4 = value
            }
        }
        frame.pointee.skipInstruction(length: length)
        return true
    }
}
