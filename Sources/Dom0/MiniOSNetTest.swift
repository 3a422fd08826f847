// MiniOSNetTest.swift: the `minios-net` scenario: dom0 brings up its virtio network card (lwIP and
// DHCP from QEMU's user network behind the bridge's port 0), creates the unmodified Mini-OS test
// kernel with a vif, lets its netfront connect to dom0's netback, sends a frame of a length nothing
// else on the bridge has to the vif's MAC and waits for Mini-OS's `N bytes incoming`, then asks it
// to power off (its netfront closes through the xenbus states), destroys it, and checks every frame
// and grant-window slot came back. It judges only what the guest printed and the backend's counts.

import ApusCore
import GuestKit
import PVABI

enum MiniOSNetTest {
    /// The lengths of every `N bytes incoming at ...` line Mini-OS printed.
    static var incoming: [UInt32] = []
    /// 97 bytes: an Ethernet header, a local experimental ethertype and a sentence.
    static let testLength = 97

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let nic = Devices.attachNetwork()
        check("dom0's network card is up, lwIP on the bridge", nic != nil, "")
        guard nic != nil, let config = Toolstack.config(named: Array("minios-net.cfg".utf8)) else { return false }
        let freeBefore = Toolstack.freePages()
        let slotsBefore = GrantWindow.used?.filter { $0 }.count ?? 0
        DomainIO.observer = { _, line in
            guard DomainIO.contains(line, Array(" bytes incoming at ".utf8)) else { return }
            var n: UInt32 = 0
            var i = 0
            while i < line.count, line[i] >= 0x30, line[i] <= 0x39, n < 1 << 20 { n = n * 10 + UInt32(line[i] - 0x30); i += 1 }
            if i > 0 { MiniOSNetTest.incoming.append(n) }
        }
        let created = Toolstack.create(config)
        check("create Mini-OS with a vif on dom0's bridge", created > 0, "d\(created)")
        guard created > 0 else { return false }
        let id = UInt16(created)
        let vif = Backends.vifs.first { $0.domain == id }
        check("dom0 serves its vif 0", vif != nil, "\(UInt32(Backends.count(of: id))) backends")
        guard let vif else { return false }

        func runFor(_ ns: UInt64, until done: () -> Bool) -> Bool {
            let deadline = GuestTime.now() + ns
            while GuestTime.now() < deadline {
                DomainIO.service()
                NetStack.poll()
                if done() { return true }
                if Toolstack.info(id)?.isShutdown == true { return done() }
                Dom0Events.sleep(10_000_000)
            }
            return done()
        }
        check("its netfront connected to dom0's netback", runFor(30_000_000_000) { vif.rxRing != nil }, "")

        // A frame for the vif's MAC from dom0's side of the bridge.
        var frame = [UInt8](repeating: 0, count: testLength)
        for i in 0..<6 { frame[i] = UInt8(truncatingIfNeeded: vif.mac >> UInt64(8 * (5 - i))) }
        let source: [UInt8] = [0x00, 0x16, 0x3E, 0x00, 0x00, 0x00]
        for i in 0..<6 { frame[6 + i] = source[i] }
        frame[12] = 0x88
        frame[13] = 0xB5
        for (i, b) in Array("Apus: a frame dom0 sent on xenbr0".utf8).enumerated() { frame[14 + i] = b }
        let before = vif.framesIn
        frame.withUnsafeBytes { Bridge.forward($0, from: Bridge.hostPort) }
        check("the bridge handed dom0's frame to the vif", vif.framesIn == before + 1, "\(vif.framesIn) frames to it")
        let arrived = runFor(10_000_000_000) { incoming.contains(UInt32(testLength)) }
        check("Mini-OS received it (97 bytes incoming)", arrived, "\(UInt32(incoming.count)) frames it printed")
        Bridge.describe()

        let reason = ShellPower.stop(id, reboot: false)
        check("it stopped with reason poweroff", reason == ShutdownReason.poweroff.rawValue, "reason \(reason ?? 99)")
        check("its netfront closed the connection first", vif.rxRing == nil && vif.handshake.state == .initWait,
              "backend state \(UInt32(vif.handshake.state.rawValue))")
        let rc = Toolstack.destroy(id)
        check("destroy it", rc == 0, "returned \(rc)")
        check("its backend and bridge port are gone", Backends.count(of: id) == 0 && !Bridge.table.entries.contains { $0.port == vif.bridgePort }, "")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        let slotsAfter = GrantWindow.used?.filter { $0 }.count ?? 0
        check("every grant mapping was undone", slotsAfter == slotsBefore, "\(UInt32(slotsAfter)) window slots used, \(UInt32(slotsBefore)) before")
        console.print("minios-net test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
