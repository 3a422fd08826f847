// IretInPlace.swift: the iret hypercall (23) applied inside the TrapFrame it returns through, with
// IretRequest.decode's rules: the guest's [eax, eip, cs, eflags] are copied through the checked path
// straight into the frame's [error code, eip, cs, eflags] slots (and, returning to ring 3, [esp, ss]
// into its own), then made safe there. A refusal leaves the frame partly overwritten: the caller must
// crash the guest and never return through that frame.

import PVABI

/// What an iret applied in place did: the guest returns (with its upcall mask), or a refusal.
/// Cases without payload, so that the common return carries no refusal text through registers.
public enum IretInPlaceResult: Equatable, Sendable {
    case eventsUnmasked
    case eventsMasked
    case frameUnreadable
    case ring3FrameUnreadable
    case hypervisorAddress

    /// The upcall mask the guest returns with; nil for a refusal.
    public var upcallMask: UInt8? {
        switch self {
        case .eventsUnmasked: return 0
        case .eventsMasked: return 1
        default: return nil
        }
    }

    /// The refusal, word for word IretRequest.decode's (a host test holds them equal); nil when the guest returns.
    public var refusal: Refusal? {
        switch self {
        case .eventsUnmasked, .eventsMasked: return nil
        case .frameUnreadable: return Refusal(.EFAULT, "iret frame on the guest stack is not readable")
        case .ring3FrameUnreadable: return Refusal(.EFAULT, "iret frame to ring 3 is not readable")
        case .hypervisorAddress: return Refusal(.EINVAL, "iret to an address in the hypervisor area")
        }
    }
}

public enum IretInPlace {
    /// IN: the hypercall's frame (its ESP and SS are the guest's at the hypercall: the iret frame is on
    /// that stack). OUT: the frame rewritten to the registers IretRequest.decode gives (EAX, EIP, CS,
    /// EFLAGS, ESP, SS; nothing else changes), and the upcall mask; or a refusal, the frame then unusable.
    @inline(__always)      // into the hypercall table: nothing goes through a temporary
    public static func apply<M: GuestMemoryAccess>(_ frame: UnsafeMutablePointer<TrapFrame>, _ memory: inout M) -> IretInPlaceResult {
        let raw = UnsafeMutableRawPointer(frame)
        let esp = frame.pointee.esp
        guard let inner = GuestRange.fixed(esp, size: IretRequest.frameSize),
              memory.copyIn(inner, to: raw + InPlaceBounce.errorCodeOffset) else { return .frameUnreadable }
        let cs = frame.pointee.cs
        let rpl = cs & 3
        let ring = rpl | (rpl == 0 ? 1 : 0)           // RPL 0 returns to ring 1
        if ring == 3 {
            // [esp, ss] above the inner frame, within one checked 24-byte range, into the frame's own slots.
            guard let outer = GuestRange(esp, count: IretRequest.ring3FrameSize)?.slice(at: IretRequest.frameSize, count: 8),
                  memory.copyIn(outer, to: raw + InPlaceBounce.eflagsEnd) else { return .ring3FrameUnreadable }
            frame.pointee.ss |= 3
        } else {
            frame.pointee.esp = inner.end
        }
        guard frame.pointee.eip < XenLayout.hypervisorVirtStart else { return .hypervisorAddress }
        let eflags = frame.pointee.eflags
        frame.pointee.eax = frame.pointee.errorCode
        frame.pointee.cs = (cs & 0xFFFC) | ring
        // IOPL stays 0, no virtual-8086 or nested task; the real IF stays on for the hypervisor.
        frame.pointee.eflags = (eflags & ~IretRequest.forbiddenFlags) | 0x200 | 0x2
        return eflags & 0x200 != 0 ? .eventsUnmasked : .eventsMasked
    }
}
