// The sched_op hypercall (29) of the Xen PV ABI: sub-command numbers, shutdown reasons, and x86_32 argument layouts.
// Numbers and layouts only: it must never block, yield or shut anything down (the scheduler does).

/// SCHEDOP_*: IN arg1 of sched_op. arg2 is a guest pointer to the command's struct, or 0.
public enum SchedOp: UInt32, Sendable {
    /// Give up the CPU; the VCPU stays runnable. IN arg2: 0. OUT: 0.
    case yield = 0
    /// Sleep until an event is pending for this VCPU. Clears evtchn_upcall_mask first and
    /// checks for pending events, so an event that raced the call is not lost. IN arg2: 0. OUT: 0.
    case block = 1
    /// Stop the whole domain and tell dom0 why. IN: sched_shutdown. Does not return unless the
    /// reason is suspend (then OUT: 0 when the domain resumes).
    case shutdown = 2
    /// Sleep until one of the listed ports is pending, or the timeout passes.
    /// IN: sched_poll. OUT: 0, or -EINVAL for a bad port.
    case poll = 3
    /// Shut down another domain (privileged). IN: sched_remote_shutdown.
    case remoteShutdown = 4
    /// Record the reason the domain will report when it later shuts down, without stopping it.
    /// IN: sched_shutdown.
    case shutdownCode = 5
    /// Create (id 0), poke (timeout != 0) or destroy (timeout 0) a domain watchdog.
    /// IN: sched_watchdog. OUT: the new watchdog id when creating.
    case watchdog = 6
    /// Pin the calling VCPU to one physical CPU (hardware domain only). IN: sched_pin_override.
    case pinOverride = 7

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .yield: return "yield"
        case .block: return "block"
        case .shutdown: return "shutdown"
        case .poll: return "poll"
        case .remoteShutdown: return "remote_shutdown"
        case .shutdownCode: return "shutdown_code"
        case .watchdog: return "watchdog"
        case .pinOverride: return "pin_override"
        }
    }
}

/// SHUTDOWN_*: why a domain stopped. The hypervisor reports it; dom0's toolstack acts on it.
public enum ShutdownReason: UInt32, Sendable {
    /// Exited normally: clean up and destroy.
    case poweroff = 0
    /// Clean up, destroy, then start again.
    case reboot = 1
    /// Clean up and save the suspend state.
    case suspend = 2
    /// The guest crashed (also what the hypervisor reports when it kills a misbehaving guest).
    case crash = 3
    /// The domain watchdog expired: restart.
    case watchdog = 4
    /// Reset the domain's state and start it again in place.
    case softReset = 5

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .poweroff: return "poweroff"
        case .reboot: return "reboot"
        case .suspend: return "suspend"
        case .crash: return "crash"
        case .watchdog: return "watchdog"
        case .softReset: return "soft_reset"
        }
    }
}

/// struct sched_shutdown (4 bytes).
public enum SchedShutdownLayout {
    /// u32, IN: a ShutdownReason.
    public static let reasonOffset: Int = 0
    public static let size: Int = 4
}

/// struct sched_poll on x86_32 (16 bytes).
public enum SchedPollLayout {
    /// Guest handle (a 4-byte pointer on x86_32), IN: array of evtchn_port_t (u32).
    public static let portsOffset: Int = 0
    /// u32, IN: entries in `ports`.
    public static let nrPortsOffset: Int = 4
    /// u64, IN: absolute system time in ns to give up at; 0 waits for ever.
    public static let timeoutOffset: Int = 8
    public static let size: Int = 16
}

/// struct sched_remote_shutdown (8 bytes).
public enum SchedRemoteShutdownLayout {
    /// u16 (domid_t), IN: the domain to stop.
    public static let domainIDOffset: Int = 0
    /// u32, IN: a ShutdownReason.
    public static let reasonOffset: Int = 4
    public static let size: Int = 8
}

/// struct sched_watchdog (8 bytes).
public enum SchedWatchdogLayout {
    /// u32, IN: 0 to create a watchdog, else the id of one to poke or destroy.
    public static let idOffset: Int = 0
    /// u32, IN: seconds until the domain is shut down with reason watchdog; 0 destroys.
    public static let timeoutOffset: Int = 4
    public static let size: Int = 8
}
