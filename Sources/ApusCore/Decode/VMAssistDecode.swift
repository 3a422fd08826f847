// VMAssistDecode.swift: vm_assist (21) decoded from its two registers into enable or disable of an assist
// a 32-bit PV guest may have (Xen's COMPAT_VM_ASSIST_VALID). No guest memory is involved; it must never
// act (the domain's assist bits are the actor's).

import PVABI

public enum VMAssistRequest: Equatable {
    case enable(VMAssistType)
    case disable(VMAssistType)

    /// As Xen's do_vm_assist: the type is checked against the valid mask first (-EINVAL, whatever the
    /// command), then the command (-ENOSYS).
    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<VMAssistRequest> {
        guard a.a2 < 32, VMAssistValid.pv32 & (1 << a.a2) != 0, let type = VMAssistType(rawValue: a.a2) else {
            return .failure(Refusal(.EINVAL, a.a2 == VMAssistType.m2pStrict.rawValue
                                    ? "m2p_strict is an assist for 64-bit guests only" : "unknown vm_assist type"))
        }
        guard let command = VMAssistCommand(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown vm_assist command")) }
        switch command {
        case .enable: return .success(.enable(type))
        case .disable: return .success(.disable(type))
        }
    }
}

extension VMAssistType {
    /// The assist's bit in a 32-bit domain's assist word (m2p_strict, an x86_64 assist, has none).
    public var bit: UInt32 { rawValue < 32 ? 1 << rawValue : 0 }
}
