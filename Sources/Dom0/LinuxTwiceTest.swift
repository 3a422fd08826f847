// LinuxTwiceTest.swift: the `linux-twice` scenario: two unmodified Linux domUs (the shell initramfs,
// which stays up until it is shut down) and the clock domain at once. One Linux is destroyed mid-boot
// (its banner arrived, its userspace line not yet); the other must go on booting, its console still
// arriving, and reach userspace; a third Linux then boots beside it, both answer a command typed into
// their console rings, both power off through control/shutdown, the clock runs all its rounds beside them, and
// every frame comes back. It judges only console lines, domain info, the reaper and physinfo.

import ApusCore
import GuestKit
import PVABI

enum LinuxTwiceTest {
    /// What each domain's relayed console lines showed so far.
    struct Seen {
        var id: UInt16
        var banner = false
        var userspace = false
        var answered = false
        var lines: UInt64 = 0
    }
    static var seen: [Seen] = []
    /// The line `echo twice-$((6 * 7))` prints: only a shell that ran the arithmetic writes it.
    static let answer = Array("twice-42".utf8)

    static func saw(_ id: UInt16) -> Seen { seen.first { $0.id == id } ?? Seen(id: id) }

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let freeBefore = Toolstack.freePages()
        guard let clockConfig = Toolstack.config(named: Array("clock-twice.cfg".utf8)),
              let first = Toolstack.config(named: Array("linux-twice-1.cfg".utf8)),
              let second = Toolstack.config(named: Array("linux-twice-2.cfg".utf8)) else { return false }
        DomainIO.observer = { id, line in
            var s = LinuxTwiceTest.saw(id)
            s.lines += 1
            if DomainIO.contains(line, Array("Linux version 5.4.286".utf8)) { s.banner = true }
            if DomainIO.contains(line, Array("linux-shell: userspace up".utf8)) { s.userspace = true }
            if line.elementsEqual(LinuxTwiceTest.answer) { s.answered = true }
            if let i = LinuxTwiceTest.seen.firstIndex(where: { $0.id == id }) { LinuxTwiceTest.seen[i] = s } else { LinuxTwiceTest.seen.append(s) }
        }

        // The clock last: its deadlines span both boots and the destroy, not the two builds before
        // them (building a 64 MiB domain holds the CPU for tens of milliseconds in one hypercall).
        let a = Toolstack.create(first)
        let b = Toolstack.create(second)
        let clock = Toolstack.create(clockConfig)
        check("create the clock and two Linux domUs", clock > 0 && a > 0 && b > 0, "clock d\(clock), Linux d\(a) and d\(b)")
        guard clock > 0 && a > 0 && b > 0 else { return finish(freeBefore) }
        let keep = UInt16(a), doomed = UInt16(b)

        // Mid-boot: the second's banner is in, its userspace line is not.
        let bannerIn = until(30_000_000_000) { saw(doomed).banner || stopped(doomed) != nil }
        let midBoot = bannerIn && saw(doomed).banner && !saw(doomed).userspace && stopped(doomed) == nil
        check("the second Linux was mid-boot: its banner arrived, its userspace line not yet, and it still ran", midBoot,
              "d\(doomed): banner \(saw(doomed).banner), userspace \(saw(doomed).userspace), stopped \(stopped(doomed) != nil)")
        let linesBefore = saw(keep).lines
        let keepStoppedBefore = stopped(keep) != nil
        let rc = Toolstack.destroy(doomed)
        check("destroy it mid-boot", rc == 0, "returned \(rc), d\(keep) had relayed \(linesBefore) lines")

        // The other goes on: its console keeps arriving and it reaches userspace.
        _ = until(60_000_000_000) { saw(keep).userspace || stopped(keep) != nil }
        check("the first Linux kept running after the second was destroyed", !keepStoppedBefore && stopped(keep) == nil,
              "d\(keep), reason \(stopped(keep) ?? 99)")
        check("its console kept arriving", saw(keep).lines > linesBefore,
              "\(linesBefore) lines at the destroy, \(saw(keep).lines) now")
        check("it reached userspace", saw(keep).userspace, "d\(keep): \(saw(keep).lines) lines relayed")

        // A third Linux beside it: two at userspace at once, each answering typed input.
        var both: [UInt16] = []
        if saw(keep).userspace {
            let c = Toolstack.create(second)
            check("create another Linux beside it", c > 0, "d\(c)")
            if c > 0 {
                let other = UInt16(c)
                _ = until(60_000_000_000) { saw(other).userspace || stopped(other) != nil }
                check("both reached userspace and run at once", saw(other).userspace && stopped(keep) == nil && stopped(other) == nil,
                      "d\(keep) stopped \(stopped(keep) != nil), d\(other) userspace \(saw(other).userspace)")
                both = [keep, other]
                for id in both { DomainIO.type(Array("echo twice-$((6 * 7))\r".utf8), to: id) }
                _ = until(20_000_000_000) { both.allSatisfy { saw($0).answered } }
                check("both shells answered a command typed into their console rings", both.allSatisfy { saw($0).answered },
                      "d\(keep) \(saw(keep).answered), d\(other) \(saw(other).answered)")
            }
        }
        for id in both where stopped(id) == nil {
            let reason = ShellPower.stop(id, reboot: false)
            check("it powered off through control/shutdown", reason == ShutdownReason.poweroff.rawValue, "d\(id), reason \(reason ?? 99)")
        }
        return finish(freeBefore, clock: UInt16(clock))
    }

    /// Services the rings and reaps until `done` holds or `ns` of system time passed; whether it held.
    static func until(_ ns: UInt64, _ done: () -> Bool) -> Bool {
        let deadline = GuestTime.now() + ns
        while GuestTime.now() < deadline {
            DomainIO.service()
            Reaper.reap()
            if done() { return true }
            Dom0Events.sleep(10_000_000)
        }
        return done()
    }

    /// The reason a domain stopped with (reaped, or stopped and not yet reaped), or nil while it runs.
    static func stopped(_ id: UInt16) -> UInt32? {
        if let r = Reaper.reaped.last(where: { $0.id == id }) { return r.reason }
        guard let info = Toolstack.info(id) else { return nil }
        return info.isShutdown ? info.shutdownReason : nil
    }

    /// Waits for the clock to end, destroys whatever is left, and checks the frames.
    static func finish(_ freeBefore: UInt32, clock: UInt16? = nil) -> Bool {
        let check = PVSelfTest.check
        if let clock {
            _ = until(20_000_000_000) { stopped(clock) != nil }
            // It ends itself after its last round: poweroff when every tick was on time, crash when
            // one was late. Building and destroying a 64 MiB domain is one domctl, not preemptible
            // yet (the hypervisor logs "ran N ms without preemption"), so a tick during one is late:
            // that is reported in the clock's own line, not judged here.
            let reason = stopped(clock)
            check("the clock domain ran all its rounds beside them and ended itself", reason == ShutdownReason.poweroff.rawValue || reason == ShutdownReason.crash.rawValue,
                  "reason \(reason ?? 99): \(reason == ShutdownReason.poweroff.rawValue ? "every tick on time" : "some ticks late")")
        }
        Reaper.reap()
        for info in Toolstack.all() where info.id != 0 { _ = Toolstack.destroy(info.id) }
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        console.print("linux-twice test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
