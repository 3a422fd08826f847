// DebugRegDecode.swift: set_debugreg (8) and get_debugreg (9) decoded as Xen's set_debugreg and
// x86emul_read_dr check them for a 32-bit PV vCPU: which register, and the value as it will be stored
// (reserved bits of DR6 and DR7 forced). Pure: it must never load a debug register (the actor does).

import PVABI

public enum SetDebugRegRequest: Equatable {
    /// DR0-DR3: a breakpoint's linear address (below the hypervisor's area).
    case address(index: Int, value: UInt32)
    /// DR6 as stored, reserved bits forced.
    case status(UInt32)
    /// DR7 as stored, reserved bits forced; no GD and no I/O breakpoint.
    case control(UInt32)

    /// `cr4DE`: the guest's own CR4 has DE (then 4 and 5 are not aliases, as on the hardware).
    public static func decode(register: UInt32, value: UInt32, cr4DE: Bool) -> Decoded<SetDebugRegRequest> {
        switch register {
        case 0...3:
            // Xen's access_ok on a 32-bit hypervisor: the 4 bytes a breakpoint can watch lie below it.
            guard value <= XenLayout.hypervisorVirtStart - 4 else {
                return .failure(Refusal(.EPERM, "set_debugreg: a breakpoint address in the hypervisor's area"))
            }
            return .success(.address(index: Int(register), value: value))
        case 4 where !cr4DE, 6:
            return .success(.status(adjustedDR6(value)))
        case 5 where !cr4DE, 7:
            let dr7 = (value & ~DebugRegisterBits.dr7Zeros) | DebugRegisterBits.dr7Default
            guard dr7 & DebugRegisterBits.dr7GeneralDetect == 0 else {
                return .failure(Refusal(.EPERM, "set_debugreg: DR7.GD is the hypervisor's"))
            }
            if dr7 & DebugRegisterBits.dr7ActiveMask != 0 {
                for i in 0..<UInt32(4) {
                    let shift = DebugRegisterBits.dr7ControlShift + i * DebugRegisterBits.dr7ControlSize
                    if (dr7 >> shift) & 3 == DebugRegisterBits.dr7IOBreakpoint {
                        // Xen refuses I/O breakpoints without CR4.DE, which PV guests do not have on
                        // Apus's CPUs; with it Xen emulates them, which Apus does not.
                        return .failure(Refusal(.EPERM, "set_debugreg: an I/O breakpoint in DR7"))
                    }
                }
            }
            return .success(.control(dr7))
        default:
            return .failure(Refusal(.ENODEV, "set_debugreg: no such debug register"))
        }
    }

    /// DR6 with its always-1 and always-0 bits forced (Xen's x86_adj_dr6_rsvd on a CPU without RTM or BLD).
    public static func adjustedDR6(_ value: UInt32) -> UInt32 {
        (value | DebugRegisterBits.dr6Default) & ~DebugRegisterBits.dr6Zeros
    }

    /// A #DB's DR6 merged into the stored one: B0-B3 replaced, the other status bits accumulate
    /// (Xen's x86_merge_dr6). `hardware` is DR6 as the CPU left it.
    public static func mergedDR6(stored: UInt32, hardware: UInt32) -> UInt32 {
        let new = hardware ^ DebugRegisterBits.dr6Default          // positive polarity
        let old = stored ^ DebugRegisterBits.dr6Default
        let merged = (old & ~DebugRegisterBits.dr6BreakpointMask) | new
        return adjustedDR6(merged ^ DebugRegisterBits.dr6Default)
    }
}

public enum GetDebugRegRequest: Equatable {
    /// DR0-DR3.
    case address(index: Int)
    case status
    case control

    public static func decode(register: UInt32, cr4DE: Bool) -> Decoded<GetDebugRegRequest> {
        switch register {
        case 0...3: return .success(.address(index: Int(register)))
        case 4 where !cr4DE, 6: return .success(.status)
        case 5 where !cr4DE, 7: return .success(.control)
        default: return .failure(Refusal(.ENODEV, "get_debugreg: no such debug register"))
        }
    }
}
