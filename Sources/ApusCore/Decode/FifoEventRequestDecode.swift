// EVTCHNOP_init_control, expand_array and set_priority (the FIFO ABI's commands of event_channel_op) decoded from their argument structs.
// Reads guest memory only through GuestMemoryAccess; it must never act: it validates nothing about frames or ports (FifoControlRules does) and writes nothing.

import PVABI

public enum FifoEventRequest: Equatable {
    /// IN control_gfn, offset, vcpu; OUT link_bits (a u8) to `linkBits`.
    case initControl(controlGFN: UInt64, offset: UInt32, vcpu: UInt32, linkBits: GuestRange)
    /// IN array_gfn.
    case expandArray(arrayGFN: UInt64)
    /// IN port, priority.
    case setPriority(port: UInt32, priority: UInt32)

    static let unreadable = Refusal(.EFAULT, "event channel argument is not readable guest memory")

    /// The request for `op` (one of the three FIFO commands; any other is a caller's bug and refused ENOSYS)
    /// with its struct at `va`.
    public static func decode<M: GuestMemoryAccess>(_ op: EventChannelOp, _ va: UInt32, _ memory: inout M) -> Decoded<FifoEventRequest> {
        switch op {
        case .initControl:
            guard let range = GuestRange(va, count: UInt32(EvtchnInitControlLayout.size)),
                  let arg: GuestBytes<24> = memory.read(range),
                  let out = range.field(EvtchnInitControlLayout.linkBitsOffset, 1) else { return .failure(unreadable) }
            return .success(.initControl(controlGFN: arg.u64(EvtchnInitControlLayout.controlGFNOffset),
                                         offset: arg.u32(EvtchnInitControlLayout.offsetOffset),
                                         vcpu: arg.u32(EvtchnInitControlLayout.vcpuOffset), linkBits: out))
        case .expandArray:
            guard let range = GuestRange(va, count: UInt32(EvtchnExpandArrayLayout.size)),
                  let arg: GuestBytes<8> = memory.read(range) else { return .failure(unreadable) }
            return .success(.expandArray(arrayGFN: arg.u64(EvtchnExpandArrayLayout.arrayGFNOffset)))
        case .setPriority:
            guard let range = GuestRange(va, count: UInt32(EvtchnSetPriorityLayout.size)),
                  let arg: GuestBytes<8> = memory.read(range) else { return .failure(unreadable) }
            return .success(.setPriority(port: arg.u32(EvtchnSetPriorityLayout.portOffset),
                                         priority: arg.u32(EvtchnSetPriorityLayout.priorityOffset)))
        default:
            return .failure(Refusal(.ENOSYS, "not a FIFO event-channel command"))
        }
    }
}
