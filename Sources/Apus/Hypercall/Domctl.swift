// Domctl.swift: domctl (36), dom0's control of other domains, acted on: create from an ELF image dom0
// hands over (built by the same DomainBuilder as dom0), destroy, pause, unpause, getdomaininfo, max_mem
// and the credit scheduler's weight and cap. The table checks dom0-only before this runs; ApusCore's
// DomctlRequest decodes the whole payload first; this file only acts, on the ranges it was given.

import ApusCore
import PVABI

enum DomctlHypercall {
    static func run(_ a: HypercallArguments, _ caller: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let request: DomctlRequest
        switch DomctlRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(let r): request = r
        }
        func existing(_ target: UInt16) -> Domain? { target == 0 ? nil : Domains.byID(target) }
        let unwritable = HypercallOutcome.refused(.EFAULT, "xen_domctl is not writable guest memory")
        switch request {
        case .createDomain(let arguments):
            return create(arguments, &memory)
        case .destroyDomain(let target):
            guard let d = existing(target) else { return .refused(.ESRCH, "no such domain (dom0 cannot be destroyed from itself)") }
            Log.info("d\(d.id) destroyed by dom0")
            DomainLife.destroy(d)
            return .ok
        case .pauseDomain(let target):
            guard let d = existing(target) else { return .refused(.ESRCH, "no such domain") }
            d.paused = true
            Scheduler.pause(d)
            return .ok
        case .unpauseDomain(let target):
            guard let d = existing(target) else { return .refused(.ESRCH, "no such domain") }
            d.paused = false
            d.hasRun = true
            // As Xen's unpause (vcpu_wake, then a tickle): its vCPUs, boosted, may take the CPU from
            // dom0 on the way back, as a vCPU woken by an event does.
            Scheduler.unpause(d)
            return .ok
        case .maxVCPUs(let target, let count):
            guard let d = existing(target) else { return .refused(.ESRCH, "no such domain") }
            if let refusal = VcpuLimits.maxVCPUsRefusal(requested: count, current: d.vcpus.count, hasRun: d.hasRun) { return refusal.outcome }
            d.setVCPUCount(Int(count))
            Events.change { $0.setVCPUCount(d.id, vcpus: count) }
            Log.info("d\(d.id): \(count) vCPUs (max_vcpus)")
            return .ok
        case .getDomainInfo(let from, let out, let xenDomainOut):
            guard let d = Domains.first(atOrAbove: from) else {
                return .answer(.ESRCH)          // the end of a walk over all domains
            }
            if let echo = xenDomainOut {
                return memory.write(xenInfo(d), to: out) && memory.write16(d.id, to: echo) ? .ok : unwritable
            }
            return memory.write(info(d), to: out) ? .ok : unwritable
        case .maxMem(let target):
            guard existing(target) != nil || target == 0 else { return .refused(.ESRCH, "no such domain") }
            return .ok          // memory is fixed at creation; the limit is what it holds
        case .putSchedulerInfo(let target, let weight, let cap):
            guard let d = Domains.byID(target) else { return .refused(.ESRCH, "no such domain") }
            d.weight = weight
            d.cap = cap
            Scheduler.setParameters(d)
            return .ok
        case .getSchedulerInfo(let target, let weightOut, let capOut):
            guard let d = Domains.byID(target) else { return .refused(.ESRCH, "no such domain") }
            return memory.write16(d.weight, to: weightOut) && memory.write16(d.cap, to: capOut) ? .ok : unwritable
        case .ioportPermission(let target, let ports, let allow):
            guard let d = Domains.byID(target) else { return .refused(.ESRCH, "no such domain") }
            if let r = DeviceAccess.pass(ports, allow: allow, caller: caller.devices.ports, target: &d.devices.ports) { return r.outcome }
            Log.info("d\(d.id): ports \(hex: UInt32(ports.first))-\(hex: UInt32(ports.last)) \(allow ? StaticString("given") : StaticString("taken away")) by d\(caller.id)")
            return .ok
        case .iomemPermission(let target, let frames, let allow):
            guard let d = Domains.byID(target) else { return .refused(.ESRCH, "no such domain") }
            let before = d.devices.frames
            if let r = DeviceAccess.pass(frames, allow: allow, caller: caller.devices.frames, target: &d.devices.frames) { return r.outcome }
            // The paging core's copy, which decides every device-memory entry, has room for fewer ranges.
            guard let set = DeviceFrameSet(d.devices.frames) else {
                d.devices.frames = before
                return .refused(.ENOMEM, "iomem_permission: the domain holds as many separate device-memory ranges as it may (8)")
            }
            d.memory.deviceFrames = set
            Log.info("d\(d.id): device frames \(hex: frames.first)-\(hex: frames.last) \(allow ? StaticString("given") : StaticString("taken away")) by d\(caller.id)")
            return .ok
        case .irqPermission(let target, let pirq, let allow):
            guard let d = Domains.byID(target) else { return .refused(.ESRCH, "no such domain") }
            guard let line = DeviceAccess.line(ofPirq: pirq), let lines = ResourceRange<UInt8>(first: line, last: line) else {
                return .refused(.EINVAL, "irq_permission: no such pirq of the caller")
            }
            if let r = DeviceAccess.pass(lines, allow: allow, caller: caller.devices.lines, target: &d.devices.lines) { return r.outcome }
            Log.info("d\(d.id): interrupt line \(line) \(allow ? StaticString("given") : StaticString("taken away")) by d\(caller.id)")
            return .ok
        }
    }

    static func create(_ c: CreateDomainArguments, _ memory: inout RunningGuestMemory) -> HypercallOutcome {
        guard let id = Domains.freeID() else { return .refused(.ENOSPC, "the domain table is full") }
        guard let commandLine = memory.readArray(c.commandLine) else {
            return .refused(.EFAULT, "the command line is not readable guest memory")
        }
        // The image is copied into the heap: refuse before it could run out (an allocation failure
        // would stop the hypervisor), leaving the domain's own reserve.
        guard apus_heap_size() - apus_heap_in_use() >= c.image.count + DomainBuild.heapReserve else {
            return .refused(.ENOMEM, "the hypervisor's heap has no room for the kernel image")
        }
        // The image is copied out of dom0 first: the builder never reads a guest mapping. The heap
        // may hold enough bytes in all but not in one piece: that is a refusal, never a null buffer.
        guard let buffer = apus_try_allocate(c.image.count, 16) else {
            return .refused(.ENOMEM, "the hypervisor's heap has no single free block as large as the kernel image")
        }
        defer { buffer.deallocate() }
        guard memory.copyIn(c.image, to: buffer) else { return .refused(.EFAULT, "the kernel image is not readable guest memory") }
        guard let nameField: GuestBytes<16> = memory.read(c.name) else { return .refused(.EFAULT, "xen_domctl is not readable guest memory") }
        let name = nameField.withBytes { Array($0.prefix { $0 != 0 }) }
        let request = DomainRequest(id: id, privileged: false, image: UnsafeRawBufferPointer(start: buffer, count: Int(c.image.count)),
                                    memoryBytes: UInt64(c.memoryKiB) << 10, commandLine: commandLine, initrd: nil,
                                    initrdReserved: c.ramdisk?.count ?? 0,
                                    name: name, weight: c.weight, cap: c.cap, paused: c.paused)
        // Building switches nothing, but it maps frames through the mapcache: keep dom0's CR3.
        let heapBefore = apus_heap_in_use()
        // The ramdisk goes from dom0's memory straight into the new domain's frames, a page at a time.
        let built = DomainBuild.build(request) { frames in
            guard let ramdisk = c.ramdisk else { return nil }
            for (i, mfn) in frames.enumerated() {
                let offset = UInt32(i) << 12
                guard let piece = ramdisk.slice(at: offset, count: min(0x1000, ramdisk.count - offset)) else { break }
                guard let window = Mapcache.map(frame: UInt64(mfn)) else { Panic.halt("mapcache exhausted while copying a ramdisk") }
                let copied = memory.copyIn(piece, to: UnsafeMutableRawPointer(bitPattern: UInt(window))!)
                Mapcache.unmap(window)
                guard copied else { return Refusal(.EFAULT, "the ramdisk is not readable guest memory") }
            }
            return nil
        }
        TestHooks.domainBuilt(heapBefore: heapBefore)
        switch built {
        case .failure(let r): return r.outcome
        case .success(let d):
            var rings = GuestBytes<16>(count: 16)
            rings.set32(CreateDomainLayout.storePortOffset - CreateDomainLayout.storePortOffset, d.storePort)
            rings.set32(CreateDomainLayout.consolePortOffset - CreateDomainLayout.storePortOffset, d.consolePort)
            rings.set32(CreateDomainLayout.storeMFNOffset - CreateDomainLayout.storePortOffset, d.storeMFN)
            rings.set32(CreateDomainLayout.consoleMFNOffset - CreateDomainLayout.storePortOffset, d.consoleMFN)
            guard memory.write16(d.id, to: c.domainOut), memory.write(rings, to: c.ringsOut) else {
                DomainLife.destroy(d)
                return .refused(.EFAULT, "xen_domctl is not writable guest memory")
            }
            return .ok
        }
    }

    /// xen_domctl_getdomaininfo as Xen 4.17 fills it for a PV domain with one vCPU.
    static func xenInfo(_ d: Domain) -> GuestBytes<112> {
        var b = GuestBytes<112>(count: XenDomainInfoLayout.size)
        b.set16(XenDomainInfoLayout.domainOffset, d.id)
        b.set32(XenDomainInfoLayout.flagsOffset, flags(d))
        b.set64(XenDomainInfoLayout.totalPagesOffset, UInt64(d.frames.count))
        b.set64(XenDomainInfoLayout.maxPagesOffset, UInt64(d.frames.count))
        b.set64(XenDomainInfoLayout.sharedInfoFrameOffset, UInt64(d.sharedInfoMFN))
        b.set64(XenDomainInfoLayout.cpuTimeOffset, d.cpuTime)
        b.set32(XenDomainInfoLayout.onlineVCPUsOffset, d.isAlive ? UInt32(d.onlineVCPUs) : 0)
        b.set32(XenDomainInfoLayout.maxVCPUIDOffset, UInt32(d.vcpus.count - 1))
        b.set8(XenDomainInfoLayout.gpaddrBitsOffset, 36)       // PAE: 36-bit guest-physical addresses
        return b
    }

    static func flags(_ d: Domain) -> UInt32 {
        var flags: UInt32 = 0
        switch d.state {
        case .running:
            if Domains.isRunning(d) { flags |= DomainInfoFlags.running } else if d.allBlocked { flags |= DomainInfoFlags.blocked }
        case .blocked: flags |= DomainInfoFlags.blocked
        case .shutdown(let reason): flags |= DomainInfoFlags.shutdown | reason.rawValue << DomainInfoFlags.shutdownShift
        case .crashed: flags |= DomainInfoFlags.shutdown | ShutdownReason.crash.rawValue << DomainInfoFlags.shutdownShift
        case .dead: flags |= DomainInfoFlags.dying
        }
        if d.paused { flags |= DomainInfoFlags.paused }
        return flags
    }

    static func info(_ d: Domain) -> GuestBytes<128> {
        var b = GuestBytes<128>(count: DomainInfoLayout.size)
        let flags = flags(d)
        b.set16(DomainInfoLayout.domainOffset, d.id)
        b.set32(DomainInfoLayout.flagsOffset, flags)
        b.set64(DomainInfoLayout.totalPagesOffset, UInt64(d.frames.count))
        b.set64(DomainInfoLayout.maxPagesOffset, UInt64(d.frames.count))
        b.set64(DomainInfoLayout.sharedInfoFrameOffset, UInt64(d.sharedInfoMFN))
        b.set64(DomainInfoLayout.cpuTimeOffset, d.cpuTime)
        b.set32(DomainInfoLayout.onlineVCPUsOffset, d.isAlive ? UInt32(d.onlineVCPUs) : 0)
        for i in 0..<16 { b.set8(DomainInfoLayout.nameOffset + i, d.name[i]) }
        b.set16(DomainInfoLayout.weightOffset, d.weight)
        b.set16(DomainInfoLayout.capOffset, d.cap)
        b.set32(DomainInfoLayout.eventsSentOffset, d.eventsSent)
        b.set32(DomainInfoLayout.eventsReceivedOffset, d.eventsReceived)
        b.set32(DomainInfoLayout.consoleRingPrintedOffset, d.consoleRingPrinted)
        return b
    }
}
