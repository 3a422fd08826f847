// NativeBaselines.swift: what make bench compares against: the same kinds of operation done
// natively by the hypervisor in ring 0, counted in TSC ticks (instructions under QEMU's
// -icount shift=0) with an empty loop subtracted. It only measures; it changes no state a
// guest can see.

import ApusCore
import PVABI

enum NativeBaselines {
    static let n: UInt32 = 10_000

    /// Median per-operation ticks of five runs of `body(n)`, minus the empty loop.
    static func measure(_ body: (UInt32) -> Void) -> UInt64 {
        var samples: [UInt64] = []
        for _ in 0..<5 {
            let t0 = cpu_rdtsc(); bench_empty_loop(n); let t1 = cpu_rdtsc()
            body(n)
            let t2 = cpu_rdtsc()
            let loop = t1 - t0, op = t2 - t1
            samples.append(op > loop ? (op - loop) / UInt64(n) : 0)
        }
        samples.sort()
        return samples[2]
    }

    static func run(_ sym: Symbols) {
        Log.info("bench: native call_ret \(measure { bench_call_ret($0) })")
        // A ring-0 gate for vector 0x81 whose handler is a bare iretd.
        let stub = UInt32(UInt(bitPattern: unsafeBitCast(bench_iret_stub as @convention(c) () -> Void, to: UnsafeRawPointer.self)))
        DescriptorTables.installRing0Gate(sym, vector: 0x81, offset: stub)
        Log.info("bench: native int_iret \(measure { bench_int_iret($0) })")
        let pf = measure { count in for _ in 0..<count { _ = selftest_raise_pf_read(ExceptionSelfTest.lowAddress) } }
        Log.info("bench: native page_fault \(pf)")
        guard let window = Mapcache.map(frame: 0x100, writable: false) else { return }
        let slot = Int((window - AddressMap.mapcacheStart) >> 12)
        let pte = HypervisorPaging.mapcacheL1.advanced(by: slot)
        Log.info("bench: native pte_write_invlpg \(measure { bench_pte_invlpg(pte, window, $0) })")
        Mapcache.unmap(window)
        let t0 = cpu_rdtsc(); bench_empty_loop(n); let t1 = cpu_rdtsc()
        Log.info("bench: native empty_loop_per_iteration \((t1 - t0) / UInt64(n))")
    }
}
