// SmpGuestTest.swift: the `smp-guest` scenario (issue #16): dom0 starts smp.cfg (4 vCPUs, weight 256)
// beside spinner-4.cfg (one vCPU, weight 256), waits until the SMP domain's IPI ring is over (its
// events-sent counter, read with getdomaininfo), then measures both domains' CPU time over a fixed
// window of system time, while every vCPU of both spins. The shares must match the equal weights
// within 5%: the domain's weight is shared among its vCPUs, not multiplied by them. Then vCPUs 1-3
// block (the guest signals it with one event) and the measure is taken again: the domain must still
// get half, its weight being shared among its ACTIVE vCPUs (with the weight split among online
// vCPUs it would get 20%). Every number it prints was read back from the hypervisor.

import ApusCore
import GuestKit
import PVABI

enum SmpGuestTest {
    static let window: UInt64 = 2_100_000_000
    /// The ring's 3000 sends, the 2 that end it, the 2 of the vcpu_info phase after it
    /// (Guests/Smp/SmpVcpuInfo.swift's bind_vcpu check) and the 15 of the upcall phase after that
    /// (Guests/Smp/SmpUpcalls.swift: 9 IPIs, 6 loopback sends): once counted, the guest is past all three.
    static let ringSends: UInt32 = 3019

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        guard let smpConfig = Toolstack.config(named: Array("smp.cfg".utf8)),
              let spinnerConfig = Toolstack.config(named: Array("spinner-4.cfg".utf8)) else { return false }
        let smp = Toolstack.create(smpConfig)
        let spinner = Toolstack.create(spinnerConfig)
        check("create the 4-vCPU domain and a spinner of the same weight", smp > 0 && spinner > 0,
              "smp d\(smp) with \(smpConfig.vcpus) vCPUs, spinner d\(spinner), weights \(UInt32(smpConfig.weight)) and \(UInt32(spinnerConfig.weight))")
        guard smp > 0 && spinner > 0 else { return false }
        let smpID = UInt16(smp), spinnerID = UInt16(spinner)

        var waited = 0
        while (Toolstack.info(smpID)?.eventsSent ?? 0) < ringSends && waited < 3000 {
            Dom0Events.sleep(10_000_000)
            waited += 1
        }
        let sent = Toolstack.info(smpID)?.eventsSent ?? 0
        check("the IPI ring ended", sent >= ringSends, "\(sent) events sent by d\(smpID) after \(UInt32(waited)) waits")
        Dom0Events.sleep(100_000_000)

        let ids = [smpID, spinnerID]
        let fair = measure(ids, label: "", smpName: "smp (4 vCPUs)")
        check("CPU shares of the 4-vCPU domain and the spinner follow their equal weights within 5%", fair.fair, fair.detail)
        // The second phase (the guest's SmpActiveShare): vCPUs 1-3 block, vCPU 0 spins alone, and the
        // guest says so with one more event. The all-spin window must have ended before that.
        let afterWindow = Toolstack.info(smpID)?.eventsSent ?? 0
        check("the all-spin window ended before vCPUs 1-3 blocked", afterWindow == sent, "\(afterWindow) events sent")
        waited = 0
        while (Toolstack.info(smpID)?.eventsSent ?? 0) <= afterWindow && waited < 1000 {
            Dom0Events.sleep(10_000_000)
            waited += 1
        }
        let signalled = (Toolstack.info(smpID)?.eventsSent ?? 0) > afterWindow
        check("vCPUs 1-3 of the SMP domain blocked", signalled, "after \(UInt32(waited)) waits")
        if signalled {
            Dom0Events.sleep(100_000_000)
            let active = measure(ids, label: "3 of 4 vCPUs blocked: ", smpName: "smp (1 active vCPU)")
            check("with 3 of its 4 vCPUs blocked the domain still gets its weight's share within 5% (weight split among active vCPUs)",
                  active.fair, active.detail)
        }
        for id in ids { _ = Toolstack.pause(id) }
        for id in ids { _ = Toolstack.destroy(id) }
        let left = Toolstack.all().count
        check("every domU is gone again", left == 1, "\(UInt32(left)) domain left (dom0)")
        console.print("smp-guest test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }

    /// Both domains' CPU time over `window` of system time, printed as shares of their sum (the ideal
    /// is 50% each: equal weights); fair when both are within 5% of it.
    static func measure(_ ids: [UInt16], label: StaticString, smpName: StaticString) -> (fair: Bool, detail: LogLine) {
        let start = ids.map { Toolstack.info($0)?.cpuTime ?? 0 }
        let t0 = GuestTime.now()
        Dom0Events.sleep(window)
        let elapsed = GuestTime.now() - t0
        let used = ids.enumerated().map { (Toolstack.info($0.element)?.cpuTime ?? 0) - start[$0.offset] }
        let total = used.reduce(0, +)
        var fair = total > 0
        let names: [StaticString] = [smpName, "spinner (1 vCPU)"]
        for (i, u) in used.enumerated() {
            let share = total > 0 ? u * 10_000 / total : 0                  // in 1/100 of a percent
            let ideal: UInt64 = 5_000
            let off = share > ideal ? share - ideal : ideal - share
            if off * 100 > ideal * 5 { fair = false }                       // more than 5% away
            console.print("smp-guest: \(label)\(names[i]) weight 256: \(u / 1000) us of CPU, share \(share / 100).\(share % 100 / 10)\(share % 10)% (ideal 50.00%)")
        }
        return (fair, "\(total / 1000) us of their time in \(elapsed / 1000) us")
    }
}
