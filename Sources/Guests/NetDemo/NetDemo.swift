// NetDemo.swift: a domU with our own split drivers and lwIP (the library dom0 uses, through the same
// netglue): its blkfront reads the first sector of its disk, prints it and closes, its netfront connects to
// dom0's netback, lwIP takes a DHCP lease from QEMU's user network through dom0's bridge, serves a
// TCP echo on port 7 (a line printed per echo), and pings the other netdemo domU (or `peer=A.B.C.D`) until it answers.
// It runs lwIP from its main loop only, blocked between turns until its vif's event or a 20 ms timer.
// Its progress also goes to its store directory (data/netdemo-*), for dom0's scenario to follow. With
// `bench=1` on its command line it also runs make bench's disk and echo measurements (NetBench).

import ApusCore
import GuestKit
import PVABI

@_extern(c, "apus_net_start") func apus_net_start(_ mac: UnsafeRawPointer)
@_extern(c, "apus_net_input") func apus_net_input(_ frame: UnsafeRawPointer, _ length: UInt32) -> Int32
@_extern(c, "apus_net_timers") func apus_net_timers()
@_extern(c, "apus_net_info") func apus_net_info(_ which: Int32) -> UInt32
@_extern(c, "apus_net_ping") func apus_net_ping(_ address: UInt32, _ seq: UInt16) -> Int32
@_extern(c, "apus_net_echo_listen") func apus_net_echo_listen(_ port: UInt16) -> Int32

enum NetDemo {
    static let console = GuestConsole(xen)
    static var nic: Netfront? = nil
    static var seed: UInt32 = 0x2545_F491
    static var pingReplies: [(seq: UInt16, from: UInt32)] = []
    /// The echo connection under way: its peer and the bytes of its line so far.
    static var peer: (address: UInt32, port: UInt16) = (0, 0)
    static var line: [UInt8] = []
    static var echoes: UInt32 = 0

    /// `a` (network byte order, as lwIP keeps it) in dotted decimal.
    static func append(_ line: inout LogLine, address a: UInt32) {
        for i in 0..<4 {
            if i > 0 { line.append(".") }
            line.append(decimal: UInt64((a >> UInt32(8 * i)) & 0xFF))
        }
    }

    static func append(_ line: inout LogLine, bytes: [UInt8]) {
        for b in bytes where line.count < 180 { line.append(byte: b >= 0x20 && b < 0x7F ? b : 0x2E) }
    }

    /// The first line of sector 0 of its disk, read through its blkfront and dom0's blkback.
    static func readDisk() {
        guard var disk = Blkfront(handle: 51712) else {
            console.print("netdemo: blkfront: no disk connected (device/vbd/51712)")
            return
        }
        var head = LogLine("netdemo: blkfront: device/vbd/51712 connected to ")
        append(&head, bytes: disk.handshake.backend)
        head.append(": ")
        head.append(decimal: disk.sectors)
        head.append(" sectors of ")
        head.append(decimal: UInt64(disk.sectorSize))
        head.append(disk.readonly ? StaticString(" bytes, read-only") : StaticString(" bytes, writable"))
        console.print(head)
        let status = disk.transfer(.read, sector: 0, count: 1)
        var text = LogLine("netdemo: blkfront: sector 0 ")
        if status == BlkifStatus.okay.rawValue {
            text.append("reads '")
            for i in 0..<120 {
                let b = disk.data.load(fromByteOffset: i, as: UInt8.self)
                if b == 0 || b == 10 { break }
                text.append(byte: b >= 0x20 && b < 0x7F ? b : 0x2E)
            }
            text.append("'")

        } else {
            text.append("FAILED (status ")
            let s = Int32(status ?? 99)
            if s < 0 { text.append("-") }
            text.append(decimal: UInt64(s.magnitude))
            text.append(")")
        }
        console.print(text)
        guard status == BlkifStatus.okay.rawValue else { return }
        report("sector", Array("ok".utf8))
        if NetBench.enabled { NetBench.disk(&disk) }
        // Done with the disk: closed as Linux's blkfront closes, its grants ended.
        let closed = disk.close()
        console.print("netdemo: blkfront: \(closed ? StaticString("closed through states 5 and 6, its grants ended") : StaticString("close FAILED")) (\(DomUGrants.inUse) grants in use)")
    }

    /// Progress for dom0 (which cannot see console_io lines): data/netdemo-KEY in its own store directory.
    static func report(_ key: StaticString, _ value: [UInt8]) {
        var path = Array("data/netdemo-".utf8)
        key.withUTF8Buffer { path.append(contentsOf: $0) }
        if !DomUStore.write(path, value) { console.print("netdemo: writing \(key) to xenstore FAILED") }
    }

    static var address: UInt32 { apus_net_info(0) }
    static var hasLease: Bool { apus_net_info(3) != 0 }

    /// The peer named by `peer=A.B.C.D` on its command line (the config's `extra`), if any.
    static var configuredPeer: UInt32? = nil

    /// The domU it pings: its configured peer, else the other netdemo domU (QEMU's DHCP gives dom0
    /// 10.0.2.15 and the two domUs .16 and .17).
    static func otherAddress() -> UInt32 {
        if let p = configuredPeer { return p }
        let last = address >> 24
        return (address & 0x00FF_FFFF) | (last == 16 ? 17 : 16) << 24
    }

    static func run() -> Never {
        if let word = StartOfDay.argument("peer") { configuredPeer = ShellCommand.ipv4(word) }
        readDisk()
        guard let n = Netfront.connect(handle: 0) else {
            console.print("netdemo: netfront: device/vif/0 did not connect")
            StartOfDay.shutdown(.crash)
        }
        nic = n
        var head = LogLine("netdemo: netfront: device/vif/0 connected to ")
        append(&head, bytes: n.handshake.backend)
        head.append(", mac ")
        for i in 0..<6 {
            if i > 0 { head.append(":") }
            for nibble in [n.mac[i] >> 4, n.mac[i] & 0xF] { head.append(byte: nibble < 10 ? 48 + nibble : 87 + nibble) }
        }
        head.append(", event channel ")
        head.append(decimal: UInt64(n.port))
        console.print(head)
        seed ^= UInt32(truncatingIfNeeded: guest_rdtsc())
        withUnsafeBytes(of: n.mac) { apus_net_start($0.baseAddress!) }

        var leased = false
        var pinged = false
        var seq: UInt16 = 0
        var nextPing: UInt64 = 0
        var reported: UInt32 = 0
        while true {
            n.service { frame in _ = apus_net_input(frame.baseAddress!, UInt32(frame.count)) }
            apus_net_timers()
            if !leased && hasLease {
                leased = true
                var l = LogLine("netdemo: DHCP lease ")
                append(&l, address: address)
                l.append(" netmask ")
                append(&l, address: apus_net_info(1))
                l.append(" gateway ")
                append(&l, address: apus_net_info(2))
                l.append(" from QEMU's user network through dom0's bridge")
                console.print(l)
                report("lease", Array("ok".utf8))
                let rc = apus_net_echo_listen(7)
                var e = LogLine("netdemo: TCP echo service ")
                e.append(rc == 0 ? StaticString("on ") : StaticString("FAILED on "))
                append(&e, address: address)
                e.append(":7")
                console.print(e)
            }
            if leased && !pinged {
                if let reply = pingReplies.first {
                    pinged = true
                    var l = LogLine("netdemo: ping ")
                    append(&l, address: otherAddress())
                    l.append(configuredPeer == nil ? StaticString(" (the other netdemo domU): echo reply seq ") : StaticString(" (its peer from the command line): echo reply seq "))
                    l.append(decimal: UInt64(reply.seq))
                    l.append(" from ")
                    append(&l, address: reply.from)
                    console.print(l)
                    report("ping", Array("ok".utf8))
                    // make bench (bench=1): round trips to dom0 (10.0.2.15) and to the other domU.
                    if NetBench.enabled { NetBench.network(n, dom0: (address & 0x00FF_FFFF) | 15 << 24, other: otherAddress()) }
                } else if GuestTime.now() >= nextPing {
                    seq &+= 1
                    _ = apus_net_ping(otherAddress(), seq)
                    nextPing = GuestTime.now() &+ 250_000_000
                }
            }
            if echoes != reported {
                reported = echoes
                report("echoes", StorePayload.decimal(echoes))
            }
            _ = FrontendClock.wait(atMost: 20_000_000) { n.hasWork }
        }
    }
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    StartOfDay.runOrCrash(startInfo, "netdemo")
    GuestEvents.enable()
    FrontendClock.bindTimer()
    guard DomUStore.attach() else {
        NetDemo.console.print("netdemo: no xenstore ring in start_info")
        StartOfDay.shutdown(.crash)
    }
    NetDemo.run()
}

@_cdecl("guest_trap_dispatch") public func guestTrapDispatch(_ frame: UnsafeMutableRawPointer) { GuestTraps.standard(frame) }
@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) { StartOfDay.shutdown(.crash) }
