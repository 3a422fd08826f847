// NetDemoTest.swift: the `netdemo` scenario: dom0 brings up its virtio network card (lwIP takes
// 10.0.2.15 from QEMU's user network through the bridge's port 0), then creates two netdemo domUs
// (netdemo-1.cfg, netdemo-2.cfg) whose own blkfront and netfront (GuestKit) connect to dom0's
// blkback and netback. Each prints the sector it read, its DHCP lease, and the ping reply it got
// from the other through the bridge; the host's client (netdemo.setup) sends a random line through
// QEMU's hostfwd to 10.0.2.16:7 and the domU prints what it echoed. Dom0 follows their progress in
// their store directories (data/netdemo-*; the log's lines are checked by netdemo.expect and .verify),
// prints the bridge's counts, then destroys both and checks every frame and grant mapping came back.

import ApusCore
import GuestKit
import PVABI

enum NetDemoTest {
    /// What each domU reported in its store directory (data/netdemo-KEY): lines it printed through
    /// console_io, which dom0 does not see.
    static func reported(_ id: UInt16, _ key: StaticString) -> [UInt8]? {
        var path = Array("/local/domain/".utf8) + StorePayload.decimal(UInt32(id)) + Array("/data/netdemo-".utf8)
        key.withUTF8Buffer { path.append(contentsOf: $0) }
        return try? DomainIO.store.localRead(path).get()
    }

    static func count(_ ids: [UInt16], _ key: StaticString) -> Int { ids.filter { reported($0, key) != nil }.count }

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let nic = Devices.attachNetwork()
        check("dom0's network card is up, lwIP on the bridge", nic != nil, "")
        guard nic != nil, let one = Toolstack.config(named: Array("netdemo-1.cfg".utf8)),
              let two = Toolstack.config(named: Array("netdemo-2.cfg".utf8)) else { return false }
        // dom0 asks QEMU's DHCP first: it gets 10.0.2.15, the domUs the next two addresses.
        let leased = NetStack.run(atMost: 30_000_000_000) { NetStack.hasLease }
        check("dom0 has its DHCP lease", leased, "")
        NetStack.printInterface()
        let freeBefore = Toolstack.freePages()
        let slotsBefore = GrantWindow.used?.filter { $0 }.count ?? 0
        var ids: [UInt16] = []
        for config in [one, two] {
            let created = Toolstack.create(config)
            check("create a netdemo domU with a disk and a vif", created > 0, "d\(created)")
            guard created > 0 else { return false }
            ids.append(UInt16(created))
        }
        check("dom0 serves each one's vif and disk", ids.allSatisfy { Backends.count(of: $0) == 2 }, "")

        func runFor(_ ns: UInt64, until done: () -> Bool) -> Bool {
            let deadline = GuestTime.now() + ns
            while GuestTime.now() < deadline {
                DomainIO.service()
                NetStack.poll()
                if done() { return true }
                if ids.contains(where: { Toolstack.info($0)?.isShutdown == true }) { return done() }
                Dom0Events.sleep(10_000_000)
            }
            return done()
        }
        check("both read sector 0 of their disk through their blkfront", runFor(60_000_000_000) { count(ids, "sector") == 2 }, "\(count(ids, "sector")) read")
        check("both got a DHCP lease through their netfront and dom0's bridge", runFor(60_000_000_000) { count(ids, "lease") == 2 }, "\(count(ids, "lease")) leases")
        check("each pinged the other through dom0's bridge and got the reply", runFor(60_000_000_000) { count(ids, "ping") == 2 }, "\(count(ids, "ping")) replies")
        // The host's client connects through hostfwd in real time: no bound on guest time here (the
        // scenario's timeout is the bound), but a domU that dies or fails ends the wait.
        console.print("netdemo test: waiting for the host's line through hostfwd to 10.0.2.16:7")
        var echoed = false
        while !echoed && !ids.contains(where: { Toolstack.info($0)?.isShutdown == true }) {
            echoed = runFor(1_000_000_000) { count(ids, "echoes") > 0 }
        }
        check("a netdemo domU echoed the host's line", echoed, "")
        Bridge.describe()
        let rc1 = Toolstack.destroy(ids[0])
        check("destroy d1", rc1 == 0 && ids[0] == 1, "d\(ids[0]) returned \(rc1)")
        let rc2 = Toolstack.destroy(ids[1])
        check("destroy d2", rc2 == 0 && ids[1] == 2, "d\(ids[1]) returned \(rc2)")
        check("their backends and bridge ports are gone", ids.allSatisfy { Backends.count(of: $0) == 0 }, "")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        let slotsAfter = GrantWindow.used?.filter { $0 }.count ?? 0
        check("every grant mapping was undone", slotsAfter == slotsBefore, "\(UInt32(slotsAfter)) window slots used, \(UInt32(slotsBefore)) before")
        console.print("netdemo test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
