// ActiveVcpuShare.swift: how a domain's weight is split among its vCPUs at each accounting period
// (issue #16): among its ACTIVE vCPUs only, as Xen's credit scheduler shares a domain's credit
// (csched_acct: credit_fair / sdom->active_unit_count), so a domain with 4 vCPUs of which 3 are
// blocked still gets its whole weight's share through the one that runs. Pure numbers: it never
// schedules anything and never reads a clock.
//
// The rule:
// - A vCPU is ACTIVE at a period's end when it is runnable then or ran during the period; it is
//   inactive when it was blocked for the whole period (and gone when it is down: it is no entity).
// - A domain with at least one active vCPU competes with its weight; the period's CPU time is
//   handed out among those domains by weight, and a domain's part is split evenly among its active
//   vCPUs. A vCPU is limited by its room under the ceiling, the domain by its cap (cap% of one CPU
//   for all its vCPUs together, as Xen's credit1 caps a domain and splits the cap's credit among its
//   active vCPUs); what a vCPU cannot take goes to its domain's other active vCPUs first, what the
//   whole domain cannot take to the other domains by weight (CreditRefill). A domain with none
//   active gets nothing that period. Once the domain has used its cap in a period, every vCPU of it
//   is parked until the next (CreditScheduler.parked).
//
// Where Xen differs, and why Apus does not follow it there:
// - Xen counts a domain's weight once per active vCPU (prv->weight += sdom->weight per vCPU, "Make
//   weight per-vcpu"), so its fair credit is weight x active vCPUs: on one CPU a domain with 4 busy
//   vCPUs would take 4/5 beside a one-vCPU domain of the same weight. Apus runs every domain on the
//   one CPU and keeps a domain's share at its weight whatever its vCPU count (the smp-guest scenario
//   checks 50:50); only the split among the vCPUs follows Xen.
// - Xen makes a vCPU active when a 10 ms tick finds it running and inactive when, at accounting, its
//   credit exceeds one timeslice (it did not use what it got; its credit is then halved). Apus
//   decides at each period's end from what it already tracks (runnable, ran this period): the same
//   effect for a vCPU that blocks for a period or more, without a per-vCPU credit threshold. A vCPU
//   that wakes often but uses less than its part (Xen would drop it from the active list once its
//   credit passed a timeslice) reaches the ceiling; what it cannot take goes to its domain's other
//   vCPUs first, so the domain keeps its share as under Xen.

public enum ActiveVcpuShare {
    /// Whether a vCPU counts as active at a period's end.
    @inline(__always)
    public static func isActive(runnable: Bool, ranThisPeriod: Bool) -> Bool {
        runnable || ranThisPeriod
    }
}
