// HostileTest.swift: the `hostile` scenario: dom0 offers the hostile domain one read-only page through its own grant
// table (ref 8, named on the hostile domain's command line), runs it beside a well-behaved clock domain, reaps both,
// and checks the hostile one was killed (crash) while the clock finished, that every frame came back (physinfo
// before and after), and that xenstored still serves dom0 after the hostile domain flooded it.

import ApusCore
import GuestKit
import PVABI

enum HostileTest {
    static let readonlyRef: UInt32 = 8

    static func run() -> Bool {
        let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        for (i, b) in "dom0's read-only page".utf8.enumerated() { page.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        let frame = Kernel.startInfo.machineFrame(ofPFN: UInt32(UInt(bitPattern: page)) >> 12)
        // dom0's table takes its frame before the scenario counts free frames.
        guard OwnGrants.prepare() else { return false }
        let passed = BesideTheClock.run("hostile.cfg", what: "hostile", createCheck: "create the clock and the hostile domain",
                                        ends: .crash, endCheck: "the hostile domain was killed", maxWaits: 300, summary: "hostile test",
                                        prepare: { subject in
            PVSelfTest.check("offer the hostile domain a read-only page (grant 8)",
                             OwnGrants.offer(frame, to: subject, ref: readonlyRef, readonly: true), "d\(subject)")
        }, finish: {
            PVSelfTest.check("the read-only grant is no longer mapped and can be ended", OwnGrants.revoke(readonlyRef), "grant 8")
            let probe = Array("/local/domain/0/hostile-probe".utf8)
            let wrote = DomainIO.write(probe, Array("still here".utf8))
            let back = try? DomainIO.store.localRead(probe).get()
            PVSelfTest.check("xenstored still serves dom0 after the flood", (try? wrote.get()) != nil && back == Array("still here".utf8), "")
        })
        return passed
    }
}
