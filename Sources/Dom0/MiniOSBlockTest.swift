// MiniOSBlockTest.swift: the `minios-blk` scenario: dom0 brings up its virtio disk, creates the
// unmodified Mini-OS test kernel with a `disk` line on a byte range of that disk, lets its blkfront
// connect to dom0's blkback and read (sector 0, the last sector, then random sectors), watches its
// `N read, M write` progress grow, asks it to power off (its blkfront closes through the xenbus
// states), destroys it and checks every frame and every grant-window slot came back. It judges only
// what the guest printed, the backend's counters and the hypervisor's answers.

import ApusCore
import GuestKit
import PVABI

enum MiniOSBlockTest {
    /// The bytes-read figure of every `N read, M write` line Mini-OS printed.
    static var progress: [UInt64] = []

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let disk = Devices.attachDisk()
        check("dom0's virtio disk is up", disk != nil, "")
        guard disk != nil, let config = Toolstack.config(named: Array("minios-blk.cfg".utf8)) else { return false }
        let freeBefore = Toolstack.freePages()
        let slotsBefore = GrantWindow.used?.filter { $0 }.count ?? 0
        DomainIO.observer = { _, line in
            // "12345 read, 0 write": the first number.
            guard DomainIO.contains(line, Array(" read, ".utf8)), DomainIO.contains(line, Array(" write".utf8)) else { return }
            var n: UInt64 = 0
            var i = 0
            while i < line.count, line[i] >= 0x30, line[i] <= 0x39, n < 1 << 50 { n = n * 10 + UInt64(line[i] - 0x30); i += 1 }
            if i > 0 { MiniOSBlockTest.progress.append(n) }
        }
        let created = Toolstack.create(config)
        check("create Mini-OS with a disk on dom0's virtio disk", created > 0, "d\(created)")
        guard created > 0 else { return false }
        let id = UInt16(created)
        check("dom0 serves its vbd 768", Backends.count(of: id) == 1, "\(UInt32(Backends.count(of: id))) backends")

        // Mini-OS prints its progress at once and then every ten seconds or so.
        let deadline = GuestTime.now() + 60_000_000_000
        while GuestTime.now() < deadline && !(progress.count >= 2 && progress[progress.count - 1] > progress[progress.count - 2]) {
            DomainIO.service()
            if Toolstack.info(id)?.isShutdown == true { break }
            Dom0Events.sleep(20_000_000)
        }
        let last = progress.last ?? 0
        let before = progress.count >= 2 ? progress[progress.count - 2] : 0
        check("its blkfront's reads progress", progress.count >= 2 && last > before,
              "\(UInt32(progress.count)) progress lines, last \(last) bytes read")
        if let b = Backends.blocks.first(where: { $0.domain == id }) {
            check("the backend read sector 0 and the last sector for it", b.shownFirst && b.shownLast, "\(b.reads) reads")
            check("no request was refused", b.refused == 0, "\(b.refused) refused")
        }

        let reason = ShellPower.stop(id, reboot: false)
        check("it stopped with reason poweroff", reason == ShutdownReason.poweroff.rawValue, "reason \(reason ?? 99)")
        let closed = Backends.blocks.first(where: { $0.domain == id })
        check("its blkfront closed the connection first", closed?.ring == nil && closed?.handshake.state == .initWait,
              "backend state \(UInt32(closed?.handshake.state.rawValue ?? 99))")
        let rc = Toolstack.destroy(id)
        check("destroy it", rc == 0, "returned \(rc)")
        check("its backend is gone", Backends.count(of: id) == 0, "")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        let slotsAfter = GrantWindow.used?.filter { $0 }.count ?? 0
        check("every grant mapping was undone", slotsAfter == slotsBefore, "\(UInt32(slotsAfter)) window slots used, \(UInt32(slotsBefore)) before")
        console.print("minios-blk test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
