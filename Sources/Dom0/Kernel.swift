// Kernel.swift: dom0's start of day, done only through Xen's pv32pae interface: read start_info,
// map shared_info with update_va_mapping, install the trap table and callbacks, register the
// ring-3 trap stack. Then it runs the self-test the command line asks for, or waits.
// It must never rely on anything Apus-specific: a Xen hypervisor would run it the same way.

import ApusCore
import GuestKit
import PVABI

let console = GuestConsole(xen)

enum Kernel {
    static var startInfo = StartInfoView(0x1000)
    static var sharedInfo = SharedInfoView(0x1000)

    static func mapSharedInfo() -> Int32 {
        StartOfDay.startInfo = startInfo
        let rc = StartOfDay.mapSharedInfo()
        if rc == 0 { sharedInfo = StartOfDay.sharedInfo }
        return rc
    }

    static func installTraps() -> Int32 { StartOfDay.installTraps() }
    static func installCallbacks() -> Int32 { StartOfDay.installCallbacks() }

    /// callback_op register for one callback type, the newer interface for the same thing.
    static func registerCallback(_ type: CallbackType, _ address: UInt32) -> Int32 {
        var record = HypercallRecord(stride: CallbackRegisterLayout.size)
        record.set(type.rawValue, at: CallbackRegisterLayout.typeOffset)
        record.set(UInt32(Selector.flatRing1CS), at: CallbackRegisterLayout.csOffset)
        record.set(address, at: CallbackRegisterLayout.eipOffset)
        return record.withAddress { xen.callbackOp(.register, $0) }
    }

    static func switchStack() -> Int32 {
        xen.stackSwitch(ss: UInt32(Selector.flatRing1DS), esp: guest_symbol(GuestSymbol.kernelTrapStackTop))
    }

    /// The command line has a word `test=NAME`: which self-test to run.
    static func testName() -> UnsafeBufferPointer<UInt8>? {
        let line = startInfo.commandLine
        var i = 0
        while i < line.count {
            while i < line.count && line[i] == 32 { i += 1 }
            let start = i
            while i < line.count && line[i] != 32 { i += 1 }
            let word = UnsafeBufferPointer(rebasing: line[start..<i])
            if word.count > 5 && BootOptions.equal(word.prefix(5), "test=") {
                return UnsafeBufferPointer(rebasing: word[5...])
            }
        }
        return nil
    }

    static func shutdown(_ reason: ShutdownReason) -> Never {
        var record = HypercallRecord(stride: SchedShutdownLayout.size)
        record.set(reason.rawValue, at: SchedShutdownLayout.reasonOffset)
        _ = record.withAddress { xen.schedOp(.shutdown, $0) }
        while true { _ = xen.schedOp(.block) }
    }
}

@_cdecl("guest_start")
public func guestStart(_ startInfoAddress: UInt32) {
    let startTSC = guest_rdtsc()
    Kernel.startInfo = StartInfoView(startInfoAddress)
    let si = Kernel.startInfo
    console.print("Apus dom0 kernel (Embedded Swift, Xen pv32pae guest) starting")
    console.print("start_info: magic '\(text: si.magic)' nr_pages \(si.nrPages) flags \(hex: si.flags) (privileged \(si.isPrivileged), initdomain \(si.isInitialDomain))")
    console.print("start_info: shared_info at machine \(hex8: si.sharedInfoMachineAddress), pt_base \(hex8: si.ptBase), nr_pt_frames \(si.nrPtFrames), mfn_list \(hex8: si.mfnList)")
    // An api_token= value is never printed (HttpServer's promise): the line shows it as (hidden).
    TokenRedaction.redacted(si.commandLine).withUnsafeBufferPointer { line in
        console.print("start_info: initrd at \(hex8: si.modStart) length \(si.modLen), command line '\(text: line)'")
    }
    let steps: [(StaticString, Int32)] = [
        ("map shared_info", Kernel.mapSharedInfo()),
        ("set_trap_table", Kernel.installTraps()),
        ("set_callbacks", Kernel.installCallbacks()),
        ("stack_switch", Kernel.switchStack()),
    ]
    var ready = true
    for (name, rc) in steps {
        if rc != 0 { console.print("start of day: \(name) failed with \(rc)"); ready = false }
    }
    if !ready { Kernel.shutdown(.crash) }
    console.print("start of day done: events masked \(Kernel.sharedInfo.upcallMask == 1), traps and callbacks registered")
    Initrd.list()
    DeviceList.scan()

    if let name = Kernel.testName() {
        if BootOptions.equal(name, "dom0") {
            Kernel.shutdown(PVSelfTest.run() ? .poweroff : .crash)
        }
        if BootOptions.equal(name, "memory") {
            Kernel.shutdown(MemoryTest.run() ? .poweroff : .crash)
        }
        if BootOptions.equal(name, "domains") { Kernel.shutdown(DomainsTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "bench-devices") { Kernel.shutdown(BenchDevices.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "bench-http") { Kernel.shutdown(BenchHttp.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "devices") { Kernel.shutdown(DevicesTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "hostile") { Kernel.shutdown(HostileTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "conformance") { Kernel.shutdown(ConformanceTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "smp-guest") { Kernel.shutdown(SmpGuestTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "churn") { Kernel.shutdown(ChurnTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "fuzz") { Kernel.shutdown(FuzzTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "shell") || BootOptions.equal(name, "shell-devices") { Shell.run() }
        if BootOptions.equal(name, "debugkeys") { Shell.run() }
        if BootOptions.equal(name, "http") { Shell.run() }
        if BootOptions.equal(name, "minios") {
            Kernel.shutdown(MiniOSTest.run("minios.cfg", awaited: "kernel.c: dummy main", runOn: 500_000_000,
                                           echoesInput: true, summary: "minios test") ? .poweroff : .crash)
        }
        if BootOptions.equal(name, "minios-test") {
            Kernel.shutdown(MiniOSTest.run("minios-test.cfg", awaited: "(Should have said ENOENT)", runOn: 4_500_000_000,
                                           periodicLines: 3, stopsCleanly: false, summary: "minios-test test") ? .poweroff : .crash)
        }
        if BootOptions.equal(name, "minios-blk") { Kernel.shutdown(MiniOSBlockTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "minios-net") { Kernel.shutdown(MiniOSNetTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "netdemo") { Kernel.shutdown(NetDemoTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "linux") { Kernel.shutdown(LinuxTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "linux-shell") { LinuxShellTest.run() }
        if BootOptions.equal(name, "linux-io") { Kernel.shutdown(LinuxIOTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "linux-twice") { Kernel.shutdown(LinuxTwiceTest.run() ? .poweroff : .crash) }
        if BootOptions.equal(name, "bench-linux") {
            Reaper.start()
            GuestEvents.enable()
            Kernel.shutdown(Bench.linuxToUserspace() ? .poweroff : .crash)
        }
        if BootOptions.equal(name, "bench") { Kernel.shutdown(Bench.run(startTSC: startTSC) ? .poweroff : .crash) }
        if CrashTests.run(name) { Kernel.shutdown(.poweroff) }
        console.print("no self-test called '\(text: name)'")
        Kernel.shutdown(.crash)
    }
    Shell.run()
}

enum Initrd {
    static func list() {
        let si = Kernel.startInfo
        guard si.modLen > 0 else { console.print("initrd: none"); return }
        let bytes = UnsafeBufferPointer(start: UnsafePointer<UInt8>(bitPattern: UInt(si.modStart)), count: Int(si.modLen))
        guard let entries = CpioArchive(bytes).entries() else {
            console.print("initrd: \(si.modLen) bytes, not a newc cpio archive")
            return
        }
        console.print("initrd: cpio archive with \(UInt32(entries.count)) files")
        for e in entries { console.print("initrd:   \(text: e.name) (\(UInt32(e.data.count)) bytes)") }
    }
}
