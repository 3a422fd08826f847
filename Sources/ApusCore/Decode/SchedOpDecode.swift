// SchedOpDecode.swift: sched_op (29) decoded from its registers and argument struct into a typed
// request: yield, block, shutdown with its reason, poll with its ports and timeout. It reads guest
// memory only through GuestMemoryAccess and must never act: no state changes, no copy out.

import PVABI

public enum SchedOpRequest {
    case yield
    case block
    case shutdown(ShutdownReason)
    /// Wait until one of the listed ports is pending, or until `timeout` (ns of system time; 0: no
    /// timeout). The list is checked to lie in guest space and to be short enough; its ports are
    /// read and checked by PollPorts.decode, a second step, so that this enum stays a few words
    /// (a 512-byte payload here made every sched_op, block included, copy it four times).
    case poll(list: GuestArray, timeout: UInt64)

    /// Xen's limit on the ports one poll may name.
    public static let maxPollPorts: UInt32 = 128

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<SchedOpRequest> {
        guard let op = SchedOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown sched_op command")) }
        switch op {
        case .yield: return .success(.yield)
        case .block: return .success(.block)
        case .shutdown:
            guard let arg: GuestBytes<4> = memory.read(a.a2, count: SchedShutdownLayout.size) else {
                return .failure(Refusal(.EFAULT, "sched_shutdown is not readable guest memory"))
            }
            guard let reason = ShutdownReason(rawValue: arg.u32(SchedShutdownLayout.reasonOffset)) else {
                return .failure(Refusal(.EINVAL, "unknown shutdown reason"))
            }
            return .success(.shutdown(reason))
        case .poll:
            guard let arg: GuestBytes<16> = memory.read(a.a2, count: SchedPollLayout.size) else {
                return .failure(Refusal(.EFAULT, "sched_poll is not readable guest memory"))
            }
            switch GuestArray.check(arg.u32(SchedPollLayout.portsOffset), count: arg.u32(SchedPollLayout.nrPortsOffset),
                                    elementSize: 4, maxCount: maxPollPorts) {
            case .failure(.tooLong): return .failure(Refusal(.EINVAL, "sched_poll names more than 128 ports"))
            case .failure(.outsideGuest): return .failure(Refusal(.EFAULT, "sched_poll port list reaches into the hypervisor area"))
            case .success(let list): return .success(.poll(list: list, timeout: arg.u64(SchedPollLayout.timeoutOffset)))
            }
        case .remoteShutdown, .shutdownCode, .watchdog, .pinOverride:
            return .failure(Refusal(.ENOSYS, "this sched_op command is not implemented"))
        }
    }
}

/// The ports a poll names, copied into hypervisor storage: the second step of decoding a poll.
public struct PollPorts {
    private var bytes: GuestBytes<512>
    public let count: Int

    private init(bytes: GuestBytes<512>, count: Int) {
        self.bytes = bytes
        self.count = count
    }

    /// Reads the list SchedOpRequest.decode checked and refuses a port beyond the 2-level ABI.
    public static func decode<M: GuestMemoryAccess>(_ list: GuestArray, _ memory: inout M) -> Decoded<PollPorts> {
        guard let all = list.elements(0, count: list.count), let copy: GuestBytes<512> = memory.read(all) else {
            return .failure(Refusal(.EFAULT, "sched_poll port list is not readable guest memory"))
        }
        let ports = PollPorts(bytes: copy, count: Int(list.count))
        for i in 0..<ports.count where ports[i] >= UInt32(SharedInfoLimits.twoLevelEventChannels) {
            return .failure(Refusal(.EINVAL, "sched_poll names a port beyond the 2-level event-channel ABI"))
        }
        return .success(ports)
    }

    public subscript(i: Int) -> UInt32 { bytes.u32(i &* 4) }
}
