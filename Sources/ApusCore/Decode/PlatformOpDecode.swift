// PlatformOpDecode.swift: platform_op (7) decoded as far as Xen goes before it asks whether the caller
// may use it: the xen_platform_op is read whole (-EFAULT), its interface version checked (-EACCES),
// then a domain without privilege gets -EPERM. Reads only through GuestMemoryAccess; must never act.

import PVABI

public enum PlatformOpRequest: Equatable {
    /// A privileged domain's platform command (firmware, microcode, CPU power, the wallclock).
    case command(UInt32)

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, privileged: Bool, _ memory: inout M) -> Decoded<PlatformOpRequest> {
        guard let op: GuestBytes<136> = memory.read(a.a1, count: PlatformOpLayout.size) else {
            return .failure(Refusal(.EFAULT, "xen_platform_op is not readable guest memory"))
        }
        guard op.u32(PlatformOpLayout.interfaceVersionOffset) == PlatformOpLayout.interfaceVersion else {
            return .failure(Refusal(.EACCES, "platform_op: not XENPF_INTERFACE_VERSION"))
        }
        guard privileged else { return .failure(Refusal(.EPERM, "platform_op is for dom0 only")) }
        return .success(.command(op.u32(PlatformOpLayout.cmdOffset)))
    }
}
