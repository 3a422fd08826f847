// TLB.swift: the two ways the hypervisor drops stale translations: one page (invlpg) or all
// non-global ones (a CR3 reload). It never decides when a flush is needed; the paging core does.

enum TLB {
    static func flushAll() { loadCR3(cpu_read_cr3()) }
    static func flush(page va: UInt32) { cpu_invlpg(va) }
}
