// LinuxTest.swift: the `linux` scenario: dom0 creates an unmodified Linux 5.4 (i386 PAE PV) from
// linux.cfg with its busybox initramfs and `console=hvc0`, relays its boot log from the console ring,
// waits for its init's `linux-pv: userspace up` and `uname -a`, for it to power itself off, and checks
// every frame came back. It judges only the guest's console lines, domain info and physinfo.

import ApusCore
import GuestKit
import PVABI

enum LinuxTest {
    static var bannerSeen = false
    static var unameSeen = false

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let freeBefore = Toolstack.freePages()
        guard let config = Toolstack.config(named: Array("linux.cfg".utf8)) else { return false }
        DomainIO.awaited = Array("linux-pv: userspace up".utf8)
        DomainIO.awaitedSeen = false
        DomainIO.observer = { _, line in
            if DomainIO.contains(line, Array("Linux version 5.4.286".utf8)) { LinuxTest.bannerSeen = true }
            // busybox's `uname -a`: "Linux (none) 5.4.286 ... GNU/Linux"
            if line.starts(with: Array("Linux ".utf8)), DomainIO.contains(line, Array(" 5.4.286 ".utf8)),
               DomainIO.contains(line, Array("GNU/Linux".utf8)) { LinuxTest.unameSeen = true }
        }
        let created = Toolstack.create(config)
        check("create Linux from its configuration", created > 0, "d\(created)")
        guard created > 0 else { return false }
        let id = UInt16(created)
        check("its console and store rings are connected", DomainIO.hasConsole(id) && DomainIO.hasStore(id), "d\(id)")

        // Until its init says so, or it stops (its init powers it off), or 30 s of system time.
        let deadline = GuestTime.now() + 30_000_000_000
        var stopped: DomainInfo? = nil
        while GuestTime.now() < deadline {
            DomainIO.service()
            guard let info = Toolstack.info(id) else { break }
            if info.isShutdown { stopped = info; break }
            if DomainIO.awaitedSeen && unameSeen { break }
            Dom0Events.sleep(10_000_000)
        }
        check("its boot banner arrived through the console ring", bannerSeen, "\(DomainIO.linesRelayed(id)) lines relayed")
        check("it reached userspace", DomainIO.awaitedSeen,
              "\(DomainIO.linesRelayed(id)) lines relayed; stopped: \(stopped != nil), reason \(stopped?.shutdownReason ?? 99)")
        if DomainIO.awaitedSeen {
            let reason = stopped?.shutdownReason ?? ShellPower.waitForStop(id, timeout: 20_000_000_000)
            check("busybox's uname -a line arrived", unameSeen, "d\(id)")
            check("it powered itself off", reason == ShutdownReason.poweroff.rawValue, "reason \(reason ?? 99)")
        }
        let rc = Toolstack.destroy(id)
        check("destroy it", rc == 0, "returned \(rc)")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        console.print("linux test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
