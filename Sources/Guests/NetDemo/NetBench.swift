// NetBench.swift: netdemo's make bench mode (command line `bench=1`, Tests/Initrd/netdemo-bench.cfg):
// block read throughput through its blkfront and dom0's blkback (128 reads of 8 sectors, the shape of
// dom0's own virtio-blk row), and 1-byte TCP echo round trips through its netfront and dom0's bridge
// (netglue's client to a peer's echo port), each timed with the TSC (instructions under -icount) and
// reported in its store directory (data/netdemo-bench-*) for dom0 to print. Measures; decides nothing.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "apus_net_probe_connect") func apus_net_probe_connect(_ address: UInt32, _ port: UInt16) -> Int32
@_extern(c, "apus_net_probe_send") func apus_net_probe_send(_ data: UnsafeRawPointer, _ length: UInt16) -> Int32
@_extern(c, "apus_net_probe_close") func apus_net_probe_close()

enum NetBench {
    enum State { case idle, connecting, connected, closed }
    static var state = State.idle
    /// Bytes the client connection received so far.
    static var received: UInt32 = 0
    static let requests: UInt64 = 128, perRequest: UInt8 = 8
    static let roundTrips: UInt64 = 100

    static var enabled: Bool { StartOfDay.number("bench") == 1 }

    /// Reads the first 128 x 8 sectors of the disk (after 4 warm-up reads): the instructions spent,
    /// reported as data/netdemo-bench-blk-instructions (bytes in data/netdemo-bench-blk-bytes).
    static func disk(_ disk: inout Blkfront) {
        for _ in 0..<4 { guard disk.transfer(.read, sector: 0, count: 1) == BlkifStatus.okay.rawValue else { return fail("blk") } }
        let span = disk.sectors > UInt64(perRequest) ? disk.sectors - UInt64(perRequest) : 1
        let start = guest_rdtsc()
        for i in 0..<requests {
            guard disk.transfer(.read, sector: (i * UInt64(perRequest)) % span, count: perRequest) == BlkifStatus.okay.rawValue else { return fail("blk") }
        }
        let spent = guest_rdtsc() &- start
        NetDemo.report("bench-blk-bytes", StorePayload.decimal(UInt32(requests * UInt64(perRequest) * UInt64(disk.sectorSize))))
        NetDemo.report("bench-blk-instructions", StorePayload.decimal(UInt32(truncatingIfNeeded: spent)))
        NetDemo.console.print("netdemo: bench: \(requests * UInt64(perRequest)) sectors read through blkfront in \(spent) instructions")
    }

    static func fail(_ what: StaticString) {
        NetDemo.console.print("netdemo: bench: \(what) FAILED")
        NetDemo.report("bench-failed", Array("yes".utf8))
    }

    /// Runs lwIP (frames in, timers), blocked between turns, until `condition` holds or `ns` pass.
    static func run(_ n: Netfront, atMost ns: UInt64, until condition: () -> Bool) -> Bool {
        let deadline = GuestTime.now() &+ ns
        while !condition() {
            if GuestTime.now() >= deadline { return false }
            n.service { frame in _ = apus_net_input(frame.baseAddress!, UInt32(frame.count)) }
            apus_net_timers()
            if condition() { break }
            _ = FrontendClock.wait(atMost: 20_000_000) { n.hasWork }
        }
        return true
    }

    /// Connects to `address`:7, then times 100 one-byte round trips (send, wait for the echo):
    /// the instructions per round trip, or nil.
    static func echo(_ n: Netfront, to address: UInt32) -> UInt64? {
        state = .connecting
        received = 0
        let rc = apus_net_probe_connect(address, 7)
        guard rc == 0, run(n, atMost: 10_000_000_000, until: { state != .connecting }), state == .connected else {
            NetDemo.console.print("netdemo: bench: connect to port 7 FAILED (\(rc < 0 ? StaticString("error -") : StaticString("")) \(UInt32(rc.magnitude)), \(state == .closed ? StaticString("refused or reset") : StaticString("no answer")))")
            apus_net_probe_close()
            return nil
        }
        var byte: UInt8 = 0x61
        let start = guest_rdtsc()
        for i in 0..<UInt32(roundTrips) {
            let sent = withUnsafeBytes(of: &byte, { apus_net_probe_send($0.baseAddress!, 1) })
            guard sent == 0, run(n, atMost: 5_000_000_000, until: { received > i || state != .connected }), received > i else {
                NetDemo.console.print("netdemo: bench: round trip \(i) FAILED (\(received) bytes back, send error \(UInt32(sent.magnitude)), \(n.errors) netfront errors)")
                apus_net_probe_close()
                return nil
            }
        }
        let spent = guest_rdtsc() &- start
        apus_net_probe_close()
        return spent / roundTrips
    }

    /// Both round trips: to dom0 (10.0.2.15 on QEMU's user network) and to the other netdemo domU.
    static func network(_ n: Netfront, dom0: UInt32, other: UInt32) {
        for (key, address) in [("bench-rtt-dom0", dom0), ("bench-rtt-domu", other)] as [(StaticString, UInt32)] {
            guard let perTrip = echo(n, to: address) else { fail(key); continue }
            var l = LogLine("netdemo: bench: 1-byte TCP echo round trip to ")
            NetDemo.append(&l, address: address)
            l.append(":7: ")
            l.append(decimal: perTrip)
            l.append(" instructions")
            NetDemo.console.print(l)
            NetDemo.report(key, StorePayload.decimal(UInt32(truncatingIfNeeded: perTrip)))
        }
        NetDemo.report("bench-done", Array("yes".utf8))
    }
}
