// BenchDevices.swift: make bench's device rows, on their own boot with a virtio disk (bench-devices):
// instructions from a device interrupt reaching the hypervisor to the first instruction of dom0's
// handler for it, and virtio-blk read throughput in sectors per million instructions (guest and
// hypervisor together: under -icount the device's own time is not counted), also over the disk region
// make bench's netdemo domU reads through blkback (BenchNet). Measures and prints.

import ApusCore
import GuestKit
import PVABI

enum BenchDevices {
    static func deviceIRQTSC() -> UInt64 {
        let (_, out) = Toolstack.sysctl(.perfcOp)
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(out[SysctlLayout.deviceIRQTSCOffset + $1]) << (8 * UInt64($1)) }
    }

    static func run() -> Bool {
        Reaper.start()
        GuestEvents.enable()
        guard let disk = Devices.attachDisk() else { return false }
        // Warm up: the first requests map and fault in what later ones reuse.
        for _ in 0..<4 { guard disk.transfer(VirtioBlock.read, sector: 0, sectors: 1) == .ok else { return false } }
        var total: UInt64 = 0
        let rounds: UInt64 = 64
        for i in 0..<rounds {
            guard disk.transfer(VirtioBlock.read, sector: i, sectors: 1) == .ok else { return false }
            total += disk.handlerTSC &- deviceIRQTSC()
        }
        console.print("bench: guest device_irq_to_handler \(total / rounds)")
        let requests: UInt64 = 128, perRequest = UInt64(VirtioBlockDevice.maxSectors)
        let start = guest_rdtsc()
        for i in 0..<requests {
            guard disk.transfer(VirtioBlock.read, sector: (i * perRequest) % (disk.capacity - perRequest), sectors: Int(perRequest)) == .ok else {
                return false
            }
        }
        let spent = guest_rdtsc() - start
        console.print("bench: guest blk_read_sectors_per_minstr_x100 \(requests * perRequest * 100_000_000 / spent)")
        console.print("bench: guest blk_read_instructions_per_request \(spent / requests)")
        // The region netdemo-bench.cfg's domU reads through blkback (1 MiB to 3 MiB), in the same shape.
        let region: UInt64 = 2048, regionSectors: UInt64 = 4096
        let regionStart = guest_rdtsc()
        for i in 0..<requests {
            guard disk.transfer(VirtioBlock.read, sector: region + (i * perRequest) % (regionSectors - perRequest), sectors: Int(perRequest)) == .ok else {
                return false
            }
        }
        console.print("bench: guest blk_region_mib_per_ginstr_x100 \(mibPerGinstrX100(bytes: requests * perRequest * 512, guest_rdtsc() - regionStart))")
        return blkbackMoves() && BenchNet.run()
    }

    /// Throughput in MiB per 10^9 instructions, times 100.
    static func mibPerGinstrX100(bytes: UInt64, _ instructions: UInt64) -> UInt64 {
        instructions == 0 ? 0 : bytes * 100_000_000_000 / 1_048_576 / instructions
    }

    /// Issue #14's question, grant copy or grant map for blkback's data: Mini-OS's blkfront reads
    /// one-sector requests through dom0's blkback; dom0 counts the instructions that move each
    /// sector between its staging page and the frontend's grant, 256 sectors each way of doing it.
    static func blkbackMoves() -> Bool {
        guard let config = Toolstack.config(named: Array("minios-blk.cfg".utf8)) else { return false }
        let created = Toolstack.create(config)
        guard created > 0 else { return false }
        let id = UInt16(created)
        var perSector: [UInt64] = []
        for viaMaps in [false, true] {
            BlockBackend.viaMaps = viaMaps
            BlockBackend.moveInstructions = 0
            BlockBackend.movedSectors = 0
            let deadline = GuestTime.now() + 60_000_000_000
            while BlockBackend.movedSectors < 256 && GuestTime.now() < deadline {
                DomainIO.service()
                Dom0Events.sleep(1_000_000)
            }
            guard BlockBackend.movedSectors >= 256 else { return false }
            perSector.append(BlockBackend.moveInstructions / BlockBackend.movedSectors)
        }
        BlockBackend.viaMaps = false
        console.print("bench: guest blkback_grant_copy_per_sector \(perSector[0])")
        console.print("bench: guest blkback_grant_map_per_sector \(perSector[1])")
        return Toolstack.destroy(id) == 0
    }
}
