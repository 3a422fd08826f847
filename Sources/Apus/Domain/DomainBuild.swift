// DomainBuild.swift: makes a domain, dom0 at boot or a domU for dom0's domctl, with ApusCore's
// DomainBuilder: frames allocated already zeroed, the image laid out as Xen's pv32pae protocol
// says, the initial tables validated by the paging core, M2P and hardware PDPT filled, event
// channels and scheduler entry added. A refused image leaves nothing behind.

import ApusCore
import PVABI

struct DomainRequest {
    var id: UInt16
    var privileged: Bool
    var image: UnsafeRawBufferPointer
    var memoryBytes: UInt64
    var commandLine: [UInt8] = []
    var initrd: UnsafeRawBufferPointer? = nil
    /// Without `initrd`: the length of a ramdisk the caller copies in itself (`fillInitrd`).
    var initrdReserved: UInt32 = 0
    var name: [UInt8] = []
    var weight: UInt16 = 256
    var cap: UInt16 = 0
    var paused = false
}

enum DomainBuild {
    /// Heap a domain needs (about 8 KiB) with room to spare for the hypercalls that follow.
    static let heapReserve: UInt32 = 256 * 1024

    /// `fillInitrd` gets the machine frames of the reserved initrd's pages, in order, once the image
    /// is laid out and before the tables are adopted; false (with its refusal) abandons the domain.
    static func build(_ r: DomainRequest, fillInitrd: ([UInt32]) -> Refusal? = { _ in nil }) -> Result<Domain, Refusal> {
        guard let slots = sharedHypervisorSlots() else { Panic.halt("the hypervisor's L2 slots are not 84 entries") }
        let pages = UInt32(r.memoryBytes >> 12)
        guard pages >= 256 else { return .failure(Refusal(.EINVAL, "a domain needs at least 1 MiB of memory")) }
        guard pages <= Machine.frames.freeCount else { return .failure(Refusal(.ENOMEM, "not enough free memory for the domain")) }
        // The hypervisor's own bookkeeping for a domain comes from its heap: refuse before it
        // runs out (an allocation failure would stop the hypervisor), never after.
        guard apus_heap_size() - apus_heap_in_use() >= DomainBuild.heapReserve else {
            return .failure(Refusal(.ENOMEM, "the hypervisor's heap has no room for another domain"))
        }
        Machine.frames.hypervisorSlots = slots   // the same for every domain: the latest hypervisor L2
        let d = Domain(id: r.id, privileged: r.privileged)
        d.freeFramesBefore = Machine.frames.freeCount
        WallTime.atBoot.publish(toSharedInfo: d.sharedInfo)
        SystemTime.publish(d)
        for (i, b) in r.name.prefix(15).enumerated() { d.name[i] = b }
        d.weight = r.weight
        d.cap = r.cap
        d.paused = r.paused
        d.hasRun = !r.paused
        // Frames come zeroed: scrubbed while the CPU was idle, or here on demand by the allocator.
        let zeroedBefore = Machine.frames.zeroedOnDemand
        var frames: [UInt32] = []
        let complete = Machine.frames.allocate(Int(pages), for: .domain(r.id), memory: &Machine.memory, into: &frames)
        d.frames = FrameExtents(frames)
        guard complete else {
            abandon(d)
            return .failure(Refusal(.ENOMEM, "not enough free memory for the domain"))
        }
        // Event channels first: a domU's start_info names its store and console ports, unbound
        // and waiting for dom0's xenstored and console backend to bind them.
        _ = Events.change { $0.addDomain(r.id, privileged: r.privileged, portLimit: r.privileged ? EventChannelTable.privilegedPorts : EventChannelTable.unprivilegedPorts,
                                         pirqs: UInt32(DeviceAccess.lineCount)) }
        if !r.privileged {
            guard let store = try? Events.change({ (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.allocUnbound(caller: r.id, domain: r.id, remote: 0) }),
                  let console = try? Events.change({ (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.allocUnbound(caller: r.id, domain: r.id, remote: 0) }) else {
                abandon(d)
                return .failure(Refusal(.ENOSPC, "no event channel for the domain's store and console"))
            }
            d.storePort = store
            d.consolePort = console
        }
        var parameters = BuildParameters(domainID: r.id, privileged: r.privileged, frames: frames, sharedInfoMFN: d.sharedInfoMFN,
                                         commandLine: r.commandLine, initrd: r.initrd,
                                         needsStoreAndConsolePages: !r.privileged,
                                         storeEvtchn: d.storePort, consoleEvtchn: d.consolePort,
                                         hypervisorL2Entries: slots.entries)
        parameters.initrdReserved = r.initrdReserved
        parameters.framesAreZero = true
        var memory = Machine.memory
        switch DomainBuilder.build(image: r.image, parameters: parameters, memory: &memory) {
        case .refused(let error):
            Log.info("d\(r.id): the kernel was refused: \(error.reason)")
            abandon(d)
            return .failure(Refusal(.EINVAL, error.reason))
        case .built(let built):
            if r.initrd == nil, let start = built.initrdVirtual {
                let first = Int(built.layout.pfn(start))
                let count = Int((built.initrdLength + 0xFFF) >> 12)
                if let refusal = fillInitrd(Array(frames[first..<(first + count)])) {
                    Log.info("d\(r.id): its ramdisk could not be copied: \(refusal.reason)")
                    abandon(d)
                    return .failure(refusal)
                }
            }
            for (pfn, mfn) in frames.enumerated() { MachineToPhysicalTable.set(mfn, to: UInt32(pfn)) }
            // The built base is vCPU 0's (the one current while the domain is built).
            if let refusal = Machine.frames.adoptInitialBase(built.l3MFN, state: &d.memory, memory: &Machine.memory) {
                Log.info("d\(r.id): its initial page tables do not validate: \(refusal.reason)")
                abandon(d)
                return .failure(Refusal(.EINVAL, refusal.reason))
            }
            if let pfn = built.storePFN { d.storeMFN = frames[Int(pfn)] }
            if let pfn = built.consolePFN { d.consoleMFN = frames[Int(pfn)] }
            guard Grants.addDomain(d, consoleMFN: built.consolePFN == nil ? nil : d.consoleMFN,
                                   storeMFN: built.storePFN == nil ? nil : d.storeMFN) else {
                _ = Machine.frames.teardown(state: &d.memory, frames: d.frames, memory: &Machine.memory)
                abandon(d)
                return .failure(Refusal(.ENOMEM, "no frame for the domain's grant table"))
            }
            AddressSpaces.loadPDPT(d, d.vcpus[0])
            var f = TrapFrame()
            f.eip = built.entry
            f.cs = UInt32(Selector.flatRing1CS)
            f.eflags = 0x202
            f.esp = built.stackTop
            f.ss = UInt32(Selector.flatRing1SS)
            f.ds = UInt32(Selector.flatRing1DS); f.es = f.ds; f.fs = f.ds; f.gs = f.ds
            f.esi = built.startInfoVirtual
            d.vcpu.saved = f
            d.vcpu.initialised = true
            d.vcpu.runState = .runnable
            Log.info("d\(r.id): \(pages) pages (\(mib: UInt64(pages) << 12)), entry \(hex8: built.entry), start_info \(hex8: built.startInfoVirtual), \(built.nrPtFrames) page-table frames, mapping ends at \(hex8: built.mappedEnd)\(onDemand: Machine.frames.zeroedOnDemand &- zeroedBefore)")
        }
        Domains.insert(d)
        DebugLayout.measure(d)
        Scheduler.add(d)
        return .success(d)
    }

    /// A domain that never ran: its frames go straight back.
    static func abandon(_ d: Domain) {
        Grants.destroyDomain(d.id)
        Events.change { $0.removeDomain(d.id) }
        for mfn in d.frames { _ = Machine.frames.release(mfn, from: .domain(d.id)) }
        d.frames = []
        d.releaseHypervisorMemory()
    }

    /// The hypervisor's L2 slots as they are now, in one array every domain built with the same
    /// entries shares (84 entries, 704 bytes of heap, once instead of per domain).
    static var lastSlots: HypervisorL2Slots? = nil
    static func sharedHypervisorSlots() -> HypervisorL2Slots? {
        let entries = hypervisorL2Entries()
        if let last = lastSlots, last.entries == entries { return last }
        lastSlots = HypervisorL2Slots(entries)
        return lastSlots
    }

    /// The hypervisor's L2 entries 428-511 (M2P, frame table, image, mapcache), shared by all.
    static func hypervisorL2Entries() -> [UInt64] {
        var entries: [UInt64] = []
        for slot in AddressMap.firstHypervisorL2Slot..<512 { entries.append(HypervisorPaging.l2[slot]) }
        return entries
    }

    /// Zeroes a frame the hypervisor took with `allocate(for: .hypervisor)` (contents unspecified).
    static func scrub(_ mfn: UInt32) {
        apus_zero_page(UnsafeMutableRawPointer(bitPattern: UInt(FrameWindows.window(for: mfn)))!)
    }
}

extension LogLine.Interpolation {
    /// "; N frames zeroed on demand" when the build had to zero frames idle scrubbing had not
    /// reached, nothing otherwise (the usual case keeps the line as it was).
    mutating func appendInterpolation(onDemand frames: UInt32) {
        guard frames > 0 else { return }
        line.append("; ")
        line.append(decimal: UInt64(frames))
        line.append(" frames zeroed on demand")
    }
}
