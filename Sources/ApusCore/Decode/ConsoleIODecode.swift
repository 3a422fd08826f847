// ConsoleIODecode.swift: console_io (18) decoded: the operation, and the buffer as one checked guest
// range (write: the text to print; read: where typed bytes go, dom0 only). It must never act.

import PVABI

/// console_io (18): write guest text to the console, or (dom0) read what was typed.
public enum ConsoleIORequest: Equatable, Sendable {
    case write(GuestRange)
    case read(GuestRange)

    public static func decode(_ a: HypercallArguments, privileged: Bool) -> Decoded<ConsoleIORequest> {
        guard let op = ConsoleIOOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown console_io operation")) }
        guard let buffer = GuestRange(a.a3, count: a.a2) else {
            return .failure(Refusal(.EFAULT, "console_io buffer reaches into the hypervisor area"))
        }
        switch op {
        case .write: return .success(.write(buffer))
        case .read:
            guard privileged else { return .failure(Refusal(.EPERM, "only dom0 reads the hypervisor console")) }
            return .success(.read(buffer))
        }
    }
}
