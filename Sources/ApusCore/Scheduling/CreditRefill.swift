// CreditRefill.swift: the credit scheduler's accounting at the end of each period (Xen's csched_acct):
// the period's CPU time handed out by weight. The one place that visits every domain, once per period;
// it must never run from pick() or from a charge.

extension CreditScheduler {
    /// The end of a period: hand the period's CPU time out by weight among active domains,
    /// each limited by its cap budget and the ceiling, the rest re-shared among the others.
    /// Every credit may change, and caps unpark: the run queue is rebuilt afterwards.
    mutating func refill() {
        let ceiling = parameters.creditCeilingNs
        let period = Int64(parameters.periodNs)
        let floor = parameters.creditFloorNs
        let periodNs = parameters.periodNs
        // The entries in place through one buffer: no copy of an entry and no uniqueness check of the
        // array per field written (an Array subscript per write made this some 100 instructions a domain).
        let end = idEnd
        entries.withUnsafeMutableBufferPointer { all in
            let e = UnsafeMutableBufferPointer(rebasing: all[0..<end])
            // Water-filling: each round shares what is left among the unsaturated by weight. A
            // domain whose share would exceed its room takes its room and leaves the pool; if none
            // did, the round's shares are final. At most one round per domain.
            var remaining = period
            var rounds = 0
            while remaining > 0, rounds <= e.count {
                rounds += 1
                var totalWeight: Int64 = 0
                for i in e.indices where e[i].present && Self.inPool(e[i]) { totalWeight += Int64(e[i].weight) }
                guard totalWeight > 0 else { break }
                var shares = ShareCache(remaining: remaining, totalWeight: totalWeight)
                var saturated = false
                for i in e.indices where e[i].present && Self.inPool(e[i]) {
                    let share = shares.of(e[i].weight)
                    let room = Self.room(e[i], ceiling: ceiling, periodNs: periodNs)
                    if share >= room {
                        e[i].credit += room
                        e[i].granted += room
                        e[i].saturated = true
                        saturated = true
                    }
                }
                if saturated {
                    var granted: Int64 = 0
                    for i in e.indices where e[i].present { granted += e[i].granted }
                    remaining = period - granted
                    continue
                }
                for i in e.indices where e[i].present && Self.inPool(e[i]) {
                    let share = shares.of(e[i].weight)
                    e[i].credit += share
                    e[i].granted += share
                }
                break
            }
            for i in e.indices where e[i].present {
                e[i].credit = max(e[i].credit, floor)
                e[i].usedThisPeriodNs = 0
                e[i].ranThisPeriod = false
                e[i].granted = 0
                e[i].saturated = false
            }
        }
        rebuildQueue()
    }

    /// One round's shares: most domains have the same weight, so the division is done once per weight seen last.
    struct ShareCache {
        let remaining: Int64, totalWeight: Int64
        var weight: UInt16 = 0, share: Int64 = 0

        init(remaining: Int64, totalWeight: Int64) {
            self.remaining = remaining
            self.totalWeight = totalWeight
        }

        mutating func of(_ w: UInt16) -> Int64 {
            if w != weight {
                weight = w
                share = CreditScheduler.share(remaining, w, totalWeight)
            }
            return share
        }
    }

    /// remaining · weight / totalWeight, all non-negative (unsigned: no signed 64-bit division helper).
    static func share(_ remaining: Int64, _ weight: UInt16, _ totalWeight: Int64) -> Int64 {
        Int64(UInt64(remaining) * UInt64(weight) / UInt64(totalWeight))
    }

    /// Active and still able to take credit this refill.
    @inline(__always)
    static func inPool(_ e: CreditSchedulerEntry) -> Bool {
        (e.runnable || e.ranThisPeriod) && !e.saturated
    }

    /// How much more credit `e` may receive in this refill (capBudget's formula, for a period of `periodNs`).
    @inline(__always)
    static func room(_ e: CreditSchedulerEntry, ceiling: Int64, periodNs: UInt64) -> Int64 {
        var room = max(ceiling - e.credit, 0)
        if e.cap > 0 { room = min(room, Int64(periodNs * UInt64(e.cap) / 100) - e.granted) }
        return max(room, 0)
    }
}
