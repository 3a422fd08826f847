// BenchNet.swift: make bench's split-driver rows (issue #14), on bench-devices' boot (a virtio disk and
// a virtio-net card on QEMU's user network): a netdemo domU in bench mode (netdemo-bench.cfg) reads
// the disk region of dom0's own region row through its blkfront and dom0's blkback, then times 1-byte
// TCP echo round trips to dom0's lwIP echo (port 7) and to a second netdemo domU (netdemo-2.cfg).
// Dom0 serves their rings event-driven (no fixed sleeps in the loop: idle time would count under
// -icount), reads their reports (data/netdemo-bench-*) and prints them as bench lines.

import ApusCore
import GuestKit
import PVABI

enum BenchNet {
    static func reported(_ id: UInt16, _ key: StaticString) -> UInt64? {
        NetDemoTest.reported(id, key).flatMap { StorePayload.decimal($0) }.map { UInt64($0) }
    }

    static func run() -> Bool {
        guard Devices.attachNetwork() != nil,
              let benchConfig = Toolstack.config(named: Array("netdemo-bench.cfg".utf8)),
              let peerConfig = Toolstack.config(named: Array("netdemo-2.cfg".utf8)) else { return false }
        guard NetStack.run(atMost: 30_000_000_000, until: { NetStack.hasLease }) else {
            console.print("bench: dom0 got no DHCP lease")
            return false
        }
        var ids: [UInt16] = []
        for config in [benchConfig, peerConfig] {
            let created = Toolstack.create(config)
            guard created > 0 else { return false }
            ids.append(UInt16(created))
        }
        let bench = ids[0]
        let deadline = GuestTime.now() + 120_000_000_000
        func finished() -> Bool {
            NetDemoTest.reported(bench, "bench-done") != nil
                || ids.contains(where: { Toolstack.info($0)?.isShutdown == true })
        }
        while !finished() && GuestTime.now() < deadline {
            DomainIO.handled = DomainIO.signals
            DomainIO.service()
            NetStack.poll()
            if finished() { break }
            _ = Dom0Events.wait(atMost: 20_000_000) { DomainIO.isSignalled || (NetStack.nic?.hasWork ?? false) }
        }
        guard let bytes = reported(bench, "bench-blk-bytes"), let blk = reported(bench, "bench-blk-instructions"),
              let toDom0 = reported(bench, "bench-rtt-dom0"), let toDomU = reported(bench, "bench-rtt-domu") else {
            console.print("bench: the netdemo bench domU did not report every measurement")
            Bridge.describe()
            return false
        }
        console.print("bench: guest domu_blk_mib_per_ginstr_x100 \(BenchDevices.mibPerGinstrX100(bytes: bytes, blk))")
        console.print("bench: guest tcp_echo_rtt_domu_dom0 \(toDom0)")
        console.print("bench: guest tcp_echo_rtt_domu_domu \(toDomU)")
        return ids.allSatisfy { Toolstack.destroy($0) == 0 }
    }
}
