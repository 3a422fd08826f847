// Domain.swift: one domain and its vCPUs as the hypervisor keeps them: identity, state, memory (the
// P2M), each vCPU's registers, virtual trap table, callbacks, kernel stack for traps from ring 3,
// vcpu_info, timer and run state, and each vCPU's own address space (guest L3 and the hardware PDPT
// copy) and descriptor tables (GDT, LDT), as Xen's per-vCPU guest_table and gdt_frames. It holds state
// only; the rules for changing it live in the hypercall handlers and ApusCore.

import ApusCore
import PVABI

/// Where a domain is in its life.
enum DomainState: Equatable {
    case running
    case blocked
    case shutdown(ShutdownReason)
    case crashed
    /// Torn down; its id can be reused once dom0 has seen it go.
    case dead
}

/// A guest entry point the hypervisor calls (event upcall, failsafe, ...).
struct GuestCallback {
    var cs: UInt32 = 0
    var eip: UInt32 = 0
    var isSet: Bool { eip != 0 }
}

/// Where a vCPU is in the scheduler's sense (the domain's life is Domain.state).
enum VCPURunState: Equatable {
    /// Not brought up (never initialised, or VCPUOP_down): never scheduled.
    case down
    case runnable
    /// Waiting for an event (SCHEDOP_block, poll).
    case blocked
}

final class VCPU {
    /// Its number in the domain (0 ..< Domain.vcpus.count).
    let id: UInt32
    /// down until the builder starts vCPU 0 or VCPUOP_up starts another.
    var runState = VCPURunState.down
    /// Given a context (the builder for vCPU 0, VCPUOP_initialise for the others).
    var initialised = false
    /// Its vcpu_info: slot `id` of shared_info, or the guest page it moved it to (register_vcpu_info).
    var info: UnsafeMutableRawPointer
    /// The guest frame its vcpu_info moved to (a writable type reference held), nil while in shared_info.
    var placedFrame: UInt32? = nil
    /// The next VIRQ_TIMER deadline in system-time nanoseconds (0: none), and the periodic timer's
    /// period (0: none; its next expiry is then the deadline's companion `periodicNext`).
    var timerDeadline: UInt64 = 0 { didSet { if timerDeadline != 0 { Timers.armed(timerDeadline) } } }
    var periodNs: UInt64 = 0
    var periodicNext: UInt64 = 0 { didSet { if periodicNext != 0 { Timers.armed(periodicNext) } } }
    /// Nanoseconds of CPU time this vCPU used.
    var cpuTime: UInt64 = 0
    /// Version counter of its vcpu_time_info record.
    var timeVersion: UInt32 = 0
    /// Its credit-scheduler entity: vCPU 0's is the domain id (set by Domain.init); the others get one
    /// from Scheduler's pool at their first up (VcpuEntityPool), noEntity until then.
    var entity: UInt16 = VCPU.noEntity
    static let noEntity: UInt16 = 0xFFFF
    /// Its FXSAVE area (vCPUs above 0; vCPU 0 uses its domain's area in Boot/cpu.asm's table).
    var fpuArea: UnsafeMutableRawPointer? = nil

    /// Its top-level table as the guest sees it (its CR3: the builder for vCPU 0, VCPUOP_initialise,
    /// NEW_BASEPTR; kept equal to the paging core's base for it by AddressSpaces) and the PDPT the CPU
    /// uses while it runs (a `var` so that DebugLayout can take its address; never reassigned).
    var l3MFN: UInt32 = 0
    var hardwarePDPT: HardwarePDPT
    var hardwarePDPTPhysical: UInt32 { hardwarePDPT.physical }
    /// Its GDT frames (set_gdt, or VCPUOP_initialise's gdt_frames) and how many entries it uses.
    var gdtFrames: [UInt32] = []
    var gdtEntries: Int = 0
    /// The frames behind its LDT (mmuext SET_LDT), typed as descriptor frames while loaded.
    var ldtFrames: [UInt32] = []

    init(id: UInt32, info: UnsafeMutableRawPointer) {
        self.id = id
        self.info = info
        hardwarePDPT = HardwarePDPT.allocate()
    }

    /// The guest's registers while it is not on the CPU.
    var saved = TrapFrame()

    /// Keeps `frame` (the guest frame of a domain leaving the CPU) as `saved`, with the unrolled copy.
    @inline(__always)
    func save(from frame: UnsafePointer<TrapFrame>) {
        withUnsafeMutablePointer(to: &saved) { copyFrame($0, frame) }
    }

    /// Puts `saved` into `frame` (the guest frame the next return to a guest enters), likewise.
    @inline(__always)
    func restore(into frame: UnsafeMutablePointer<TrapFrame>) {
        withUnsafeMutablePointer(to: &saved) { copyFrame(frame, $0) }
    }
    /// The guest's virtual IDT (set_trap_table): one PVABI TrapInfo per vector.
    var trapTable = InlineArray<256, TrapInfo>(repeating: TrapInfo.empty(vector: 0))
    var eventCallback = GuestCallback()
    var failsafeCallback = GuestCallback()
    var syscallCallback = GuestCallback()
    var sysenterCallback = GuestCallback()
    var nmiCallback = GuestCallback()
    /// The guest kernel stack for traps from ring 3 (stack_switch), like TSS.ss1/esp1.
    var kernelSS: UInt32 = 0
    var kernelESP: UInt32 = 0
    /// How `int 0x80` from ring 3 reaches the guest kernel: its own trap gate or the bounce
    /// (SystemCallGate decides it from the trap table and descriptor tables), and changes logged.
    var systemCallRoute = DirectTrapRoute.bounce(.noHandler)
    var systemCallRouteLogs: UInt8 = 0
    /// CR0.TS as the guest believes it (fpu_taskswitch).
    var taskSwitched = false
    /// Its FXSAVE area holds its own registers (false until its first FPU use: it starts from the reset state).
    var fpuUsed = false
    /// Nanoseconds of system time spent in each runstate, and when the current one began.
    var runstateTime = InlineArray<4, UInt64>(repeating: 0)
    var runstateEntry: UInt64 = 0
    /// Where the guest asked its vcpu_runstate_info to be kept (register_runstate_memory_area).
    var runstateArea: GuestRange? = nil
    /// CR4 as the guest last wrote it (emulated mov to CR4); nil until it writes one.
    var guestCR4: UInt32? = nil
    /// The debug registers as the guest set them (set_debugreg): DR0-DR3, DR6, DR7 (Xen's start values).
    var debugAddresses = InlineArray<4, UInt32>(repeating: 0)
    var debugStatus: UInt32 = DebugRegisterBits.dr6Default
    var debugControl: UInt32 = DebugRegisterBits.dr7Default
    /// The virtual IOPL (physdev_op set_iopl, 0-3) and the guest's I/O bitmap (set_iobitmap), which
    /// Xen consults before it emulates a port access.
    var iopl: UInt32 = 0
    var ioBitmap: GuestRange? = nil
    var ioBitmapPorts: UInt32 = 0
    /// Where the guest asked for a second copy of its vcpu_time_info (register_vcpu_time_memory_area).
    var timeArea: GuestRange? = nil
    /// CPUID faulting as the guest turned it on (MISC_FEATURES_ENABLES bit 0): its ring-3 cpuid is a #GP.
    var cpuidFaulting = false
}

final class Domain {
    let id: UInt16
    let privileged: Bool
    var state: DomainState = .running
    /// pfn -> mfn: every machine frame the domain owns, in pseudo-physical order (as runs).
    var frames: FrameExtents = []
    /// shared_info: a hypervisor page (direct-mapped) the guest may map.
    var sharedInfo: UnsafeMutableRawPointer
    var sharedInfoMFN: UInt32
    /// The vCPU on the CPU, or the last one that was (the trap and hypercall paths act for it).
    var vcpu: VCPU
    /// vm_assist bits the guest turned on.
    var vmAssist: UInt32 = 0
    /// Segments the 4gb_segments assist flipped for it (FourGBSegmentFixups).
    var fourGBFixups: UInt32 = 0
    /// The frame the guest registered for its pirq EOI bits (physdev_op pirq_eoi_gmfn); 0: none.
    var pirqEOIMapMFN: UInt32 = 0
    /// The ports, device-memory frames and interrupt lines it may reach: dom0 all but the
    /// hypervisor's, a domU what dom0 passed on with domctl ioport/iomem/irq_permission.
    var devices: DeviceAccess
    /// The physical IRQs mapped for it (physdev_op map_pirq): it may bind these to event channels.
    var pirqs = PirqMapping()
    /// Port accesses refused so far: the first few are logged, so a kernel probing for legacy
    /// devices does not flood the log.
    var portRefusals: UInt32 = 0
    /// Emulated privileged instructions refused (MSRs, debug registers): the first few are logged.
    var privilegedRefusals: UInt32 = 0
    /// Hypercall numbers (0-63) whose "not offered" answer has been logged once already.
    var unofferedLogged: UInt64 = 0
    /// Paging state the direct-paging core keeps for the domain (each vCPU's base L3 and LDT, pins, extras).
    var memory: DomainMemoryState
    /// Free frames before the domain's memory was allocated, to show teardown gives it all back.
    var freeFramesBefore: UInt32 = 0
    /// A name for people (dom0's toolstack sets it from the config), NUL-padded.
    var name = InlineArray<16, UInt8>(repeating: 0)
    /// Paused by dom0: not scheduled, whatever its state.
    var paused = false
    /// Nanoseconds of CPU time used (all its vCPUs), events sent and received, for getdomaininfo and `top`.
    var cpuTime: UInt64 = 0
    var eventsSent: UInt32 = 0
    /// Its event-channel records as EVTCHNOP_send reads them: refreshed by Events.change after every
    /// change of the system, and when the domain joins the id table.
    var eventPorts = EventPortView.absent
    var eventsReceived: UInt32 = 0
    /// Scheduler parameters as set at creation or with scheduler_op.
    var weight: UInt16 = 256
    var cap: UInt16 = 0
    /// Refusals logged so far (the log stays readable when a guest keeps hammering).
    var refusalsLogged: UInt32 = 0
    /// A domU's xenstore and console rings: its side of each event channel (unbound, for dom0 to
    /// bind) and each page's machine frame (granted to dom0 through the reserved grant refs).
    var storePort: UInt32 = 0
    var consolePort: UInt32 = 0
    var storeMFN: UInt32 = 0
    var consoleMFN: UInt32 = 0
    /// The domU notified its console channel: its console is the ring from then on (relayed by
    /// dom0's backend), and its console_io writes are accepted without being printed twice.
    var consoleRingInUse = false
    /// The ring's out_prod at that first notification: the bytes before it were printed from console_io.
    var consoleRingPrinted: UInt32 = 0
    /// Its FIFO event-channel state once it switched ABI (EVTCHNOP_init_control); nil on the 2-level ABI.
    var fifo: FifoEventChannels? = nil
    /// Every vCPU it has (domctl max_vcpus sets how many: 1 ... VcpuLimits.maxVCPUs), vCPU 0 first.
    var vcpus: [VCPU]
    /// Whether it has ever been unpaused (max_vcpus is refused from then on).
    var hasRun = false

    init(id: UInt16, privileged: Bool) {
        self.id = id
        self.privileged = privileged
        devices = privileged ? .dom0 : DeviceAccess()
        let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        sharedInfo = page
        vcpuInfo = page.advanced(by: SharedInfo.vcpuInfoOffset)
        vcpu = VCPU(id: 0, info: page.advanced(by: SharedInfo.vcpuInfoOffset))
        vcpu.entity = id
        vcpus = [vcpu]
        sharedInfoMFN = (UInt32(UInt(bitPattern: page)) - AddressMap.directMapStart) >> 12
        var extras = MappableExtras()
        _ = extras.add(sharedInfoMFN)
        memory = DomainMemoryState(id: id, extras: extras)
        memory.deviceFrames = DeviceFrameSet(devices.frames) ?? DeviceFrameSet()
        // Events masked until the guest says otherwise (every vCPU's, as Xen's alloc_vcpu).
        for slot in 0..<SharedInfoLimits.legacyMaxVCPUs {
            page.storeBytes(of: 1, toByteOffset: SharedInfo.vcpuInfoOffset(vcpu: slot) + VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self)
        }
    }

    /// Gives the domain `count` vCPUs (domctl max_vcpus, before it first runs): the new ones down.
    func setVCPUCount(_ count: Int) {
        while vcpus.count < count {
            let n = vcpus.count
            let v = VCPU(id: UInt32(n), info: sharedInfo.advanced(by: SharedInfo.vcpuInfoOffset(vcpu: n)))
            let area = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
            area.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
            v.fpuArea = area
            vcpus.append(v)
        }
    }

    /// Makes `v` (one of `vcpus`) the vCPU the trap and hypercall paths act for: its vcpu_info, and
    /// its base and LDT in the paging core's state.
    @inline(__always)
    func makeCurrent(_ v: VCPU) {
        vcpu = v
        vcpuInfo = v.info
        memory.makeCurrent(vcpu: Int(v.id))
    }

    /// Runs `body` with `v` current (a decision about another vCPU's own state, such as its int 0x80
    /// route), then the caller's vCPU current again; the CPU stays on the caller's address space.
    func actingFor(_ v: VCPU, _ body: () -> Void) {
        let caller = vcpu
        if caller === v { body(); return }
        makeCurrent(v)
        body()
        makeCurrent(caller)
    }

    /// How many of its vCPUs are up.
    var onlineVCPUs: Int {
        var n = 0
        for v in vcpus where v.runState != .down { n += 1 }
        return n
    }

    /// The current vCPU's vcpu_info: in shared_info, or in the guest page it moved it to (register_vcpu_info).
    /// Stored, not derived on each use: every return to the guest reads it (a load, not a choice).
    private(set) var vcpuInfo: UnsafeMutableRawPointer
    /// Where `vcpuInfo` is stored in the object (DebugLayout measures it once; nothing writes through it).
    func vcpuInfoStorage() -> UnsafeMutablePointer<UnsafeMutableRawPointer> {
        withUnsafeMutablePointer(to: &vcpuInfo) { $0 }
    }
    /// Per vCPU (VcpuLimits.maxVCPUs entries): where register_vcpu_info put its vcpu_info (a lasting
    /// hypervisor window onto the guest's frame), nil while it is in shared_info. Changed by `place` only.
    let placedInfos: UnsafeMutablePointer<UnsafeMutableRawPointer?> = {
        let table = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: VcpuLimits.maxVCPUs)
        table.initialize(repeating: nil, count: VcpuLimits.maxVCPUs)
        return table
    }()
    /// Moves `v`'s vcpu_info to `placed` (nil: back to its shared_info slot), for events, masks and time.
    func place(_ v: VCPU, at placed: UnsafeMutableRawPointer?) {
        v.info = placed ?? sharedInfo.advanced(by: SharedInfo.vcpuInfoOffset(vcpu: Int(v.id)))
        placedInfos[Int(v.id)] = placed
        if vcpu === v { vcpuInfo = v.info }
    }
    /// Its 2-level event bits, with each vcpu_info wherever it is.
    var eventPage: SharedInfoPage { SharedInfoPage(sharedInfo, moved: placedInfos, count: VcpuLimits.maxVCPUs) }
    var upcallMask: UInt8 {
        get { vcpuInfo.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) }
        set { vcpuInfo.storeBytes(of: newValue, toByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) }
    }
    func setCR2(_ value: UInt32) { vcpuInfo.storeBytes(of: value, toByteOffset: VcpuInfo.cr2Offset, as: UInt32.self) }

    var isAlive: Bool {
        switch state {
        case .running, .blocked: return true
        case .shutdown, .crashed, .dead: return false
        }
    }

    /// Runnable in the scheduler's sense: its current vCPU.
    var isRunnable: Bool { isRunnable(vcpu) }
    @inline(__always)
    func isRunnable(_ v: VCPU) -> Bool { state == .running && !paused && v.runState == .runnable }

    /// All its online vCPUs wait for events (getdomaininfo's blocked flag).
    var allBlocked: Bool {
        for v in vcpus where v.runState == .runnable { return false }
        return true
    }

    /// Gives back the hypervisor memory a domain held itself (after its frames went back).
    func releaseHypervisorMemory() {
        for v in vcpus { v.fpuArea?.deallocate(); v.fpuArea = nil }
        sharedInfo.deallocate()
        placedInfos.deallocate()
        for v in vcpus { v.hardwarePDPT.release() }
    }

    /// Does this domain own machine frame `mfn` (or is it its shared_info page)?
    func owns(_ mfn: UInt32) -> Bool {
        mfn == sharedInfoMFN || Machine.frames.owner(of: mfn) == .domain(id)
    }
}

enum Domains {
    /// Domain ids are below this: Boot/cpu.asm keeps one FXSAVE area per id (apus_fpu_areas, capacity + 1)
    /// and the vcpu_info windows' L1 has one entry per id (512).
    static let capacity = 512
    static var all: [Domain] = []
    /// The running domain, held without a reference count: `all` keeps it alive, and the scheduler
    /// clears it (leave) before a domain can leave `all`. The trap path borrows it (`withRunning`)
    /// so that no retain or release runs between trap entry and the return to the guest.
    static var running: Unmanaged<Domain>? = nil

    static var current: Domain? {
        get { running?.takeUnretainedValue() }
        set { running = newValue.map { Unmanaged.passUnretained($0) } }
    }

    /// Whether `d` is the running domain: a comparison of references, no retain (as `current === d` did).
    @inline(__always)
    static func isRunning(_ d: Domain) -> Bool {
        running?.toOpaque() == Unmanaged.passUnretained(d).toOpaque()
    }

    /// The domain with id `id`, from a table indexed by id: no scan (the scheduler asks at every switch).
    static func byID(_ id: UInt16) -> Domain? { unretainedByID(id)?.takeUnretainedValue() }

    /// byID without a reference count: `all` keeps every domain in the table alive, so the event and
    /// switch paths borrow it (`_withUnsafeGuaranteedRef`) and no retain or release runs.
    @inline(__always)
    static func unretainedByID(_ id: UInt16) -> Unmanaged<Domain>? {
        Int(id) < byIDTable.count ? byIDTable[Int(id)] : nil
    }

    /// byIDTable[id]: the domain in `all` with that id, unretained (`all` holds the reference). Only
    /// insert and remove change either, together. Empty until the first insert gives it `capacity`
    /// entries (allocated once, never freed).
    @inline(__always)
    private static var byIDTable: UnsafeMutableBufferPointer<Unmanaged<Domain>?> {
        UnsafeMutableBufferPointer(start: byIDBase, count: byIDCount)
    }
    /// The table's storage, as a nil pointer and a 0 until then: constants, so both globals are
    /// initialized statically. An array global (`Array(repeating:count:)`, even `[]`) was lazy: a
    /// once-check, with its initializer inlined, in every event send and scheduler pick.
    private static var byIDBase: UnsafeMutablePointer<Unmanaged<Domain>?>? = nil
    private static var byIDCount: Int = 0

    /// A built domain joins `all` (and the id table).
    static func insert(_ d: Domain) {
        if all.capacity < capacity { all.reserveCapacity(capacity) }      // once: no regrowth as domains come
        all.append(d)
        if byIDBase == nil {
            let table = UnsafeMutablePointer<Unmanaged<Domain>?>.allocate(capacity: capacity)
            table.initialize(repeating: nil, count: capacity)
            byIDBase = table
            byIDCount = capacity
        }
        if Int(d.id) < byIDTable.count { byIDTable[Int(d.id)] = Unmanaged.passUnretained(d) }
        d.eventPorts = Events.system.portView(d.id)
    }

    /// A destroyed domain leaves the id table, then `all` (which drops the reference).
    static func remove(_ d: Domain) {
        if Int(d.id) < byIDTable.count, byIDTable[Int(d.id)]?.toOpaque() == Unmanaged.passUnretained(d).toOpaque() {
            byIDTable[Int(d.id)] = nil
        }
        all.removeAll { $0 === d }
        d.eventPorts = .absent
    }

    /// The domain with the lowest id at or above `from` (getdomaininfo's walk), without allocating.
    static func first(atOrAbove from: UInt16) -> Domain? {
        var id = Int(from)
        while id < byIDTable.count {
            if let d = byIDTable[id] { return d.takeUnretainedValue() }
            id += 1
        }
        return nil
    }

    /// The lowest id no domain holds (dom0 is 0), or nil when the table is full.
    static func freeID() -> UInt16? {
        var id: UInt16 = 1
        while Int(id) < capacity {
            // A destroyed domain whose grants others still map keeps its id until they unmap.
            if byID(id) == nil && Grants.idIsFree(id) { return id }
            id += 1
        }
        return nil
    }
}
