// TestVerdict.swift: how a test run ends when a domain stops: each scenario that runs guests
// says which stop means success. It only reads what the domain did; it never forces a result.

import ApusCore
import PVABI

enum TestVerdict {
    static var scenario: TestScenario? = nil

    static func domainStopped(_ d: Domain) {
        guard let scenario, d.id == 0 else { return }
        switch scenario {
        case .dom0, .memory, .domains, .hostile, .churn, .shell, .bench, .benchLinux, .fuzz, .fuzzDom0, .minios, .miniosTest, .miniosBlk, .miniosNet, .linux, .linuxShell, .linuxTwice, .devices, .shellDevices, .benchDevices, .netdemo, .conformance, .linuxIO, .http, .smpGuest:
            // Dom0 judges its own self-test: poweroff when every check passed, crash otherwise.
            if d.id == 0 { DebugExit.exit(passed: d.state == .shutdown(.poweroff)) }
        case .debugKeys:
            DebugExit.exit(passed: d.state == .shutdown(.poweroff))
        case .benchHttp:
            DebugExit.exit(passed: d.state == .shutdown(.poweroff))
        case .crashNoHandler, .crashBounce, .crashReturn, .crashShutdown:
            let crashed = d.state == .crashed || d.state == .shutdown(.crash)
            // The hypervisor must outlive the guest: keep taking timer interrupts for a while.
            let before = PIT.ticks
            while PIT.ticks - before < 20 { cpu_halt() }
            Log.info("test: d\(d.id) stopped (\(crashed ? "crashed" : "not crashed")); the hypervisor is still running \(PIT.ticks - before) ticks later")
            DebugExit.exit(passed: crashed)
        default:
            Log.info("test: domain \(d.id) stopped during scenario '\(scenario.name)'")
            DebugExit.exit(passed: false)
        }
    }
}
