// The errno numbers hypercalls return (negated) to guests, as Linux and Xen number them on x86.
// Numbers and names only: this file must never decide which error an operation returns.

/// A hypercall failure. Guests see `negated` in EAX; the numbers are the ABI.
public enum XenError: Int32, Sendable {
    /// Operation not permitted (e.g. a domU calling a dom0-only operation).
    case EPERM = 1
    /// No such entry.
    case ENOENT = 2
    /// No such domain.
    case ESRCH = 3
    /// Interrupted; the guest may retry (a preempted continuation).
    case EINTR = 4
    /// I/O error.
    case EIO = 5
    /// Argument list too long (more entries than the operation allows).
    case E2BIG = 7
    /// Bad handle (e.g. an event-channel port not in use).
    case EBADF = 9
    /// Try again.
    case EAGAIN = 11
    /// Out of memory (no free frames for the request).
    case ENOMEM = 12
    /// Permission denied.
    case EACCES = 13
    /// Bad guest address: a pointer the hypervisor could not read or write.
    case EFAULT = 14
    /// Busy (e.g. a frame whose type cannot change while it is in use).
    case EBUSY = 16
    /// Already exists.
    case EEXIST = 17
    /// Cross-domain operation not allowed.
    case EXDEV = 18
    /// No such device.
    case ENODEV = 19
    /// Invalid argument.
    case EINVAL = 22
    /// No space left (e.g. no free event-channel port below the domain's limit).
    case ENOSPC = 28
    /// Result out of range.
    case ERANGE = 34
    /// Hypercall or sub-operation not implemented.
    case ENOSYS = 38
    /// Timer expired: a deadline that is already in the past.
    case ETIME = 62
    /// Operation not supported (Xen's answer for a facility that is configured off, e.g. the vPMU).
    case EOPNOTSUPP = 95

    /// What the guest receives in EAX: the negative errno.
    public var negated: Int32 { -rawValue }

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .EPERM: return "EPERM"
        case .ENOENT: return "ENOENT"
        case .ESRCH: return "ESRCH"
        case .EINTR: return "EINTR"
        case .EIO: return "EIO"
        case .E2BIG: return "E2BIG"
        case .EBADF: return "EBADF"
        case .EAGAIN: return "EAGAIN"
        case .ENOMEM: return "ENOMEM"
        case .EACCES: return "EACCES"
        case .EFAULT: return "EFAULT"
        case .EBUSY: return "EBUSY"
        case .EEXIST: return "EEXIST"
        case .EXDEV: return "EXDEV"
        case .ENODEV: return "ENODEV"
        case .EINVAL: return "EINVAL"
        case .ENOSPC: return "ENOSPC"
        case .ERANGE: return "ERANGE"
        case .ENOSYS: return "ENOSYS"
        case .ETIME: return "ETIME"
        case .EOPNOTSUPP: return "EOPNOTSUPP"
        }
    }
}
