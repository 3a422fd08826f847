// SysctlDecode.swift: sysctl (35) decoded from the guest's 128-byte xen_sysctl (range-checked whole, copied per command) into a typed request:
// physinfo and perfc with the ranges of their OUT fields, readconsole with its IN index and its output
// buffer as a GuestRange bounded by the guest's count. Two interface versions: Apus's own payloads, and
// Xen 4.17's (0x15) for physinfo and readconsole with Xen's layouts (perfc is Apus's alone); any other
// version is -EACCES, as on Xen. Reads only through GuestMemoryAccess; never acts.

import PVABI

public enum SysctlRequest {
    /// OUT: nr_cpus u32, cpu_khz u32, total_pages u64, free_pages u64, scrub_pages u64.
    case physInfo(nrCPUs: GuestRange, cpuKHz: GuestRange, totalPages: GuestRange, freePages: GuestRange, scrubPages: GuestRange)
    /// OUT: guest_traps u64, cr3_loads u64, heap_allocations u64, device_irq_tsc u64, and `residents`:
    /// heap_in_use, heap_size, domains, dying_domains (u64 each, in that order, 32 bytes).
    case perfc(guestTraps: GuestRange, cr3Loads: GuestRange, heapAllocations: GuestRange, deviceIRQTSC: GuestRange, residents: GuestRange)
    /// IN: `index` where to start in the log; OUT: up to `buffer.count` bytes to `buffer`, then
    /// the bytes copied to `countOut` and the next index to `indexOut`.
    case readConsole(index: UInt32, buffer: GuestRange, countOut: GuestRange, indexOut: GuestRange)
    /// Xen's physinfo: OUT the whole xen_sysctl_physinfo (XenPhysinfoLayout) to `out`.
    case xenPhysInfo(out: GuestRange)
    /// Xen's readconsole: from `index` when incremental (nil: from the oldest byte kept, or where the
    /// last clear left off), `clear` to forget what was read; OUT as readConsole.
    case xenReadConsole(index: UInt32?, clear: Bool, buffer: GuestRange, countOut: GuestRange, indexOut: GuestRange)

    /// The most log bytes one readconsole copies.
    public static let maxReadConsole: UInt32 = 4096

    static let unreadable = Refusal(.EFAULT, "xen_sysctl is not readable guest memory")

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<SysctlRequest> {
        // The whole struct must be guest memory; only the header and the payload a command reads are copied.
        guard let range = GuestRange(a.a1, count: UInt32(SysctlLayout.size)), let header = range.field(0, SysctlLayout.headerSize),
              let arg: GuestBytes<8> = memory.read(header) else {
            return .failure(unreadable)
        }
        let version = arg.u32(SysctlLayout.interfaceVersionOffset)
        if version == XenInterfaceVersion.sysctl { return decodeXen(arg.u32(SysctlLayout.cmdOffset), range, &memory) }
        guard version == DomctlVersion.apus else { return .failure(Refusal(.EACCES, "sysctl interface version is neither Xen 4.17's nor Apus's")) }
        guard let command = SysctlCommand(rawValue: arg.u32(SysctlLayout.cmdOffset)) else { return .failure(Refusal(.ENOSYS, "unknown sysctl command")) }
        switch command {
        case .physInfo:
            guard let cpus = range.field(SysctlLayout.nrCPUsOffset, 4), let khz = range.field(SysctlLayout.cpuKHzOffset, 4),
                  let total = range.field(SysctlLayout.totalPagesOffset, 8), let free = range.field(SysctlLayout.freePagesOffset, 8),
                  let scrub = range.field(SysctlLayout.scrubPagesOffset, 8) else {
                return .failure(unreadable)
            }
            return .success(.physInfo(nrCPUs: cpus, cpuKHz: khz, totalPages: total, freePages: free, scrubPages: scrub))
        case .perfcOp:
            guard let traps = range.field(SysctlLayout.guestTrapsOffset, 8), let loads = range.field(SysctlLayout.cr3LoadsOffset, 8),
                  let allocations = range.field(SysctlLayout.heapAllocationsOffset, 8),
                  let irq = range.field(SysctlLayout.deviceIRQTSCOffset, 8),
                  let residents = range.field(SysctlLayout.heapInUseOffset, SysctlLayout.dyingDomainsOffset + 8 - SysctlLayout.heapInUseOffset) else {
                return .failure(unreadable)
            }
            return .success(.perfc(guestTraps: traps, cr3Loads: loads, heapAllocations: allocations, deviceIRQTSC: irq, residents: residents))
        case .readConsole:
            guard let countOut = range.field(SysctlLayout.readCountOffset, 4), let indexOut = range.field(SysctlLayout.readIndexOffset, 4),
                  let payload = range.field(SysctlLayout.readIndexOffset, SysctlLayout.readConsoleSize),
                  let read: GuestBytes<12> = memory.read(payload) else {
                return .failure(unreadable)
            }
            // Payload-relative offsets: the copy starts at readIndexOffset.
            func field(_ offset: Int) -> UInt32 { read.u32(offset - SysctlLayout.readIndexOffset) }
            let count = min(field(SysctlLayout.readCountOffset), maxReadConsole)
            guard let buffer = GuestRange(field(SysctlLayout.readBufferOffset), count: count) else {
                return .failure(Refusal(.EFAULT, "the console buffer is not writable guest memory"))
            }
            return .success(.readConsole(index: field(SysctlLayout.readIndexOffset), buffer: buffer, countOut: countOut, indexOut: indexOut))
        }
    }

    /// Xen 4.17's payloads: physinfo and readconsole; every other command -ENOSYS, as Xen answers one it lacks.
    static func decodeXen<M: GuestMemoryAccess>(_ cmd: UInt32, _ range: GuestRange, _ memory: inout M) -> Decoded<SysctlRequest> {
        switch cmd {
        case SysctlCommand.physInfo.rawValue:
            guard let out = range.field(XenPhysinfoLayout.payloadOffset, XenPhysinfoLayout.payloadSize) else { return .failure(unreadable) }
            return .success(.xenPhysInfo(out: out))
        case SysctlCommand.readConsole.rawValue:
            guard let payload = range.field(XenReadConsoleLayout.payloadOffset, XenReadConsoleLayout.payloadSize),
                  let read: GuestBytes<20> = memory.read(payload),
                  let countOut = range.field(XenReadConsoleLayout.countOffset, 4),
                  let indexOut = range.field(XenReadConsoleLayout.indexOffset, 4) else {
                return .failure(unreadable)
            }
            func at(_ offset: Int) -> Int { offset - XenReadConsoleLayout.payloadOffset }
            let count = min(read.u32(at(XenReadConsoleLayout.countOffset)), maxReadConsole)
            // A 64-bit guest handle: a 32-bit guest's address is its low half, the high half must be 0.
            guard read.u32(at(XenReadConsoleLayout.bufferOffset) + 4) == 0,
                  let buffer = GuestRange(read.u32(at(XenReadConsoleLayout.bufferOffset)), count: count) else {
                return .failure(Refusal(.EFAULT, "the console buffer is not writable guest memory"))
            }
            let incremental = read.u8(at(XenReadConsoleLayout.incrementalOffset)) != 0
            return .success(.xenReadConsole(index: incremental ? read.u32(at(XenReadConsoleLayout.indexOffset)) : nil,
                                            clear: read.u8(at(XenReadConsoleLayout.clearOffset)) != 0,
                                            buffer: buffer, countOut: countOut, indexOut: indexOut))
        default:
            return .failure(Refusal(.ENOSYS, "this sysctl command is not implemented (Xen's interface version)"))
        }
    }
}
