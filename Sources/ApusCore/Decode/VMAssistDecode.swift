// VMAssistDecode.swift: vm_assist (21) decoded from its two registers into enable or disable of a known
// assist. No guest memory is involved; it must never act (the domain's assist bits are the actor's).

import PVABI

public enum VMAssistRequest: Equatable {
    case enable(VMAssistType)
    case disable(VMAssistType)

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<VMAssistRequest> {
        guard let command = VMAssistCommand(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown vm_assist command")) }
        guard let type = VMAssistType(rawValue: a.a2) else { return .failure(Refusal(.EINVAL, "unknown vm_assist type")) }
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
