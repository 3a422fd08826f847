// TestHooks.swift: the one place production code consults about test runs. Each hook is named
// for the moment it is called at and is a single line at its call site; without a scenario on
// the command line each does nothing. A hook must never change what a guest sees.

import ApusCore
import PVABI

enum TestHooks {
    /// Log every domain's teardown, not only dom0's (off: test runs that create many domains).
    static var logsEveryTeardown = false
    /// A scenario (or an unknown one) was asked for on the command line.
    static var testRun = false
    /// Set by the exceptions self-test just before it executes `int3` on purpose.
    static var breakpointExpected = false

    private static var benchRuns: Bool { TestVerdict.scenario == .bench }

    /// Boot options read: in a test run a panic ends QEMU with a failure instead of halting.
    static func bootOptionsRead(_ options: BootOptions) {
        testRun = options.scenario != nil || options.unknownScenario != nil
    }

    /// The hypervisor panicked: a test run ends QEMU with a failure (else the caller halts).
    static func panicked() {
        if testRun { DebugExit.exit(passed: false) }
    }

    /// A ring-0 breakpoint: true (once) when the self-test raised it on purpose.
    static func takeExpectedBreakpoint() -> Bool {
        defer { breakpointExpected = false }
        return breakpointExpected
    }

    /// The timer runs: a scenario nobody knows ends the run as a failure.
    static func timerStarted(_ options: BootOptions) {
        guard let bad = options.unknownScenario else { return }
        bad.withUnsafeBufferPointer { Log.info("test: no scenario is called '\(text: $0)'") }
        DebugExit.exit(passed: false)
    }

    /// Time and wallclock are set: scenarios that run in the hypervisor run now (and never
    /// return); make bench measures its native baselines before any domain exists.
    static func timeReady(_ options: BootOptions, _ sym: Symbols) {
        TestVerdict.scenario = options.scenario
        if let scenario = options.scenario, scenario.runsInHypervisor { Scenarios.run(scenario) }
        if benchRuns { NativeBaselines.run(sym) }
    }

    /// No dom0 could be built: a test run fails here rather than idle.
    static func noDom0() {
        if testRun { DebugExit.exit(passed: false) }
    }

    /// dom0 is about to run for the first time: make bench's boot rows.
    static func enteringDom0() {
        guard benchRuns else { return }
        Log.info("bench: hv entry_tsc \(BootState.entryTSC)")
        Log.info("bench: hv rtc_read_ticks \(WallTime.readTicks)")
    }

    /// domctl createdomain asked for a domain when `heapBefore` bytes of heap were in use: make
    /// bench's row of what it kept. A refused build can leave the heap smaller (no row then).
    static func domainBuilt(heapBefore: UInt32) {
        let heapAfter = apus_heap_in_use()
        if benchRuns, heapAfter >= heapBefore { Log.info("bench: hv heap_per_domain \(heapAfter - heapBefore)") }
    }

    /// dom0 stopped, before its memory goes back: make bench's average switch cost.
    static func dom0Stopping() {
        if benchRuns, Scheduler.accountings > 0 {
            Log.info("bench: hv credit_accounting \(Scheduler.accountingTicks / Scheduler.accountings)")
        }
        if benchRuns, Scheduler.switches > 1 {
            Log.info("bench: hv domain_switch \(Scheduler.switchTicks / (Scheduler.switches - 1))")
        }
    }

    /// A domain stopped: the scenario may end the run with its verdict.
    static func domainStopped(_ d: Domain) { TestVerdict.domainStopped(d) }
}
