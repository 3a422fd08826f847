// Main.swift: apus_main, where Swift takes over from Boot/multiboot.asm with paging on.
// Brings the machine up in a fixed order (console, descriptor tables, paging, memory, timer)
// and then runs a test scenario or the normal boot. It must never return.

import ApusCore
import PVABI

enum Version {
    static let banner: StaticString = "Apus 0.1 - a paravirtualizing hypervisor in Embedded Swift (x86_32 PAE, Xen pv32pae ABI)"
}

@_cdecl("apus_main")
public func apusMain(magic: UInt32, infoAddress: UInt32) -> Never {
    BootState.entryTSC = cpu_rdtsc()
    Serial.initialize()
    let sym = Symbols.read()
    Log.ring = pointer(to: UInt8.self, at: sym.logRing)
    Exceptions.symbols = sym
    Log.info("\(Version.banner)")

    DescriptorTables.installGDTAndTSS(sym)
    DescriptorTables.installIDT(sym)
    HypervisorPaging.initialize(sym)
    let pdpt = pointer(to: UInt64.self, at: sym.idlePDPT)
    Log.info("cpu: GDT \(UInt32(DescriptorTables.gdtEntries)) entries (hypervisor cs \(hex: UInt32(Selector.hypervisorCS)) ds \(hex: UInt32(Selector.hypervisorDS)), guest \(hex: UInt32(Selector.flatRing1CS))/\(hex: UInt32(Selector.flatRing1DS)) \(hex: UInt32(Selector.flatRing3CS))/\(hex: UInt32(Selector.flatRing3DS))), TSS, IDT 256 vectors, hypercall gate \(hex: DescriptorTables.hypercallVector) DPL 1")
    Log.info("paging: PAE \(cpu_read_cr4() & (1 << 5) != 0), NX \(HypervisorPaging.nxSupported), WP \(cpu_read_cr0() & (1 << 16) != 0), cr3 \(hex8: cpu_read_cr3()), image at \(hex8: sym.textStart), low identity map removed \(pdpt[0] == 0)")

    let info: MultibootInfo
    switch MultibootInfo.parse(magic: magic, infoAddress: infoAddress, memory: Machine.memory) {
    case .ok(let parsed): info = parsed
    case .failed(let problem):
        Log.info("multiboot: \(problem.reason)")
        Panic.halt("cannot boot without a usable Multiboot information structure")
    }
    let commandLine = info.commandLine(maxLength: 512, memory: Machine.memory) ?? []
    let options = BootOptions.parse(commandLine)
    BootState.commandLine = commandLine
    TestHooks.bootOptionsRead(options)
    commandLine.withUnsafeBufferPointer { Log.info("boot: command line '\(text: $0)'") }
    Log.threshold = options.logLevel
    Log.guestThreshold = options.guestLogLevel
    Log.consoleToRing = options.consoleToRing
    Power.noReboot = options.noReboot
    Log.info("console: loglvl=\(options.logLevel.name) guest_loglvl=\(options.guestLogLevel.name), console_to_ring \(options.consoleToRing), noreboot \(options.noReboot)")

    MemorySetup.run(info, sym)
    Scheduler.initialize()

    PIC.remap()
    PIT.start()
    Serial.enableInterrupts()
    PIC.unmask(irq: 4)
    Log.info("timer: PIT channel 0 at \(PIT.hz) Hz on IRQ 0 (vector \(PIC.vectorBase))")

    FPU.initialize(sym)
    TestHooks.timerStarted(options)
    SystemTime.calibrate()
    Log.info("time: TSC runs at \(SystemTime.tscKHz) kHz (calibrated against the PIT)")
    Hypercalls.armSlowLog()
    WallTime.initialize()
    TestHooks.timeReady(options, sym)

    ContextSwitch.guestFrame = pointer(to: TrapFrame.self, at: sym.bootStackTop - UInt32(MemoryLayout<TrapFrame>.size))
    pointer(to: UInt32.self, at: sym.returnFaultFrame).pointee = sym.bootStackTop - UInt32(MemoryLayout<TrapFrame>.size)
    GuestGDT.table = pointer(to: UInt64.self, at: sym.gdt)
    guard let dom0 = Dom0Build.run(options) else {
        TestHooks.noDom0()
        Log.info("boot: no dom0 to run; idling (the timer keeps ticking)")
        while true { cpu_halt() }
    }
    Log.info("dom0: entering ring 1 at \(hex8: dom0.vcpu.saved.eip) with cr3 \(hex8: dom0.vcpu.hardwarePDPTPhysical) (vCPU 0's guest L3 at machine frame \(hex: dom0.vcpu.l3MFN))")
    Log.info(DebugDump.switched(.dom0))
    TestHooks.enteringDom0()
    Scheduler.switchTo(dom0)
}

enum BootState {
    static var commandLine: [UInt8] = []
    /// TSC when Swift took over (make bench's boot rows start here).
    static var entryTSC: UInt64 = 0
}
