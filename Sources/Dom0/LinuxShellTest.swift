// LinuxShellTest.swift: the `linux-shell` scenario's dom0 side: the toolstack shell exactly as a user
// gets it, typed into on the serial line (Tests/Scenarios/linux-shell.dialogue): it creates Linux with a
// shell on hvc0, attaches to its console, runs commands there, detaches and shuts it down. When the
// shell is told to power off, this checks that no domU is left and every frame came back (physinfo
// before and after); what Linux answered is judged from the serial log (linux-shell.expect).

import ApusCore
import GuestKit
import PVABI

enum LinuxShellTest {
    static var freeBefore: UInt32 = 0

    static func run() -> Never {
        freeBefore = Toolstack.freePages()
        Shell.atPoweroff = {
            let check = PVSelfTest.check
            Reaper.reap()
            let left = Toolstack.all().filter { $0.id != 0 }.count
            check("no domU is left when the shell powers off", left == 0, "\(UInt32(left)) left")
            let freeAfter = Toolstack.freePages()
            check("every frame came back to the free pool", freeAfter == LinuxShellTest.freeBefore,
                  "\(freeAfter) free pages, \(LinuxShellTest.freeBefore) before")
            console.print("linux-shell test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
            return PVSelfTest.failed == 0
        }
        Shell.run()
    }
}
