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

    /// Issue #12's scalability rows: N spinners share a fixed amount of work. All N are built
    /// paused first (timed on its own row, scalability_create_N: domctl createdomain alone, as the
    /// spinners use neither console nor store, so no backend or xenstored entries are set up); the
    /// run is timed from just before the first unpause to the moment the last one has shut down.
    /// Meanwhile dom0 only blocks on VIRQ_DOM_EXC and, at each signal, asks about the oldest spinner
    /// still running (one getdomaininfo); it destroys them after the clock stops (system time, which
    /// is instructions under -icount shift=0).
    static let scalabilityWork: UInt64 = 64_000_000
    static let scalabilityCounts = [1, 8, 32, 64, 128, 256]

    static func scalability() {
        guard let config = Toolstack.config(named: Array("scale.cfg".utf8)),
              let kernel = Toolstack.initrd.entry(named: config.kernel) else {
            console.print("bench: scalability: no scale.cfg or its kernel in the initrd")
            return
        }
        for n in scalabilityCounts {
            var ids: [UInt16] = []
            var work = Array("work=".utf8)
            var line = LogLine()
            line.append(decimal: scalabilityWork / UInt64(n))
            line.withBytes { work.append(contentsOf: $0) }
            // Each round starts from a machine at rest, as the build row does: 5 ms of idle scrubbing,
            // so a round's creation figure does not depend on how the row before it ended.
            Dom0Events.sleep(5_000_000)
            let c0 = GuestTime.now()
            for _ in 0..<n {
                let created = Toolstack.create(image: kernel.data, memoryMiB: config.memoryMiB, name: config.name, commandLine: work,
                                               weight: config.weight, cap: UInt16(config.cap), paused: true)
                if created.id > 0 { ids.append(UInt16(created.id)) }
            }
            let created = GuestTime.now() - c0
            guard ids.count == n else {
                console.print("bench: scalability with \(UInt32(n)) domains: only \(UInt32(ids.count)) could be created")
                for id in ids { _ = Toolstack.destroy(id) }
                return
            }
            let t0 = GuestTime.now()
            for id in ids { _ = Toolstack.unpause(id) }
            var finished = 0
            var failed = 0
            while finished < n {
                let seen = Reaper.signals
                while finished < n {
                    guard let info = Toolstack.info(ids[finished]) else { failed += 1; finished += 1; continue }
                    guard info.isShutdown else { break }
                    if info.shutdownReason != ShutdownReason.poweroff.rawValue { failed += 1 }
                    finished += 1
                }
                if finished < n {
                    GuestEvents.wait { Reaper.signals != seen || DomainIO.isSignalled }
                    DomainIO.serviceIfSignalled()
                }
            }
            let elapsed = GuestTime.now() - t0
            for id in ids { _ = Toolstack.destroy(id) }
            if failed > 0 { console.print("bench: scalability with \(UInt32(n)) domains: \(UInt32(failed)) did not power off") }
            console.print("bench: guest scalability_create_\(UInt32(n)) \(created)")
            console.print("bench: guest scalability_\(UInt32(n)) \(elapsed)")
        }
    }

    /// The loop shape of the Xen measurements in issue #12: 1000 iterations between two rdtsc,
    /// minus an empty loop of 1000, divided by 1000 (one warm-up call first).
    static func xenStyle(_ body: () -> Void) -> UInt64 {
        body()
        let t0 = guest_rdtsc()
        var i: UInt32 = 0
        while i < 1000 { i &+= 1; emptyStep() }
        let t1 = guest_rdtsc()
        i = 0
        while i < 1000 { i &+= 1; body() }
        let t2 = guest_rdtsc()
        let loop = t1 - t0, op = t2 - t1
        return op > loop ? (op - loop) / 1000 : 0
    }

    /// The four operations a Xen pv32pae guest timed on the same QEMU (issue #12's Xen column).
    static func xenComparable() {
        report("xen_null_hypercall", xenStyle { _ = xen.xenVersion(.version, 0) })
        transitions("xen_null_hypercall") { _ = xen.xenVersion(.version, 0) }
        // int3 -> a #BP handler in ring 1 that only returns through the iret hypercall.
        var minimal = TrapTableBuilder()
        minimal.add(vector: 3, dpl: 3, cs: UInt16(Selector.flatRing1CS),
                    address: UInt32(UInt(bitPattern: unsafeBitCast(guest_bench_bp_handler as @convention(c) () -> Void, to: UnsafeRawPointer.self))))
        var standard = TrapTableBuilder()
        standard.add(vector: 3, dpl: 3, cs: UInt16(Selector.flatRing1CS), address: guest_trap_stub_address(3))
        let installed = minimal.terminated().withUnsafeBytes { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress!))) }
        if installed == 0 {
            report("xen_int3_iret", xenStyle { guest_int3() })
            transitions("xen_int3_iret") { guest_int3() }
        }
        _ = standard.terminated().withUnsafeBytes { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress!))) }
        // update_va_mapping of one page with the same PTE, UVMF_INVLPG.
        let window = guest_symbol(GuestSymbol.scratchWindow)
        let pte = UInt64(Kernel.startInfo.machineFrame(ofPFN: window >> 12)) << 12 | 0x63
        report("xen_update_va_mapping", xenStyle { _ = xen.updateVAMapping(window, pte, flags: UpdateVAFlags.invalidatePage) })
        transitions("xen_update_va_mapping") { _ = xen.updateVAMapping(window, pte, flags: UpdateVAFlags.invalidatePage) }
        // EVTCHNOP_send to a port bound to the sender itself, events masked.
        let unbound = GuestEvents.allocUnbound(remote: 0)
        let bound = unbound > 0 ? GuestEvents.bindInterdomain(remote: 0, port: UInt32(unbound)) : -1
        if bound > 0 {
            let maskWord = SharedInfo.evtchnMaskOffset + Int(bound / 32) * 4
            let shared = Kernel.sharedInfo.base
            let oldMask = shared.load(fromByteOffset: maskWord, as: UInt32.self)
            shared.storeBytes(of: oldMask | 1 << UInt32(bound % 32), toByteOffset: maskWord, as: UInt32.self)
            var send = HypercallRecord(stride: EvtchnPortLayout.size)
            send.set(UInt32(unbound), at: EvtchnPortLayout.portOffset)
            report("xen_evtchn_send_masked", xenStyle { _ = send.withAddress { xen.eventChannelOp(EventChannelOp.send.rawValue, $0) } })
            transitions("xen_evtchn_send_masked") { _ = send.withAddress { xen.eventChannelOp(EventChannelOp.send.rawValue, $0) } }
            _ = GuestEvents.close(UInt32(bound))
            _ = GuestEvents.close(UInt32(unbound))
            shared.storeBytes(of: oldMask, toByteOffset: maskWord, as: UInt32.self)
        }
    }

    static func report(_ name: StaticString, _ ticks: UInt64) { console.print("bench: guest \(name) \(ticks)") }

    /// Guest traps, CR3 loads and heap allocations the hypervisor counted (sysctl perfc).
    static func counters() -> (traps: UInt64, cr3: UInt64, allocations: UInt64) {
        let (_, out) = Toolstack.sysctl(.perfcOp)
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(out[o + $1]) << (8 * UInt64($1)) } }
        return (u64(SysctlLayout.guestTrapsOffset), u64(SysctlLayout.cr3LoadsOffset), u64(SysctlLayout.heapAllocationsOffset))
    }

    /// Ring transitions (two per trap) and CR3 loads per operation, over `count` more runs.
    static func transitions(_ name: StaticString, _ count: UInt32 = 100, _ body: () -> Void) {
        let before = counters()
        var i: UInt32 = 0
        while i < count { i &+= 1; body() }
        let after = counters()
        // The two sysctl calls add one trap each side of the loop: one round of their own.
        let traps = after.traps - before.traps - 1
        console.print("bench: guest \(name)_transitions_x100 \(traps * 2 * 100 / UInt64(count))")
        console.print("bench: guest \(name)_cr3_x100 \((after.cr3 - before.cr3) * 100 / UInt64(count))")
        // Hypervisor heap allocations between trap entry and the return to the guest (the two
        // sysctl calls themselves allocate nothing).
        console.print("bench: guest \(name)_allocations_x100 \((after.allocations - before.allocations) * 100 / UInt64(count))")
    }

    /// 10000 system calls in one ring-3 run from `entry`, timed from here (the run's entry and exit
    /// spread over them) or by the ring-3 code itself (its exit status: ticks beyond an empty loop).
    static func systemCalls(_ name: StaticString, _ entry: UInt32, timedInRing3: Bool = false) {
        let before = counters()
        let t0 = guest_rdtsc()
        let status = guest_enter_user(entry, guest_symbol(GuestSymbol.userStackTop))
        report(name, (timedInRing3 ? UInt64(status) : guest_rdtsc() - t0) / 10_000)
        let after = counters()
        console.print("bench: guest \(name)_transitions_x100 \((after.traps - before.traps - 1) * 2 * 100 / 10_000)")
        console.print("bench: guest \(name)_cr3_x100 \((after.cr3 - before.cr3) * 100 / 10_000)")
        console.print("bench: guest \(name)_allocations_x100 \((after.allocations - before.allocations) * 100 / 10_000)")
    }

    /// Issue #12's whole-guest row: the unmodified Linux 5.4 domU of linux.cfg (64 MiB, busybox
    /// initramfs), from dom0's request to its init's `linux-pv: userspace up` arriving through its
    /// console ring and dom0's backend, in instructions. Then it powers itself off and is destroyed.
    /// Its own boot (`bench-linux`): Linux seeds its randomness from the absolute TSC, which differs
    /// between runs (firmware), so its count varies a little and must not move the other rows.
    static func linuxToUserspace() -> Bool {
        guard let config = Toolstack.config(named: Array("linux.cfg".utf8)) else {
            console.print("bench: no linux.cfg in the initrd: the Linux row is not measured")
            return false
        }
        DomainIO.awaited = Array("linux-pv: userspace up".utf8)
        DomainIO.awaitedSeen = false
        let t0 = guest_rdtsc()
        let created = Toolstack.create(config)
        guard created > 0 else {
            console.print("bench: the Linux domU could not be created (\(created))")
            return false
        }
        let id = UInt16(created)
        let deadline = GuestTime.now() + 60_000_000_000
        while !DomainIO.awaitedSeen && GuestTime.now() < deadline {
            DomainIO.service()
            guard let info = Toolstack.info(id), !info.isShutdown else { break }
            if !DomainIO.awaitedSeen { Dom0Events.sleep(1_000_000) }
        }
        if DomainIO.awaitedSeen {
            report("linux_userspace", DomainIO.awaitedTSC - t0)
        } else {
            console.print("bench: the Linux domU did not reach userspace")
        }
        _ = ShellPower.waitForStop(id, timeout: 20_000_000_000)
        DomainIO.service()
        _ = Toolstack.destroy(id)
        DomainIO.awaited = []
        return DomainIO.awaitedSeen
    }

    /// Toolstack.create(config)'s steps (build paused, connect the rings and write the store tree,
    /// unpause), with the createdomain domctl timed on its own: the build row. The request-to-first-
    /// instruction row spans all of them and the scheduler's pick of the new domain.
    static func createTimingTheBuild(_ config: DomainConfig, extraArguments: [UInt8]) -> Int32 {
        guard let kernel = Toolstack.initrd.entry(named: config.kernel), config.ramdisk.isEmpty else { return -2 }
        var line = config.extra
        if !extraArguments.isEmpty {
            if !line.isEmpty { line.append(32) }
            line.append(contentsOf: extraArguments)
        }
        let b0 = guest_rdtsc()
        let created = Toolstack.create(image: kernel.data, memoryMiB: config.memoryMiB, name: config.name, commandLine: line,
                                       weight: config.weight, cap: UInt16(config.cap), paused: true)
        report("domain_create_4mib", guest_rdtsc() - b0)
        guard created.id > 0 else { return created.id }
        DomainIO.connect(created, config)
        _ = Toolstack.unpause(UInt16(created.id))
        return created.id
    }

    static func run(startTSC: UInt64) -> Bool {
        console.print("bench: guest first_instruction_tsc \(startTSC)")
        xenComparable()
        report("null_hypercall", measure { _ = xen.xenVersion(.version) })
        transitions("null_hypercall") { _ = xen.xenVersion(.version) }

        // System calls from ring 3: 10000 int 0x80 in one ring-3 run, through the direct gate (dom0's
        // usual entry is eligible), back through the iret hypercall.
        _ = PVSelfTest.markUserPages()
        let noops = UInt32(UInt(bitPattern: unsafeBitCast(user_bench_entry as @convention(c) () -> Void, to: UnsafeRawPointer.self)))
        systemCalls("syscall", noops)
        // The same calls bounced by the hypervisor: an entry that masks events on entry gets no gate.
        SystemCallEntry.set(address: SystemCallEntry.fullHandler, maskEvents: true)
        systemCalls("syscall_bounced", noops)
        // Through the direct gate to a handler that returns with iretd: ring 3 times its own loop.
        SystemCallEntry.set(address: SystemCallEntry.iretHandler)
        systemCalls("syscall_direct_iret", user_bench_iret_entry_address(), timedInRing3: true)
        SystemCallEntry.restore()

        report("page_fault", measure { _ = guest_probe_read(0x4000_0000) })
        transitions("page_fault") { _ = guest_probe_read(0x4000_0000) }

        let window = guest_symbol(GuestSymbol.scratchWindow)
        let si = Kernel.startInfo
        let mfn = si.machineFrame(ofPFN: window >> 12)
        let pte = UInt64(mfn) << 12 | 0x63
        report("update_va_mapping_invlpg", measure { _ = xen.updateVAMapping(window, pte, flags: UpdateVAFlags.invalidatePage) })
        transitions("update_va_mapping_invlpg") { _ = xen.updateVAMapping(window, pte, flags: UpdateVAFlags.invalidatePage) }

        var one = MMUBatch()
        one.normal(entryAt: UInt64(MemoryTest.mfn(MemoryTest.l1EntryVA(of: window) >> 12)) << 12 | UInt64(MemoryTest.l1EntryVA(of: window) & 0xFFF), pte)
        report("mmu_update_1", measure { _ = one.run(xen) })
        transitions("mmu_update_1") { _ = one.run(xen) }

        // A pinned spare L1, rewritten 512 entries per call.
        let spare = si.nrPages - 1
        _ = MemoryTest.withWindow(onto: spare) { p in for i in 0..<1024 { p[i] = 0 } }
        _ = MMUExtBatch.single(xen, .pinL1Table, MemoryTest.mfn(spare))
        var batch = MMUBatch()
        let target = UInt64(MemoryTest.mfn(spare - 1)) << 12 | 0x21
        for i in 0..<512 { batch.normal(entryAt: UInt64(MemoryTest.mfn(spare)) << 12 | UInt64(i * 8), target) }
        report("mmu_update_512_per_entry", measure(50) { _ = batch.run(xen) } / 512)
        transitions("mmu_update_512_batch", 10) { _ = batch.run(xen) }
        _ = MMUExtBatch.single(xen, .unpinTable, MemoryTest.mfn(spare))

        // Building a domU, and the event ping-pong between two domUs (they print their timing).
        Reaper.start()
        GuestEvents.enable()
        guard let pingConfig = Toolstack.config(named: Array("ping.cfg".utf8)),
              let pongConfig = Toolstack.config(named: Array("pong.cfg".utf8)) else { return false }
        let pingID = Toolstack.nextID()
        // A request comes to a machine that has been at rest: 5 ms in which nothing runs, so the
        // hypervisor's idle loop scrubs free memory (as Xen's does) and the build takes frames
        // already zeroed. Its log line says how many it still had to zero on demand.
        Dom0Events.sleep(5_000_000)
        let c0 = guest_rdtsc()
        report("domain_create_start_tsc", c0)
        let ping = createTimingTheBuild(pingConfig, extraArguments: DomainsTest.peer(pingID + 1) + Array(" count=2000".utf8))
        let pong = Toolstack.create(pongConfig, extraArguments: DomainsTest.peer(pingID) + Array(" count=2000".utf8))
        var waited = 0
        while Reaper.reaped.count < 2 && waited < 500 {
            Reaper.reap(quiet: true)
            if Reaper.reaped.count < 2 { Dom0Events.sleep(5_000_000) }
            waited += 1
        }
        scalability()
        console.print("bench: done (ping d\(ping), pong d\(pong))")
        return ping > 0 && pong > 0
    }
}
