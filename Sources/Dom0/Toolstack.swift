// Toolstack.swift: dom0's control of other domains through domctl (Apus's payloads, PVABI's
// Domctl.swift): create from an ELF in the initrd or uploaded over the HTTP API (then, as libxl does, connect the domain's console
// and store rings and write its XenStore tree before it runs), destroy (after disconnecting them),
// pause, unpause, domain info, and the scheduler's weight and cap. It only marshals requests; the
// hypervisor decides everything.

import ApusCore
import GuestKit
import PVABI

struct DomainInfo {
    var id: UInt16
    var flags: UInt32
    var pages: UInt32
    var cpuTime: UInt64
    var name: [UInt8]
    var weight: UInt16
    var cap: UInt16
    var eventsSent: UInt32
    var eventsReceived: UInt32
    /// The console ring's out_prod when the domain first notified its console (the bytes before it
    /// were printed by the hypervisor from console_io).
    var consoleRingPrinted: UInt32 = 0

    var isShutdown: Bool { flags & DomainInfoFlags.shutdown != 0 }
    var shutdownReason: UInt32 { (flags >> DomainInfoFlags.shutdownShift) & DomainInfoFlags.shutdownMask }
    var isPaused: Bool { flags & DomainInfoFlags.paused != 0 }
    var isBlocked: Bool { flags & DomainInfoFlags.blocked != 0 }
}

/// What createdomain answered: the id (or a negative errno) and the domain's side of its rings.
struct CreatedDomain {
    var id: Int32
    /// The domain's unbound store and console ports (remote dom0); 0 when the hypervisor gave none.
    var storePort: UInt32 = 0
    var consolePort: UInt32 = 0
    var storeMFN: UInt32 = 0
    var consoleMFN: UInt32 = 0
}

enum Toolstack {
    /// One domctl: the header, the payload bytes, and the result with the struct as it came back.
    static func domctl(_ command: DomctlCommand, domain: UInt16, payload: [UInt8] = []) -> (Int32, [UInt8]) {
        var record = HypercallRecord(stride: DomctlLayout.size)
        record.set(command.rawValue, at: DomctlLayout.cmdOffset)
        record.set(DomctlVersion.apus, at: DomctlLayout.interfaceVersionOffset)
        record.set(domain, at: DomctlLayout.domainOffset)
        for (i, b) in payload.prefix(DomctlLayout.payloadSize).enumerated() { record.set(b, at: DomctlLayout.payloadOffset + i) }
        let rc = record.withAddress { xen.domctl($0) }
        return (rc, record.bytes)
    }

    /// Creates a domain from an ELF image in dom0's memory: its id or a negative errno, and its rings.
    /// `ramdisk`: the domain's initrd, also in dom0's memory (empty: none).
    static func create(image: UnsafeBufferPointer<UInt8>, memoryMiB: UInt32, name: [UInt8], commandLine: [UInt8],
                       weight: UInt16 = 256, cap: UInt16 = 0, paused: Bool = false,
                       ramdisk: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0)) -> CreatedDomain {
        var p = HypercallRecord(stride: CreateDomainLayout.size)
        return commandLine.withUnsafeBufferPointer { cmd in
            p.set(UInt32(UInt(bitPattern: ramdisk.baseAddress)), at: CreateDomainLayout.ramdiskVAOffset)
            p.set(UInt32(ramdisk.count), at: CreateDomainLayout.ramdiskLengthOffset)
            p.set(UInt32(UInt(bitPattern: image.baseAddress)), at: CreateDomainLayout.imageVAOffset)
            p.set(UInt32(image.count), at: CreateDomainLayout.imageLengthOffset)
            p.set(memoryMiB << 10, at: CreateDomainLayout.memoryKiBOffset)
            p.set(weight, at: CreateDomainLayout.weightOffset)
            p.set(cap, at: CreateDomainLayout.capOffset)
            for (i, b) in name.prefix(CreateDomainLayout.nameLength - 1).enumerated() { p.set(b, at: CreateDomainLayout.nameOffset + i) }
            p.set(cmd.count > 0 ? UInt32(UInt(bitPattern: cmd.baseAddress)) : 0, at: CreateDomainLayout.commandLineVAOffset)
            p.set(UInt32(cmd.count), at: CreateDomainLayout.commandLineLengthOffset)
            p.set(paused ? CreateDomainLayout.flagPaused : 0, at: CreateDomainLayout.flagsOffset)
            let (rc, out) = domctl(.createDomain, domain: 0, payload: p.bytes)
            guard rc == 0 else { return CreatedDomain(id: rc) }
            func u32(_ o: Int) -> UInt32 {
                let at = DomctlLayout.payloadOffset + o
                return UInt32(out[at]) | UInt32(out[at + 1]) << 8 | UInt32(out[at + 2]) << 16 | UInt32(out[at + 3]) << 24
            }
            return CreatedDomain(id: Int32(UInt16(out[DomctlLayout.domainOffset]) | UInt16(out[DomctlLayout.domainOffset + 1]) << 8),
                                 storePort: u32(CreateDomainLayout.storePortOffset),
                                 consolePort: u32(CreateDomainLayout.consolePortOffset),
                                 storeMFN: u32(CreateDomainLayout.storeMFNOffset),
                                 consoleMFN: u32(CreateDomainLayout.consoleMFNOffset))
        }
    }

    /// Disconnects the domain's rings (its last console lines are printed), then destroys it.
    /// Lifecycle looks before (a stop not yet seen is not lost) and after.
    static func destroy(_ id: UInt16) -> Int32 {
        Lifecycle.observe()
        Backends.detach(id)
        DomainIO.disconnect(id)
        let rc = domctl(.destroyDomain, domain: id).0
        Lifecycle.observe()
        return rc
    }
    static func pause(_ id: UInt16) -> Int32 { changed(domctl(.pauseDomain, domain: id).0) }
    static func unpause(_ id: UInt16) -> Int32 { changed(domctl(.unpauseDomain, domain: id).0) }

    /// Lets Lifecycle look after an action that may have changed a domain; passes `rc` on.
    static func changed(_ rc: Int32) -> Int32 {
        Lifecycle.observe()
        return rc
    }

    /// XEN_DOMCTL_max_vcpus: the domain gets `count` vCPUs (vCPU 0 runs; the others wait for VCPUOP_up).
    static func maxVCPUs(_ id: UInt16, _ count: UInt32) -> Int32 {
        var p = HypercallRecord(stride: XenMaxVCPUsLayout.size)
        p.set(count, at: XenMaxVCPUsLayout.maxOffset)
        return domctl(.maxVCPUs, domain: id, payload: p.bytes).0
    }

    /// Sets the credit scheduler's weight and cap of a domain (XEN_DOMCTL_scheduler_op, putinfo).
    static func setScheduling(_ id: UInt16, weight: UInt16, cap: UInt16) -> Int32 {
        var p = HypercallRecord(stride: DomctlSchedulerOpLayout.size)
        p.set(SchedulerID.credit, at: DomctlSchedulerOpLayout.schedIDOffset)
        p.set(DomctlSchedulerCommand.putInfo.rawValue, at: DomctlSchedulerOpLayout.cmdOffset)
        p.set(weight, at: DomctlSchedulerOpLayout.creditWeightOffset)
        p.set(cap, at: DomctlSchedulerOpLayout.creditCapOffset)
        return domctl(.schedulerOp, domain: id, payload: p.bytes).0
    }

    /// The first domain with an id at or above `from`.
    static func info(from: UInt16) -> DomainInfo? {
        let (rc, out) = domctl(.getDomainInfo, domain: from)
        guard rc == 0 else { return nil }
        let p = DomctlLayout.payloadOffset
        func u16(_ o: Int) -> UInt16 { UInt16(out[p + o]) | UInt16(out[p + o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
        let name = Array(out[(p + DomainInfoLayout.nameOffset)..<(p + DomainInfoLayout.nameOffset + 16)].prefix { $0 != 0 })
        return DomainInfo(id: u16(DomainInfoLayout.domainOffset), flags: u32(DomainInfoLayout.flagsOffset),
                          pages: u32(DomainInfoLayout.totalPagesOffset),
                          cpuTime: UInt64(u32(DomainInfoLayout.cpuTimeOffset)) | UInt64(u32(DomainInfoLayout.cpuTimeOffset + 4)) << 32,
                          name: name, weight: u16(DomainInfoLayout.weightOffset), cap: u16(DomainInfoLayout.capOffset),
                          eventsSent: u32(DomainInfoLayout.eventsSentOffset), eventsReceived: u32(DomainInfoLayout.eventsReceivedOffset),
                          consoleRingPrinted: u32(DomainInfoLayout.consoleRingPrintedOffset))
    }

    /// Exactly domain `id`, if it exists.
    static func info(_ id: UInt16) -> DomainInfo? {
        guard let i = info(from: id), i.id == id else { return nil }
        return i
    }

    static func all() -> [DomainInfo] {
        var result: [DomainInfo] = []
        var next: UInt16 = 0
        while let i = info(from: next) {
            result.append(i)
            if i.id == 0xFFFF { break }
            next = i.id + 1
        }
        return result
    }

    /// The id the next create will get (the lowest free one above dom0).
    static func nextID() -> UInt16 {
        var id: UInt16 = 1
        while info(id) != nil { id += 1 }
        return id
    }

    /// The initrd, as an archive of guest kernels and configurations.
    static var initrd: CpioArchive {
        let si = Kernel.startInfo
        return CpioArchive(UnsafeBufferPointer(start: UnsafePointer<UInt8>(bitPattern: UInt(si.modStart)), count: Int(si.modLen)))
    }

    /// Creates a domain from a configuration, libxl's way: built paused, its rings connected and its
    /// store tree written, then unpaused (unless `paused`). Its id, or a negative errno (reasons printed).
    /// The kernel is an upload kept in dom0's memory or a file in the initrd (Kernels.swift).
    static func create(_ config: DomainConfig, extraArguments: [UInt8] = [], paused: Bool = false) -> Int32 {
        let id = Kernels.withImage(named: config.kernel) { create(config, kernel: $0, extraArguments: extraArguments, paused: paused) }
        guard let id else {
            config.kernel.withUnsafeBufferPointer { console.print("create: no kernel '\(text: $0)' uploaded or in the initrd") }
            return -2
        }
        return id
    }

    private static func create(_ config: DomainConfig, kernel: UnsafeBufferPointer<UInt8>, extraArguments: [UInt8], paused: Bool) -> Int32 {
        var ramdisk = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        if !config.ramdisk.isEmpty {
            guard let file = initrd.entry(named: config.ramdisk) else {
                config.ramdisk.withUnsafeBufferPointer { console.print("create: no ramdisk '\(text: $0)' in the initrd") }
                return -2
            }
            ramdisk = file.data
        }
        var line = config.extra
        if !extraArguments.isEmpty {
            if !line.isEmpty { line.append(32) }
            line.append(contentsOf: extraArguments)
        }
        let created = create(image: kernel, memoryMiB: config.memoryMiB, name: config.name, commandLine: line,
                             weight: config.weight, cap: UInt16(config.cap), paused: true, ramdisk: ramdisk)
        guard created.id > 0 else { return created.id }
        // As libxl before 4.12 (and XEN_DOMCTL_max_vcpus since): the vCPUs, before the first unpause.
        if config.vcpus > 1 {
            let rc = maxVCPUs(UInt16(created.id), config.vcpus)
            guard rc == 0 else {
                console.print("create: max_vcpus \(config.vcpus) refused (\(rc))")
                _ = destroy(UInt16(created.id))
                return rc
            }
        }
        if let rc = DevicePermissions.passThrough(config, to: UInt16(created.id)) {
            _ = destroy(UInt16(created.id))
            return rc
        }
        DomainIO.connect(created, config)
        // Unpaused before Lifecycle looks: the new domain is one `created` event, not two.
        if !paused { _ = domctl(.unpauseDomain, domain: UInt16(created.id)) }
        return changed(created.id)
    }

    /// Reads and parses a configuration file from the initrd.
    static func config(named name: [UInt8]) -> DomainConfig? {
        guard let file = initrd.entry(named: name) else {
            name.withUnsafeBufferPointer { console.print("no configuration file '\(text: $0)' in the initrd") }
            return nil
        }
        do throws(ConfigError) {
            return try DomainConfig(parsing: file.data)
        } catch {
            let message = error.message
            _ = name.withUnsafeBufferPointer { n in message.withUnsafeBufferPointer { console.print("\(text: n): \(text: $0)") } }
            return nil
        }
    }
}

extension Toolstack {
    /// sysctl with Apus's payloads: the raw 128-byte struct after the call, and the result.
    static func sysctl(_ command: SysctlCommand, fill: (inout [UInt8]) -> Void = { _ in }) -> (Int32, [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: SysctlLayout.size)
        func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { buffer[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) } }
        put32(SysctlLayout.cmdOffset, command.rawValue)
        put32(SysctlLayout.interfaceVersionOffset, DomctlVersion.apus)
        fill(&buffer)
        let rc = buffer.withUnsafeMutableBufferPointer { xen.sysctl(UInt32(UInt(bitPattern: $0.baseAddress))) }
        return (rc, buffer)
    }

    /// Free machine frames, from the hypervisor (physinfo).
    static func freePages() -> UInt32 {
        let (_, out) = sysctl(.physInfo)
        let o = SysctlLayout.freePagesOffset
        return UInt32(out[o]) | UInt32(out[o + 1]) << 8 | UInt32(out[o + 2]) << 16 | UInt32(out[o + 3]) << 24
    }

    /// All machine frames, from the hypervisor (physinfo).
    static func totalPages() -> UInt32 {
        let (_, out) = sysctl(.physInfo)
        let o = SysctlLayout.totalPagesOffset
        return UInt32(out[o]) | UInt32(out[o + 1]) << 8 | UInt32(out[o + 2]) << 16 | UInt32(out[o + 3]) << 24
    }
}
