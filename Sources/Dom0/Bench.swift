// Bench.swift: make bench's guest side: dom0 times PV operations with the TSC (one tick per
// instruction under QEMU's -icount shift=0) and prints "bench: guest NAME TICKS" lines that
// Scripts/bench.py turns into the table. It measures; it judges nothing.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "user_bench_entry") func user_bench_entry()

enum Bench {
    static let n: UInt32 = 2000

    /// Median of five runs of `body` per operation, minus an empty loop of the same length.
    static func measure(_ count: UInt32 = n, _ body: () -> Void) -> UInt64 {
        var samples: [UInt64] = []
        for _ in 0..<5 {
            let t0 = guest_rdtsc()
            var i: UInt32 = 0
            while i < count { i &+= 1; emptyStep() }
            let t1 = guest_rdtsc()
            i = 0
            while i < count { i &+= 1; body() }
            let t2 = guest_rdtsc()
            let loop = t1 - t0, op = t2 - t1
            samples.append(op > loop ? (op - loop) / UInt64(count) : 0)
        }
        samples.sort()
        return samples[2]
    }
    @inline(never) static func emptyStep() {}

    static func report(_ name: StaticString, _ ticks: UInt64) { console.print("bench: guest \(name) \(ticks)") }

    static func run(startTSC: UInt64) -> Bool {
        console.print("bench: guest first_instruction_tsc \(startTSC)")
        report("null_hypercall", measure { _ = xen.xenVersion(.version) })

        // System calls from ring 3: 10000 int 0x80 in one ring-3 run.
        _ = PVSelfTest.markUserPages()
        let s0 = guest_rdtsc()
        _ = guest_enter_user(UInt32(UInt(bitPattern: unsafeBitCast(user_bench_entry as @convention(c) () -> Void, to: UnsafeRawPointer.self))),
                             guest_symbol(GuestSymbol.userStackTop))
        report("syscall", (guest_rdtsc() - s0) / 10_000)

        report("page_fault", measure { _ = guest_probe_read(0x4000_0000) })

        let window = guest_symbol(GuestSymbol.scratchWindow)
        let si = Kernel.startInfo
        let mfn = si.machineFrame(ofPFN: window >> 12)
        let pte = UInt64(mfn) << 12 | 0x63
        report("update_va_mapping_invlpg", measure { _ = xen.updateVAMapping(window, pte, flags: UpdateVAFlags.invalidatePage) })

        var one = MMUBatch()
        one.normal(entryAt: UInt64(MemoryTest.mfn(MemoryTest.l1EntryVA(of: window) >> 12)) << 12 | UInt64(MemoryTest.l1EntryVA(of: window) & 0xFFF), pte)
        report("mmu_update_1", measure { _ = one.run(xen) })

        // A pinned spare L1, rewritten 512 entries per call.
        let spare = si.nrPages - 1
        _ = MemoryTest.withWindow(onto: spare) { p in for i in 0..<1024 { p[i] = 0 } }
        _ = MMUExtBatch.single(xen, .pinL1Table, MemoryTest.mfn(spare))
        var batch = MMUBatch()
        let target = UInt64(MemoryTest.mfn(spare - 1)) << 12 | 0x21
        for i in 0..<512 { batch.normal(entryAt: UInt64(MemoryTest.mfn(spare)) << 12 | UInt64(i * 8), target) }
        report("mmu_update_512_per_entry", measure(50) { _ = batch.run(xen) } / 512)
        _ = MMUExtBatch.single(xen, .unpinTable, MemoryTest.mfn(spare))

        // Building a domU, and the event ping-pong between two domUs (they print their timing).
        Reaper.start()
        GuestEvents.enable()
        guard let pingConfig = Toolstack.config(named: Array("ping.cfg".utf8)),
              let pongConfig = Toolstack.config(named: Array("pong.cfg".utf8)) else { return false }
        let pingID = Toolstack.nextID()
        let c0 = guest_rdtsc()
        let ping = Toolstack.create(pingConfig, extraArguments: DomainsTest.peer(pingID + 1) + Array(" count=2000".utf8))
        report("domain_create_4mib", guest_rdtsc() - c0)
        let pong = Toolstack.create(pongConfig, extraArguments: DomainsTest.peer(pingID) + Array(" count=2000".utf8))
        var waited = 0
        while Reaper.reaped.count < 2 && waited < 500 {
            Reaper.reap(quiet: true)
            if Reaper.reaped.count < 2 { Dom0Events.sleep(5_000_000) }
            waited += 1
        }
        console.print("bench: done (ping d\(ping), pong d\(pong))")
        return ping > 0 && pong > 0
    }
}
