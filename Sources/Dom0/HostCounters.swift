// HostCounters.swift: what GET /v1/host reports for a leak check, read fresh on every call: the
// hypervisor's free and not-yet-scrubbed frames (sysctl physinfo), its heap in use, its live domains and
// the dying ones whose grant tables others still map (sysctl perfc), and dom0's own heap (Boot/heap.c
// linked into dom0). Reads only: it never changes a counter, and it never allocates from the heaps it
// reports beyond its own result.

import GuestKit
import PVABI

@_extern(c, "apus_heap_in_use") func dom0_heap_in_use() -> UInt32
@_extern(c, "apus_heap_peak") func dom0_heap_peak() -> UInt32
@_extern(c, "apus_heap_size") func dom0_heap_size() -> UInt32

struct HostCounters {
    var totalPages: UInt64 = 0
    var freePages: UInt64 = 0
    /// Free frames still dirty (freed, not zeroed yet by the idle scrub); part of freePages.
    var scrubPages: UInt64 = 0
    var hypervisorHeapInUse: UInt64 = 0
    var hypervisorHeapSize: UInt64 = 0
    /// Domains the hypervisor holds, dom0 included.
    var domains: UInt64 = 0
    /// Destroyed domains whose grant tables other domains still map.
    var dyingDomains: UInt64 = 0
    var dom0HeapInUse: UInt64 = 0
    var dom0HeapPeak: UInt64 = 0
    var dom0HeapSize: UInt64 = 0

    static func read() -> HostCounters {
        var c = HostCounters()
        func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
        let (rcPhys, phys) = Toolstack.sysctl(.physInfo)
        if rcPhys == 0 {
            c.totalPages = u64(phys, SysctlLayout.totalPagesOffset)
            c.freePages = u64(phys, SysctlLayout.freePagesOffset)
            c.scrubPages = u64(phys, SysctlLayout.scrubPagesOffset)
        }
        let (rcPerf, perf) = Toolstack.sysctl(.perfcOp)
        if rcPerf == 0 {
            c.hypervisorHeapInUse = u64(perf, SysctlLayout.heapInUseOffset)
            c.hypervisorHeapSize = u64(perf, SysctlLayout.heapSizeOffset)
            c.domains = u64(perf, SysctlLayout.domainsOffset)
            c.dyingDomains = u64(perf, SysctlLayout.dyingDomainsOffset)
        }
        c.dom0HeapInUse = UInt64(dom0_heap_in_use())
        c.dom0HeapPeak = UInt64(dom0_heap_peak())
        c.dom0HeapSize = UInt64(dom0_heap_size())
        return c
    }
}

extension HostCounters {
    /// The `counters` object of GET /v1/host (docs/openapi.json, HostCounters).
    func write(_ w: inout JsonWriter) {
        w.beginObject()
        w.key("total_pages"); w.integer(totalPages)
        w.key("free_pages"); w.integer(freePages)
        w.key("scrub_pages"); w.integer(scrubPages)
        w.key("domains"); w.integer(domains)
        w.key("dying_domains"); w.integer(dyingDomains)
        w.key("hypervisor_heap_bytes"); w.integer(hypervisorHeapInUse)
        w.key("hypervisor_heap_size"); w.integer(hypervisorHeapSize)
        w.key("dom0_heap_bytes"); w.integer(dom0HeapInUse)
        w.key("dom0_heap_peak"); w.integer(dom0HeapPeak)
        w.key("dom0_heap_size"); w.integer(dom0HeapSize)
        w.endObject()
    }
}
