// MiniOSTest.swift: the `minios` and `minios-test` scenarios: dom0 creates an unmodified Mini-OS
// from its config, waits for a line of its own console output (relayed from its console ring),
// lets it run on, asks it to stop through control/shutdown, checks it stopped with reason poweroff
// (or, when a frontend waits for a backend dom0 cannot give it, that it began to), destroys it and
// checks every frame came back (physinfo before and after). It judges only what
// the guest wrote to its ring, the hypervisor's domain info and physinfo.

import ApusCore
import GuestKit
import PVABI

enum MiniOSTest {
    /// `awaited`: a piece of a console line that shows the guest got that far; `runOn`: system time
    /// to let it run after that line.
    /// The seconds of every `T(s=... us=...)` line Mini-OS's periodic thread printed.
    static var periodic: [UInt64] = []

    /// `stopsCleanly`: false for a guest whose frontends wait for backends on the way down;
    /// `echoesInput`: type a line into its console ring and wait for Mini-OS's echo.
    static func run(_ configName: StaticString, awaited: StaticString, runOn: UInt64, periodicLines: Int = 0,
                    stopsCleanly: Bool = true, echoesInput: Bool = false, summary: StaticString) -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let freeBefore = Toolstack.freePages()
        var name: [UInt8] = []
        configName.withUTF8Buffer { name = Array($0) }
        guard let config = Toolstack.config(named: name) else { return false }
        awaited.withUTF8Buffer { DomainIO.awaited = Array($0) }
        DomainIO.awaitedSeen = false
        DomainIO.observer = { _, line in
            // "T(s=1234 us=5678)": the seconds, when the line has that shape.
            guard line.count > 4, line[0] == 0x54, line[1] == 0x28, line[2] == 0x73, line[3] == 0x3D else { return }
            var s: UInt64 = 0
            var i = 4
            while i < line.count, line[i] >= 0x30, line[i] <= 0x39, s < 1 << 40 { s = s * 10 + UInt64(line[i] - 0x30); i += 1 }
            if i > 4 { MiniOSTest.periodic.append(s) }
        }
        let created = Toolstack.create(config)
        check("create Mini-OS from its configuration", created > 0, "d\(created)")
        guard created > 0 else { return false }
        let id = UInt16(created)
        check("its console and store rings are connected", DomainIO.hasConsole(id) && DomainIO.hasStore(id), "d\(id)")

        let deadline = GuestTime.now() + 30_000_000_000
        while !DomainIO.awaitedSeen && GuestTime.now() < deadline {
            DomainIO.service()
            if Toolstack.info(id)?.isShutdown == true { break }
            Dom0Events.sleep(10_000_000)
        }
        check("its console line arrived through the ring", DomainIO.awaitedSeen, "\(DomainIO.linesRelayed(id)) lines so far")
        if echoesInput {
            // What `console <id>` does with typed bytes: into the domain's `in` ring, then notify.
            // Mini-OS echoes console input and answers a carriage return with a sentence. It takes
            // one byte per event (its echo writes a NUL after the byte it read, over the next one), so
            // the bytes go in as a person types them.
            DomainIO.awaited = Array("No console input handler.".utf8)
            DomainIO.awaitedSeen = false
            var typed = true
            for b in Array("hello from dom0\r".utf8) {
                typed = typed && DomainIO.type([b], to: id)
                DomainIO.service()
                Dom0Events.sleep(5_000_000)
            }
            let until = GuestTime.now() + 5_000_000_000
            while !DomainIO.awaitedSeen && GuestTime.now() < until {
                DomainIO.service()
                Dom0Events.sleep(10_000_000)
            }
            check("typed input reached it through its console ring", typed && DomainIO.awaitedSeen, "d\(id)")
        }
        let runUntil = GuestTime.now() + runOn
        while GuestTime.now() < runUntil {
            DomainIO.service()
            Dom0Events.sleep(10_000_000)
        }

        if periodicLines > 0 {
            var advancing = 0
            for i in periodic.indices.dropFirst() where periodic[i] > periodic[i - 1] { advancing += 1 }
            check("its periodic thread's T(s=...) lines advance", advancing + 1 >= periodicLines,
                  "\(UInt32(periodic.count)) lines, \(UInt32(advancing)) advances")
        }
        if stopsCleanly {
            let reason = ShellPower.stop(id, reboot: false)
            check("it stopped with reason poweroff", reason == ShutdownReason.poweroff.rawValue, "reason \(reason ?? 99)")
        } else {
            // Its blkfront waits for a backend its disk cannot have, so it never finishes stopping:
            // it must still read control/shutdown and begin.
            DomainIO.awaited = Array("Shutting down (poweroff)".utf8)
            DomainIO.awaitedSeen = false
            _ = ShellPower.ask(id, reboot: false)
            _ = ShellPower.waitForStop(id, timeout: 2_000_000_000)
            check("it read control/shutdown and began shutting down", DomainIO.awaitedSeen, "d\(id)")
            console.print("d\(id) waits for its vbd backend (its disk names no backing dom0 has) before it stops; destroying it")
        }
        let rc = Toolstack.destroy(id)
        check("destroy it", rc == 0, "returned \(rc)")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        console.print("\(summary): \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
