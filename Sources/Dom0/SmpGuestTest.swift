// SmpGuestTest.swift: the `smp-guest` scenario (issue #16): dom0 starts smp.cfg (4 vCPUs, weight 256)
// beside spinner-4.cfg (one vCPU, weight 256), waits until the SMP domain's IPI ring is over (its
// events-sent counter, read with getdomaininfo), then measures both domains' CPU time over a fixed
// window of system time, while every vCPU of both spins. The shares must match the equal weights
// within 5%: the domain's weight is shared among its vCPUs, not multiplied by them. Every number it
// prints was read back from the hypervisor.

import ApusCore
import GuestKit
import PVABI

enum SmpGuestTest {
    static let window: UInt64 = 2_100_000_000
    /// The ring's 3000 sends, the 2 that end it, and the 2 of the vcpu_info phase after it
    /// (Guests/Smp/SmpVcpuInfo.swift's bind_vcpu check): once counted, the guest is past both.
    static let ringSends: UInt32 = 3004

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
        let start = ids.map { Toolstack.info($0)?.cpuTime ?? 0 }
        let t0 = GuestTime.now()
        Dom0Events.sleep(window)
        let elapsed = GuestTime.now() - t0
        for id in ids { _ = Toolstack.pause(id) }
        let used = ids.enumerated().map { (Toolstack.info($0.element)?.cpuTime ?? 0) - start[$0.offset] }
        let total = used.reduce(0, +)
        var fair = total > 0
        let names: [StaticString] = ["smp (4 vCPUs)", "spinner (1 vCPU)"]
        for (i, u) in used.enumerated() {
            let share = total > 0 ? u * 10_000 / total : 0                  // in 1/100 of a percent
            let ideal: UInt64 = 5_000
            let off = share > ideal ? share - ideal : ideal - share
            if off * 100 > ideal * 5 { fair = false }                       // more than 5% away
            console.print("smp-guest: \(names[i]) weight 256: \(u / 1000) us of CPU, share \(share / 100).\(share % 100 / 10)\(share % 10)% (ideal 50.00%)")
        }
        check("CPU shares of the 4-vCPU domain and the spinner follow their equal weights within 5%", fair,
              "\(total / 1000) us of their time in \(elapsed / 1000) us")
        for id in ids { _ = Toolstack.destroy(id) }
        let left = Toolstack.all().count
        check("every domU is gone again", left == 1, "\(UInt32(left)) domain left (dom0)")
        console.print("smp-guest test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
