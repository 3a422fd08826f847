// Domctl.swift: domctl (36), dom0's control of other domains: create from an ELF image dom0 hands
// over (built by the same DomainBuilder as dom0), destroy, pause, unpause, getdomaininfo,
// max_mem and the credit scheduler's weight and cap. The table checks dom0-only before this runs;
// each command decodes its payload fully before acting.

import ApusCore
import PVABI

enum DomctlHypercall {
    static let maxImage: UInt32 = 4 << 20

    static func run(_ a: HypercallArguments, _ caller: Domain) -> HypercallOutcome {
        let va = a.a1
        guard let header = GuestMemory.readBytes(va, count: DomctlLayout.size) else { return .refused(.EFAULT, "xen_domctl is not readable guest memory") }
        func u32(_ o: Int) -> UInt32 { UInt32(header[o]) | UInt32(header[o + 1]) << 8 | UInt32(header[o + 2]) << 16 | UInt32(header[o + 3]) << 24 }
        func u16(_ o: Int) -> UInt16 { UInt16(header[o]) | UInt16(header[o + 1]) << 8 }
        guard u32(DomctlLayout.interfaceVersionOffset) == DomctlVersion.apus else {
            return .refused(.EACCES, "domctl interface version mismatch")
        }
        guard let command = DomctlCommand(rawValue: u32(DomctlLayout.cmdOffset)) else { return .refused(.ENOSYS, "unknown domctl command") }
        let p = DomctlLayout.payloadOffset
        let target = u16(DomctlLayout.domainOffset)
        func existing() -> Domain? { target == 0 ? nil : Domains.byID(target) }
        switch command {
        case .createDomain:
            return create(va, imageVA: u32(p + CreateDomainLayout.imageVAOffset), imageLength: u32(p + CreateDomainLayout.imageLengthOffset),
                          memoryKiB: u32(p + CreateDomainLayout.memoryKiBOffset), weight: u16(p + CreateDomainLayout.weightOffset),
                          cap: u16(p + CreateDomainLayout.capOffset),
                          name: Array(header[(p + CreateDomainLayout.nameOffset)..<(p + CreateDomainLayout.nameOffset + CreateDomainLayout.nameLength)]),
                          commandLineVA: u32(p + CreateDomainLayout.commandLineVAOffset),
                          commandLineLength: u32(p + CreateDomainLayout.commandLineLengthOffset),
                          flags: u32(p + CreateDomainLayout.flagsOffset))
        case .destroyDomain:
            guard let d = existing() else { return .refused(.ESRCH, "no such domain (dom0 cannot be destroyed from itself)") }
            Log.info("d\(d.id) destroyed by dom0")
            DomainLife.destroy(d)
            return .ok
        case .pauseDomain:
            guard let d = existing() else { return .refused(.ESRCH, "no such domain") }
            d.paused = true
            Scheduler.credit.block(d.id)
            return .ok
        case .unpauseDomain:
            guard let d = existing() else { return .refused(.ESRCH, "no such domain") }
            d.paused = false
            if d.isRunnable { Scheduler.credit.wake(d.id) }
            return .ok
        case .getDomainInfo:
            guard let d = Domains.all.filter({ $0.id >= target }).min(by: { $0.id < $1.id }) else {
                return .answer(.ESRCH)          // the end of a walk over all domains
            }
            return GuestMemory.writeBytes(va + UInt32(p), info(d)) ? .ok : .refused(.EFAULT, "xen_domctl is not writable guest memory")
        case .maxMem:
            guard existing() != nil || target == 0 else { return .refused(.ESRCH, "no such domain") }
            return .ok          // memory is fixed at creation; the limit is what it holds
        case .schedulerOp:
            guard let d = Domains.byID(target) else { return .refused(.ESRCH, "no such domain") }
            guard u32(p + DomctlSchedulerOpLayout.schedIDOffset) == SchedulerID.credit else { return .refused(.EINVAL, "only the credit scheduler runs here") }
            switch DomctlSchedulerCommand(rawValue: u32(p + DomctlSchedulerOpLayout.cmdOffset)) {
            case .putInfo:
                let weight = u16(p + DomctlSchedulerOpLayout.creditWeightOffset)
                let cap = u16(p + DomctlSchedulerOpLayout.creditCapOffset)
                guard weight >= 1, cap <= 100 else { return .refused(.EINVAL, "weight must be 1-65535 and cap 0-100") }
                d.weight = weight
                d.cap = cap
                _ = Scheduler.credit.setParameters(d.id, weight: weight, cap: cap)
                return .ok
            case .getInfo:
                var out = [UInt8](repeating: 0, count: 4)
                out[0] = UInt8(d.weight & 0xFF); out[1] = UInt8(d.weight >> 8); out[2] = UInt8(d.cap & 0xFF); out[3] = UInt8(d.cap >> 8)
                return GuestMemory.writeBytes(va + UInt32(p + DomctlSchedulerOpLayout.creditWeightOffset), out) ? .ok
                    : .refused(.EFAULT, "xen_domctl is not writable guest memory")
            case nil:
                return .refused(.EINVAL, "unknown scheduler_op command")
            }
        default:
            return .refused(.ENOSYS, "this domctl command is not implemented")
        }
    }

    static func create(_ va: UInt32, imageVA: UInt32, imageLength: UInt32, memoryKiB: UInt32, weight: UInt16, cap: UInt16,
                       name: [UInt8], commandLineVA: UInt32, commandLineLength: UInt32, flags: UInt32) -> HypercallOutcome {
        guard imageLength > 0, imageLength <= maxImage else { return .refused(.EINVAL, "the kernel image is empty or larger than 4 MiB") }
        guard commandLineLength < 1024 else { return .refused(.EINVAL, "the command line is longer than 1023 bytes") }
        guard weight >= 1, cap <= 100 else { return .refused(.EINVAL, "weight must be 1-65535 and cap 0-100") }
        guard let id = Domains.freeID() else { return .refused(.ENOSPC, "the domain table is full") }
        guard let commandLine = GuestMemory.readBytes(commandLineVA, count: Int(commandLineLength)) else {
            return .refused(.EFAULT, "the command line is not readable guest memory")
        }
        // The image is copied out of dom0 first: the builder never reads a guest mapping.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(imageLength), alignment: 16)
        defer { buffer.deallocate() }
        guard GuestMemory.read(imageVA, into: buffer, count: imageLength) else { return .refused(.EFAULT, "the kernel image is not readable guest memory") }
        let request = DomainRequest(id: id, privileged: false, image: UnsafeRawBufferPointer(start: buffer, count: Int(imageLength)),
                                    memoryBytes: UInt64(memoryKiB) << 10, commandLine: commandLine, initrd: nil,
                                    name: Array(name.prefix { $0 != 0 }), weight: weight, cap: cap, paused: flags & CreateDomainLayout.flagPaused != 0)
        // Building switches nothing, but it maps frames through the mapcache: keep dom0's CR3.
        let heapBefore = apus_heap_in_use()
        let built = DomainBuild.build(request)
        TestHooks.domainBuilt(heapBefore: heapBefore)
        switch built {
        case .failure(let r): return r.outcome
        case .success(let d):
            guard GuestMemory.writeBytes(va + UInt32(DomctlLayout.domainOffset), [UInt8(d.id & 0xFF), UInt8(d.id >> 8)]) else {
                DomainLife.destroy(d)
                return .refused(.EFAULT, "xen_domctl is not writable guest memory")
            }
            return .ok
        }
    }

    static func info(_ d: Domain) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: DomainInfoLayout.size)
        func put(_ o: Int, _ v: UInt64, _ n: Int) { for i in 0..<n { b[o + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) } }
        var flags: UInt32 = 0
        switch d.state {
        case .running: flags |= Domains.current === d ? DomainInfoFlags.running : 0
        case .blocked: flags |= DomainInfoFlags.blocked
        case .shutdown(let reason): flags |= DomainInfoFlags.shutdown | reason.rawValue << DomainInfoFlags.shutdownShift
        case .crashed: flags |= DomainInfoFlags.shutdown | ShutdownReason.crash.rawValue << DomainInfoFlags.shutdownShift
        case .dead: flags |= DomainInfoFlags.dying
        }
        if d.paused { flags |= DomainInfoFlags.paused }
        put(DomainInfoLayout.domainOffset, UInt64(d.id), 2)
        put(DomainInfoLayout.flagsOffset, UInt64(flags), 4)
        put(DomainInfoLayout.totalPagesOffset, UInt64(d.frames.count), 8)
        put(DomainInfoLayout.maxPagesOffset, UInt64(d.frames.count), 8)
        put(DomainInfoLayout.sharedInfoFrameOffset, UInt64(d.sharedInfoMFN), 8)
        put(DomainInfoLayout.cpuTimeOffset, d.cpuTime, 8)
        put(DomainInfoLayout.onlineVCPUsOffset, d.isAlive ? 1 : 0, 4)
        for i in 0..<16 { b[DomainInfoLayout.nameOffset + i] = d.name[i] }
        put(DomainInfoLayout.weightOffset, UInt64(d.weight), 2)
        put(DomainInfoLayout.capOffset, UInt64(d.cap), 2)
        put(DomainInfoLayout.eventsSentOffset, UInt64(d.eventsSent), 4)
        put(DomainInfoLayout.eventsReceivedOffset, UInt64(d.eventsReceived), 4)
        return b
    }
}
