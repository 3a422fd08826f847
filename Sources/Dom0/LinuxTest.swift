// LinuxTest.swift: the `linux` scenario: dom0 creates an unmodified Linux 5.4 (i386 PAE PV) from
// linux.cfg with its busybox initramfs and `console=hvc0`, relays its boot log from the console ring,
// waits for its init's `linux-pv: userspace up` and `uname -a`, for it to power itself off, and checks
// every frame came back; then a Linux whose init exits panics, its panic text arrives, it is crashed
// alone and its frames come back. It judges only the guest's console lines, domain info and physinfo.

import ApusCore
import GuestKit
import PVABI

enum LinuxTest {
    static var bannerSeen = false
    static var unameSeen = false

    static var panicSeen = false

    /// A Linux whose init exits (rdinit=/bin/busybox prints its usage and returns) panics: its panic
    /// text must reach dom0 through its console, it must be crashed alone (reason crash, from its
    /// own sched_op shutdown), and its frames must come back.
    static func panics(freeBefore: UInt32) {
        let check = PVSelfTest.check
        guard let config = Toolstack.config(named: Array("linux-panic.cfg".utf8)) else {
            check("read linux-panic.cfg", false, "missing from the initrd")
            return
        }
        DomainIO.observer = { _, line in
            if DomainIO.contains(line, Array("Kernel panic - not syncing: Attempted to kill init!".utf8)) { LinuxTest.panicSeen = true }
        }
        let created = Toolstack.create(config)
        check("create a Linux whose init exits", created > 0, "d\(created)")
        guard created > 0 else { return }
        let id = UInt16(created)
        let reason = ShellPower.waitForStop(id, timeout: 30_000_000_000)
        DomainIO.service()
        check("its panic text arrived through its console ring", panicSeen, "\(DomainIO.linesRelayed(id)) lines relayed")
        check("it crashed itself and only itself", reason == ShutdownReason.crash.rawValue && Toolstack.info(0) != nil,
              "reason \(reason ?? 99)")
        _ = Toolstack.destroy(id)
        let freeAfter = Toolstack.freePages()
        check("every frame of the panicked Linux came back", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
    }

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
        panics(freeBefore: freeBefore)
        console.print("linux test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
