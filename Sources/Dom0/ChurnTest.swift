// ChurnTest.swift: the `churn` scenario: dom0 creates and destroys 200 domains in a row; free
// frames (physinfo) and the domain table (getdomaininfo) must come back to where they started.

import ApusCore
import GuestKit
import PVABI

enum ChurnTest {
    static let rounds = 200

    static func run() -> Bool {
        let check = PVSelfTest.check
        guard let config = Toolstack.config(named: Array("churn.cfg".utf8)) else { return false }
        let freeBefore = Toolstack.freePages()
        let domainsBefore = Toolstack.all().count
        var created = 0
        var destroyed = 0
        var highestID: Int32 = 0
        for round in 0..<rounds {
            let id = Toolstack.create(config, paused: round % 2 == 0)
            if id > 0 {
                created += 1
                highestID = max(highestID, id)
                if round % 2 == 1 { _ = xen.schedOp(.yield) }        // let the unpaused ones run a little
                if Toolstack.destroy(UInt16(id)) == 0 { destroyed += 1 }
            }
            if round % 50 == 49 { console.print("churn: \(UInt32(round + 1)) domains created and destroyed, \(Toolstack.freePages()) free pages") }
        }
        let freeAfter = Toolstack.freePages()
        let domainsAfter = Toolstack.all().count
        check("200 domains created and destroyed", created == rounds && destroyed == rounds, "created \(UInt32(created)), destroyed \(UInt32(destroyed)), highest id \(highestID)")
        check("free frames back to the starting value", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        check("the domain table back to the starting value", domainsAfter == domainsBefore, "\(UInt32(domainsAfter)) domains, \(UInt32(domainsBefore)) before")
        console.print("churn test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
