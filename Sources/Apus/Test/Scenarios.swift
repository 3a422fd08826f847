// Scenarios.swift: runs the QEMU test scenario the command line names (apus.test=NAME) and ends
// QEMU with its verdict. It must never judge by anything but values the real code produced.

import ApusCore

enum Scenarios {
    static func run(_ scenario: TestScenario) -> Never {
        Log.info("test: running scenario '\(scenario.name)'")
        switch scenario {
        case .boot:
            DebugExit.exit(passed: TimerCheck.run(ticks: UInt64(PIT.hz / 10)))
        case .exceptions:
            DebugExit.exit(passed: ExceptionSelfTest.run())
        case .panic:
            Log.info("test: touching an unmapped hypervisor address with no fixup: this must panic")
            _ = selftest_read_unguarded(0xFE7F_E000)
            Log.info("test: the read did not fault")
            DebugExit.exit(passed: true)    // the expected result of this scenario is a panic
        case .dom0, .memory, .domains, .hostile, .churn, .shell, .bench, .benchLinux, .fuzz, .fuzzDom0, .crashNoHandler, .crashBounce, .crashReturn, .crashShutdown, .minios, .miniosTest, .miniosBlk, .miniosNet, .linux, .linuxShell, .linuxTwice, .devices, .shellDevices, .benchDevices, .netdemo, .conformance, .linuxIO, .http, .smpGuest:
            Panic.halt("the dom0 scenario runs in dom0, not in the hypervisor")
        case .debugKeys:
            Panic.halt("the dom0 scenario runs in dom0, not in the hypervisor")
        case .benchHttp:
            Panic.halt("the dom0 scenario runs in dom0, not in the hypervisor")
        }
    }
}

/// Counts timer interrupts over a fixed number of ticks and measures them with the TSC.
enum TimerCheck {
    static func run(ticks wanted: UInt64) -> Bool {
        let start = PIT.ticks
        // Align to a tick edge first, so the count measures whole periods.
        while PIT.ticks == start { cpu_halt() }
        let first = PIT.ticks
        let tsc0 = cpu_rdtsc()
        var halts: UInt64 = 0
        while PIT.ticks - first < wanted { cpu_halt(); halts += 1 }
        let tsc1 = cpu_rdtsc()
        let counted = PIT.ticks - first
        let ms = counted * 1000 / UInt64(PIT.hz)
        let khz = (tsc1 - tsc0) / ms
        Log.info("timer: \(counted) ticks of the \(PIT.hz) Hz PIT in \(ms) ms, \(halts) halts, TSC advanced \(tsc1 - tsc0) (\(khz) kHz)")
        return counted == wanted && halts >= counted && khz > 0
    }
}
