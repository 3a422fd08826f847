// LinuxIOTest.swift: the `linux-io` scenario: dom0 brings up its virtio disk and network card (lwIP
// takes 10.0.2.15 from QEMU's user network through the bridge), creates a netdemo domU (netdemo-io.cfg,
// which pings `peer=10.0.2.17`) and waits for its lease (10.0.2.16), then an unmodified Linux
// (linux-io.cfg) with a vdisk and a vif whose /init (Tests/InitrdLinuxIO) reads and writes xvda, takes
// a lease (10.0.2.17) through udhcpc, pings the netdemo domU and sends a line through its TCP echo,
// waits for the netdemo domU's ping to arrive, and powers off. Dom0 judges only Linux's relayed
// console lines, domain info and the netdemo domU's store reports; then destroys the netdemo domU and
// checks every frame and grant mapping came back. It never reads a guest's memory.

import ApusCore
import GuestKit
import PVABI

enum LinuxIOTest {
    /// Linux's last line: `linux-io: done, N failed`, and whether N was 0.
    static var finished = false
    static var nothingFailed = false

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let disk = Devices.attachDisk()
        let nic = Devices.attachNetwork()
        check("dom0's virtio disk and network card are up, lwIP on the bridge", disk != nil && nic != nil, "")
        guard disk != nil, nic != nil, let demo = Toolstack.config(named: Array("netdemo-io.cfg".utf8)),
              let linux = Toolstack.config(named: Array("linux-io.cfg".utf8)) else { return false }
        // dom0 asks QEMU's DHCP first (10.0.2.15), the netdemo domU next (.16), Linux last (.17).
        check("dom0 has its DHCP lease", NetStack.run(atMost: 30_000_000_000) { NetStack.hasLease }, "")
        NetStack.printInterface()
        let freeBefore = Toolstack.freePages()
        let slotsBefore = GrantWindow.used?.filter { $0 }.count ?? 0
        DomainIO.observer = { _, line in
            if line.starts(with: Array("linux-io: done, ".utf8)) {
                LinuxIOTest.finished = true
                LinuxIOTest.nothingFailed = line.elementsEqual(Array("linux-io: done, 0 failed".utf8))
            }
        }

        let d = Toolstack.create(demo)
        check("create the netdemo domU with a disk and a vif", d > 0, "d\(d)")
        guard d > 0 else { return false }
        let demoID = UInt16(d)
        check("the netdemo domU got its DHCP lease before Linux starts",
              runFor(60_000_000_000) { NetDemoTest.reported(demoID, "lease") != nil || stopped(demoID) != nil }
                && NetDemoTest.reported(demoID, "lease") != nil, "d\(demoID)")

        let l = Toolstack.create(linux)
        check("create Linux with a vdisk and a vif", l > 0, "d\(l)")
        guard l > 0 else { return false }
        let linuxID = UInt16(l)
        check("dom0 serves Linux's disk and vif", Backends.count(of: linuxID) == 2, "d\(linuxID)")
        // Linux boots, its /init runs to the end and powers it off.
        _ = runFor(240_000_000_000) { stopped(linuxID) != nil || stopped(demoID) != nil }
        check("Linux's /init ran to its end with nothing failed", finished && nothingFailed,
              "finished \(finished), \(DomainIO.linesRelayed(linuxID)) lines relayed")
        let reason = stopped(linuxID)
        check("Linux powered itself off", reason == ShutdownReason.poweroff.rawValue, "reason \(reason ?? 99)")
        check("the netdemo domU's ping of Linux's address was answered", NetDemoTest.reported(demoID, "ping") != nil, "d\(demoID)")
        check("the netdemo domU echoed Linux's line on its TCP port 7", NetDemoTest.reported(demoID, "echoes") != nil, "d\(demoID)")
        check("the netdemo domU still runs", stopped(demoID) == nil, "reason \(stopped(demoID) ?? 99)")
        Bridge.describe()
        let rcLinux = Toolstack.destroy(linuxID)
        check("destroy Linux", rcLinux == 0, "d\(linuxID) returned \(rcLinux)")
        let rcDemo = Toolstack.destroy(demoID)
        check("destroy the netdemo domU", rcDemo == 0, "d\(demoID) returned \(rcDemo)")
        check("their backends and bridge ports are gone", Backends.count(of: linuxID) == 0 && Backends.count(of: demoID) == 0, "")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        let slotsAfter = GrantWindow.used?.filter { $0 }.count ?? 0
        check("every grant mapping was undone", slotsAfter == slotsBefore, "\(UInt32(slotsAfter)) window slots used, \(UInt32(slotsBefore)) before")
        console.print("linux-io test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }

    /// Services the rings and dom0's lwIP until `done` holds or `ns` of system time passed.
    static func runFor(_ ns: UInt64, until done: () -> Bool) -> Bool {
        let deadline = GuestTime.now() + ns
        while GuestTime.now() < deadline {
            DomainIO.service()
            NetStack.poll()
            if done() { return true }
            Dom0Events.sleep(10_000_000)
        }
        return done()
    }

    /// The reason a domain stopped with, or nil while it runs.
    static func stopped(_ id: UInt16) -> UInt32? {
        guard let info = Toolstack.info(id) else { return nil }
        return info.isShutdown ? info.shutdownReason : nil
    }
}
