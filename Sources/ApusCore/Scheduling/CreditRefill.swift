// CreditRefill.swift: the credit scheduler's accounting at the end of each period (Xen's csched_acct):
// the period's CPU time handed out by weight. The one place that visits every domain, once per period;
// it must never run from pick() or from a charge.

extension CreditScheduler {
    /// The end of a period: hand the period's CPU time out by weight among active domains,
    /// each limited by its cap budget and the ceiling, the rest re-shared among the others.
    /// Every credit may change, and caps unpark: the run queue is rebuilt afterwards.
    mutating func refill() {
        let ceiling = parameters.creditCeilingNs
        // Water-filling: each round shares what is left among the unsaturated by weight. A
        // domain whose share would exceed its room takes its room and leaves the pool; if none
        // did, the round's shares are final. At most one round per domain.
        var remaining = Int64(parameters.periodNs)
        var rounds = 0
        while remaining > 0, rounds <= entries.count {
            rounds += 1
            var totalWeight: Int64 = 0
            for case let e? in entries where inPool(e) { totalWeight += Int64(e.weight) }
            guard totalWeight > 0 else { break }
            var saturated = false
            for index in entries.indices {
                guard let e = entries[index], inPool(e) else { continue }
                let share = Self.share(remaining, e.weight, totalWeight)
                let room = self.room(e, ceiling: ceiling)
                if share >= room {
                    entries[index]!.credit += room
                    entries[index]!.granted += room
                    entries[index]!.saturated = true
                    saturated = true
                }
            }
            if saturated {
                remaining = Int64(parameters.periodNs) - grantedTotal()
                continue
            }
            for index in entries.indices {
                guard let e = entries[index], inPool(e) else { continue }
                let share = Self.share(remaining, e.weight, totalWeight)
                entries[index]!.credit += share
                entries[index]!.granted += share
            }
            break
        }
        for index in entries.indices where entries[index] != nil {
            entries[index]!.credit = max(entries[index]!.credit, parameters.creditFloorNs)
            entries[index]!.usedThisPeriodNs = 0
            entries[index]!.ranThisPeriod = false
            entries[index]!.granted = 0
            entries[index]!.saturated = false
        }
        rebuildQueue()
    }

    /// remaining · weight / totalWeight, all non-negative (unsigned: no signed 64-bit division helper).
    static func share(_ remaining: Int64, _ weight: UInt16, _ totalWeight: Int64) -> Int64 {
        Int64(UInt64(remaining) * UInt64(weight) / UInt64(totalWeight))
    }

    /// Active and still able to take credit this refill.
    func inPool(_ e: CreditSchedulerEntry) -> Bool {
        (e.runnable || e.ranThisPeriod) && !e.saturated
    }

    /// How much more credit `e` may receive in this refill.
    func room(_ e: CreditSchedulerEntry, ceiling: Int64) -> Int64 {
        var room = max(ceiling - e.credit, 0)
        if e.cap > 0 { room = min(room, Int64(capBudget(e)) - e.granted) }
        return max(room, 0)
    }

    func grantedTotal() -> Int64 {
        var total: Int64 = 0
        for case let e? in entries { total += e.granted }
        return total
    }
}
