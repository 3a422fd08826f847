// CreditRefill.swift: the credit scheduler's accounting at the end of each period (Xen's csched_acct):
// the period's CPU time handed out by weight, a domain's part split among its active vCPUs
// (ActiveVcpuShare), a capped domain's grant bounded by its cap as a whole. The one place that visits every domain, once per period; it must never run
// from pick() or from a charge.

extension CreditScheduler {
    /// The end of a period: hand the period's CPU time out by weight among the domains (groups)
    /// with an active vCPU, a domain's part split evenly among its active vCPUs (ActiveVcpuShare),
    /// each vCPU limited by its cap budget and the ceiling. What a vCPU cannot take goes first to
    /// its domain's other active vCPUs; what a whole domain cannot take, to the other domains by
    /// weight. Every credit may change, and caps unpark: the run queue is rebuilt afterwards.
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
            groups.withUnsafeMutableBufferPointer { allGroups in
                // A group's id is its vCPU 0's entity id, below every other entity of it: below `end`.
                let g = UnsafeMutableBufferPointer(rebasing: allGroups[0..<end])
                for k in g.indices { g[k] = GroupAccount() }
                for i in e.indices where e[i].present && Self.active(e[i]) {
                    let k = Int(e[i].group)
                    g[k].active &+= 1
                    g[k].open &+= 1
                    g[k].room += Self.room(e[i], ceiling: ceiling)
                    g[k].weight = e[i].weight
                    g[k].cap = e[i].cap
                }
                // A capped domain takes at most its cap's worth, all its active vCPUs together.
                for k in g.indices where g[k].cap > 0 {
                    g[k].room = min(g[k].room, Int64(periodNs * UInt64(g[k].cap) / 100))
                }
                Self.shareAmongGroups(g, period: period)
                Self.shareWithinGroups(e, g, ceiling: ceiling, periodNs: periodNs)
            }
            groupUsedNs.withUnsafeMutableBufferPointer { used in
                for k in 0..<end { used[k] = 0 }
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

    /// A group's (domain's) accounting in the refill under way.
    struct GroupAccount: Equatable, Sendable {
        /// Its active entities, and those of them still able to take more credit.
        var active: UInt8 = 0
        var open: UInt8 = 0
        /// Its weight (its entities', all the domain's weight).
        var weight: UInt16 = 0
        /// Its cap (its entities', the domain's), 0 for none: its room never exceeds the cap's budget.
        var cap: UInt16 = 0
        /// The credit its active entities can still take together (their rooms summed).
        var room: Int64 = 0
        /// What it is granted, to be split among its active entities; saturated: it is its room.
        var amount: Int64 = 0
        var saturated = false
    }

    /// Water-filling among the groups with an active entity: each round shares what is left by
    /// weight among the unsaturated; a group whose share would reach its room takes its room and
    /// leaves the pool; if none did, the round's shares are final. At most one round per group.
    static func shareAmongGroups(_ g: UnsafeMutableBufferPointer<GroupAccount>, period: Int64) {
        var remaining = period
        var rounds = 0
        while remaining > 0, rounds <= g.count {
            rounds += 1
            var totalWeight: Int64 = 0
            for k in g.indices where g[k].active > 0 && !g[k].saturated { totalWeight += Int64(g[k].weight) }
            guard totalWeight > 0 else { break }
            var shares = ShareCache(remaining: remaining, totalWeight: totalWeight)
            var saturated = false
            for k in g.indices where g[k].active > 0 && !g[k].saturated {
                if shares.of(g[k].weight) >= g[k].room {
                    g[k].amount = g[k].room
                    g[k].saturated = true
                    saturated = true
                }
            }
            if saturated {
                var granted: Int64 = 0
                for k in g.indices where g[k].saturated { granted += g[k].amount }
                remaining = period - granted
                continue
            }
            for k in g.indices where g[k].active > 0 && !g[k].saturated { g[k].amount = shares.of(g[k].weight) }
            break
        }
    }

    /// Each group's amount split evenly among its active entities, water-filling again: an entity
    /// whose part would reach its room takes its room, and the rest is split among the others.
    static func shareWithinGroups(_ e: UnsafeMutableBufferPointer<CreditSchedulerEntry>, _ g: UnsafeMutableBufferPointer<GroupAccount>,
                                  ceiling: Int64, periodNs: UInt64) {
        // Rounds: a group has at most 255 entities, and each round but the last saturates one.
        for _ in 0..<256 {
            var changed = false
            for i in e.indices where e[i].present && !e[i].saturated && Self.active(e[i]) {
                let k = Int(e[i].group)
                let room = Self.room(e[i], ceiling: ceiling)
                // A saturated group's amount is its entities' rooms summed, unless its cap cut it: then it is split.
                if (g[k].saturated && g[k].cap == 0) || room <= g[k].amount / Int64(g[k].open) {
                    e[i].credit += room
                    e[i].granted += room
                    e[i].saturated = true
                    g[k].amount -= room
                    g[k].open &-= 1
                    changed = true
                }
            }
            if !changed { break }
        }
        for i in e.indices where e[i].present && !e[i].saturated && Self.active(e[i]) {
            let k = Int(e[i].group)
            let part = g[k].amount / Int64(g[k].open)
            e[i].credit += part
            e[i].granted += part
        }
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

    /// Active (ActiveVcpuShare): runnable now, or ran during the period.
    @inline(__always)
    static func active(_ e: CreditSchedulerEntry) -> Bool {
        ActiveVcpuShare.isActive(runnable: e.runnable, ranThisPeriod: e.ranThisPeriod)
    }

    /// How much more credit `e` may receive in this refill: up to the ceiling. Its domain's cap bounds
    /// the domain's grant as a whole (GroupAccount.room), not each vCPU's.
    @inline(__always)
    static func room(_ e: CreditSchedulerEntry, ceiling: Int64) -> Int64 {
        max(ceiling - e.credit, 0)
    }
}
