// DomctlDecode.swift: domctl (36) decoded from dom0's 144-byte xen_domctl (range-checked whole, copied per command) into a typed request: the
// target domain, each command's IN payload, the kernel image and command line of createdomain as checked
// GuestRanges, and the ranges OUT fields go to. Reads only through GuestMemoryAccess; never acts (whether
// the target exists is the acting half's question). Two interface versions: Apus's own (its createdomain
// and getdomaininfo payloads) and Xen 4.17's (0x15), whose layouts the commands Apus implements then use;
// any other is -EACCES, as on Xen.

import PVABI

/// createdomain's IN payload, checked: lengths bounded, both guest buffers range-checked.
public struct CreateDomainArguments {
    /// The ELF image in dom0's memory (1 byte ... DomctlRequest.maxImage).
    public let image: GuestRange
    /// The command line in dom0's memory (0 ... DomctlRequest.maxCommandLine - 1 bytes).
    public let commandLine: GuestRange
    public let memoryKiB: UInt32
    public let weight: UInt16
    public let cap: UInt16
    /// The name field (CreateDomainLayout.nameLength bytes, NUL-padded) inside dom0's struct.
    public let name: GuestRange
    public let paused: Bool
    /// The initrd (xl's `ramdisk`) in dom0's memory, nil when none (1 ... DomctlRequest.maxRamdisk bytes).
    public let ramdisk: GuestRange?
    /// OUT: the new domain's id (u16 xen_domctl.domain).
    public let domainOut: GuestRange
    /// OUT: its store and console ports and frames (CreateDomainLayout.storePortOffset on, 16 bytes).
    public let ringsOut: GuestRange
}

public enum DomctlRequest {
    case createDomain(CreateDomainArguments)
    case destroyDomain(UInt16)
    case pauseDomain(UInt16)
    case unpauseDomain(UInt16)
    /// The first domain with an id at or above `from`; OUT: DomainInfoLayout (Apus's version) or
    /// XenDomainInfoLayout (Xen's, when `xenDomainOut` is given: xen_domctl.domain, where Xen echoes the
    /// id found) to `out`.
    case getDomainInfo(from: UInt16, out: GuestRange, xenDomainOut: GuestRange?)
    case maxMem(UInt16)
    /// xen_domctl_max_vcpus: how many vCPUs the domain has (VcpuLimits decides whether it may).
    case maxVCPUs(UInt16, UInt32)
    /// Credit scheduler parameters for `domain`, already in range.
    case putSchedulerInfo(domain: UInt16, weight: UInt16, cap: UInt16)
    /// OUT: the credit weight (u16) to `weight` and the cap (u16) to `cap`.
    case getSchedulerInfo(domain: UInt16, weight: GuestRange, cap: GuestRange)
    /// Give (`allow`) or take away ports, device-memory frames or a physical IRQ.
    case ioportPermission(domain: UInt16, ports: PortRange, allow: Bool)
    case iomemPermission(domain: UInt16, frames: FrameNumberRange, allow: Bool)
    case irqPermission(domain: UInt16, pirq: UInt32, allow: Bool)

    /// The largest kernel image createdomain copies (bounded before anything else about it).
    public static let maxImage: UInt32 = 4 << 20
    /// The largest ramdisk createdomain copies (it is copied into the hypervisor beside the image).
    public static let maxRamdisk: UInt32 = 4 << 20
    /// Command lines must be shorter than this.
    public static let maxCommandLine: UInt32 = 1024

    static let unreadable = Refusal(.EFAULT, "xen_domctl is not readable guest memory")

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<DomctlRequest> {
        // The whole struct must be guest memory; only the header and the payload a command uses are copied.
        guard let range = GuestRange(a.a1, count: UInt32(DomctlLayout.size)), let header = range.field(0, DomctlLayout.payloadOffset),
              let arg: GuestBytes<16> = memory.read(header) else {
            return .failure(unreadable)
        }
        let version = arg.u32(DomctlLayout.interfaceVersionOffset)
        guard version == DomctlVersion.apus || version == XenInterfaceVersion.domctl else {
            return .failure(Refusal(.EACCES, "domctl interface version is neither Xen 4.17's nor Apus's"))
        }
        let xen = version == XenInterfaceVersion.domctl
        guard let command = DomctlCommand(rawValue: arg.u32(DomctlLayout.cmdOffset)) else { return .failure(Refusal(.ENOSYS, "unknown domctl command")) }
        let p = DomctlLayout.payloadOffset
        let target = arg.u16(DomctlLayout.domainOffset)
        switch command {
        case .createDomain:
            // Xen's createdomain makes an empty domain for the toolstack to build; Apus builds from an image.
            guard !xen else { return .failure(Refusal(.EOPNOTSUPP, "createdomain with Xen's payload: Apus builds a domain from an image (Apus's interface version)")) }
            guard let payload = range.field(p, CreateDomainLayout.inputSize), let create: GuestBytes<52> = memory.read(payload) else {
                return .failure(unreadable)
            }
            return createDomain(create, range)
        case .destroyDomain: return .success(.destroyDomain(target))
        case .pauseDomain: return .success(.pauseDomain(target))
        case .unpauseDomain: return .success(.unpauseDomain(target))
        case .getDomainInfo:
            guard let out = range.field(p, xen ? XenDomainInfoLayout.size : DomainInfoLayout.size),
                  let echo = range.field(DomctlLayout.domainOffset, 2) else { return .failure(unreadable) }
            return .success(.getDomainInfo(from: target, out: out, xenDomainOut: xen ? echo : nil))
        case .maxMem:
            if xen {
                // xen_domctl_max_mem: the new limit must be readable; memory is fixed at creation here.
                guard let payload = range.field(p, XenMaxMemLayout.size), let _: GuestBytes<8> = memory.read(payload) else {
                    return .failure(unreadable)
                }
            }
            return .success(.maxMem(target))
        case .maxVCPUs:
            guard let payload = range.field(p, XenMaxVCPUsLayout.size), let b: GuestBytes<4> = memory.read(payload) else {
                return .failure(unreadable)
            }
            return .success(.maxVCPUs(target, b.u32(XenMaxVCPUsLayout.maxOffset)))
        case .schedulerOp:
            guard let payload = range.field(p, DomctlSchedulerOpLayout.size), let op: GuestBytes<12> = memory.read(payload) else {
                return .failure(unreadable)
            }
            guard op.u32(DomctlSchedulerOpLayout.schedIDOffset) == SchedulerID.credit else {
                return .failure(Refusal(.EINVAL, "only the credit scheduler runs here"))
            }
            switch DomctlSchedulerCommand(rawValue: op.u32(DomctlSchedulerOpLayout.cmdOffset)) {
            case .putInfo:
                let weight = op.u16(DomctlSchedulerOpLayout.creditWeightOffset)
                let cap = op.u16(DomctlSchedulerOpLayout.creditCapOffset)
                guard weight >= 1, cap <= 100 else { return .failure(Refusal(.EINVAL, "weight must be 1-65535 and cap 0-100")) }
                return .success(.putSchedulerInfo(domain: target, weight: weight, cap: cap))
            case .getInfo:
                guard let weight = range.field(p + DomctlSchedulerOpLayout.creditWeightOffset, 2),
                      let cap = range.field(p + DomctlSchedulerOpLayout.creditCapOffset, 2) else { return .failure(unreadable) }
                return .success(.getSchedulerInfo(domain: target, weight: weight, cap: cap))
            case nil:
                return .failure(Refusal(.EINVAL, "unknown scheduler_op command"))
            }
        case .ioportPermission:
            guard let payload = range.field(p, DomctlPermissionLayout.ioportSize), let b: GuestBytes<12> = memory.read(payload) else {
                return .failure(unreadable)
            }
            // Xen: -EINVAL for an empty range or one past port 0xFFFF.
            guard let ports = PortRange(first: UInt64(b.u32(DomctlPermissionLayout.ioportFirstOffset)),
                                        count: UInt64(b.u32(DomctlPermissionLayout.ioportCountOffset))) else {
                return .failure(Refusal(.EINVAL, "ioport_permission: an empty range or one past port 0xFFFF"))
            }
            return .success(.ioportPermission(domain: target, ports: ports, allow: b.u8(DomctlPermissionLayout.ioportAllowOffset) != 0))
        case .iomemPermission:
            guard let payload = range.field(p, DomctlPermissionLayout.iomemSize), let b: GuestBytes<24> = memory.read(payload) else {
                return .failure(unreadable)
            }
            guard let frames = FrameNumberRange(first: b.u64(DomctlPermissionLayout.iomemFirstOffset),
                                                count: b.u64(DomctlPermissionLayout.iomemCountOffset)) else {
                return .failure(Refusal(.EINVAL, "iomem_permission: an empty range or one past the frames a PAE entry can name"))
            }
            return .success(.iomemPermission(domain: target, frames: frames, allow: b.u8(DomctlPermissionLayout.iomemAllowOffset) != 0))
        case .irqPermission:
            guard let payload = range.field(p, DomctlPermissionLayout.irqSize), let b: GuestBytes<8> = memory.read(payload) else {
                return .failure(unreadable)
            }
            return .success(.irqPermission(domain: target, pirq: b.u32(DomctlPermissionLayout.irqPirqOffset),
                                           allow: b.u8(DomctlPermissionLayout.irqAllowOffset) != 0))
        default:
            return .failure(Refusal(.ENOSYS, "this domctl command is not implemented"))
        }
    }

    private static func createDomain(_ arg: GuestBytes<52>, _ range: GuestRange) -> Decoded<DomctlRequest> {
        let imageLength = arg.u32(CreateDomainLayout.imageLengthOffset)
        let commandLineLength = arg.u32(CreateDomainLayout.commandLineLengthOffset)
        let weight = arg.u16(CreateDomainLayout.weightOffset)
        let cap = arg.u16(CreateDomainLayout.capOffset)
        guard imageLength > 0, imageLength <= maxImage else { return .failure(Refusal(.EINVAL, "the kernel image is empty or larger than 4 MiB")) }
        let ramdiskLength = arg.u32(CreateDomainLayout.ramdiskLengthOffset)
        guard ramdiskLength <= maxRamdisk else { return .failure(Refusal(.EINVAL, "the ramdisk is larger than 4 MiB")) }
        guard commandLineLength < maxCommandLine else { return .failure(Refusal(.EINVAL, "the command line is longer than 1023 bytes")) }
        guard weight >= 1, cap <= 100 else { return .failure(Refusal(.EINVAL, "weight must be 1-65535 and cap 0-100")) }
        guard let commandLine = GuestRange(arg.u32(CreateDomainLayout.commandLineVAOffset), count: commandLineLength) else {
            return .failure(Refusal(.EFAULT, "the command line is not readable guest memory"))
        }
        guard let image = GuestRange(arg.u32(CreateDomainLayout.imageVAOffset), count: imageLength) else {
            return .failure(Refusal(.EFAULT, "the kernel image is not readable guest memory"))
        }
        var ramdisk: GuestRange? = nil
        if ramdiskLength > 0 {
            guard let r = GuestRange(arg.u32(CreateDomainLayout.ramdiskVAOffset), count: ramdiskLength) else {
                return .failure(Refusal(.EFAULT, "the ramdisk is not readable guest memory"))
            }
            ramdisk = r
        }
        guard let domainOut = range.field(DomctlLayout.domainOffset, 2),
              let ringsOut = range.field(DomctlLayout.payloadOffset + CreateDomainLayout.storePortOffset,
                                         CreateDomainLayout.size - CreateDomainLayout.storePortOffset),
              let name = range.field(DomctlLayout.payloadOffset + CreateDomainLayout.nameOffset, CreateDomainLayout.nameLength) else {
            return .failure(unreadable)
        }
        return .success(.createDomain(CreateDomainArguments(
            image: image, commandLine: commandLine, memoryKiB: arg.u32(CreateDomainLayout.memoryKiBOffset),
            weight: weight, cap: cap, name: name, paused: arg.u32(CreateDomainLayout.flagsOffset) & CreateDomainLayout.flagPaused != 0,
            ramdisk: ramdisk, domainOut: domainOut, ringsOut: ringsOut)))
    }
}
