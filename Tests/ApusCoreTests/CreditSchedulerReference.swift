// CreditSchedulerReference.swift: the credit scheduler as it was before its run queue: every pick
// scans every domain. The property test holds the run-queue scheduler to it, pick for pick; it is a
// test's reference model only and must never be changed to agree with the code under test.

@testable import ApusCore

struct ScanCreditScheduler {
    
    let parameters: CreditSchedulerParameters
    /// entries[id], nil while no domain has that id.
    var entries: [CreditSchedulerEntry?]
    /// Start of the current accounting period.
    var periodStart: UInt64
    var nextStamp: UInt64 = 1

    /// A scheduler for domains 0 ..< capacity, with the first period starting at `now`.
    init(capacity: Int, parameters: CreditSchedulerParameters = CreditSchedulerParameters(), now: UInt64 = 0) {
        self.parameters = parameters
        entries = Array(repeating: nil, count: max(capacity, 1))
        periodStart = now
    }

    /// Adds domain `id` with its initial credit (one boost slice). False when the id is out of range or taken, the
    /// weight is 0, or the cap is over 100.
    @discardableResult
    mutating func add(_ id: UInt16, weight: UInt16 = 256, cap: UInt16 = 0, runnable: Bool = true) -> Bool {
        guard Int(id) < entries.count, entries[Int(id)] == nil, weight > 0, cap <= 100 else { return false }
        entries[Int(id)] = CreditSchedulerEntry(id: id, weight: weight, group: id, cap: cap, runnable: runnable, credit: parameters.initialCreditNs,
                                                usedThisPeriodNs: 0, totalRunNs: 0, boosted: false, yielded: false,
                                                ranThisPeriod: false, stamp: takeStamp())
        return true
    }

    /// Forgets domain `id`.
    mutating func remove(_ id: UInt16) {
        guard Int(id) < entries.count else { return }
        entries[Int(id)] = nil
    }

    /// Changes weight and cap (XEN_DOMCTL_SCHEDOP_putinfo); nil leaves one as it is.
    /// False, and nothing changed, for an absent domain, weight 0 or a cap over 100.
    @discardableResult
    mutating func setParameters(_ id: UInt16, weight: UInt16? = nil, cap: UInt16? = nil) -> Bool {
        guard exists(id), weight != 0, (cap ?? 0) <= 100 else { return false }
        if let weight { entries[Int(id)]!.weight = weight }
        if let cap { entries[Int(id)]!.cap = cap }
        return true
    }

    func exists(_ id: UInt16) -> Bool {
        Int(id) < entries.count && entries[Int(id)] != nil
    }

    /// Domain `id`'s standing, nil when absent.
    func entry(_ id: UInt16) -> CreditSchedulerEntry? {
        Int(id) < entries.count ? entries[Int(id)] : nil
    }

    /// Whether `id` has used its cap for this period.
    func isParked(_ id: UInt16) -> Bool {
        guard let e = entry(id) else { return false }
        return parked(e)
    }

    /// The domain stops wanting the CPU (SCHEDOP_block with nothing pending, or paused).
    mutating func block(_ id: UInt16) {
        guard exists(id) else { return }
        entries[Int(id)]!.runnable = false
        entries[Int(id)]!.boosted = false
        entries[Int(id)]!.yielded = false
    }

    /// The domain wants the CPU again (an event arrived, or unpaused). Boosted when it was
    /// blocked and is not over its share.
    mutating func wake(_ id: UInt16) {
        guard let e = entry(id), !e.runnable else { return }
        entries[Int(id)]!.runnable = true
        entries[Int(id)]!.boosted = e.credit >= 0
    }

    /// The domain gives up the CPU but stays runnable: the next pick prefers anyone else.
    mutating func yield(_ id: UInt16) {
        guard exists(id) else { return }
        entries[Int(id)]!.yielded = true
        entries[Int(id)]!.boosted = false
    }

    /// Charges `id` for `elapsedNs` of CPU. Its boost ends: it has had its prompt run.
    mutating func account(_ id: UInt16, elapsedNs: UInt64) {
        guard var e = entry(id) else { return }
        let charge = Int64(min(elapsedNs, UInt64(Int64.max / 2)))
        e.credit = max(e.credit - charge, parameters.creditFloorNs)
        e.usedThisPeriodNs += elapsedNs
        e.totalRunNs += elapsedNs
        e.ranThisPeriod = true
        e.boosted = false
        entries[Int(id)] = e
    }

    /// Advances time to `now`, handing out credit at every period boundary passed. Time that
    /// goes backwards is ignored. After a long gap, at most a few periods are replayed: the
    /// ceiling makes more pointless.
    mutating func tick(now: UInt64) {
        let period = parameters.periodNs
        guard now >= periodStart + period else { return }
        let passed = (now - periodStart) / period
        let replay = min(passed, 4)
        periodStart += (passed - replay) * period
        for _ in 0..<replay {
            refill()
            periodStart += period
        }
    }

    /// Chooses what runs next among runnable, unparked domains: the highest class (BOOST, UNDER,
    /// OVER), then the most credit, then the least recently picked; a domain that just yielded
    /// only if no one else can run. O(capacity), no allocation.
    mutating func pick(now: UInt64) -> SchedulingDecision {
        let toBoundary = (periodStart + parameters.periodNs) > now ? periodStart + parameters.periodNs - now : 1
        var best = -1
        var bestYielded = true
        for index in entries.indices {
            guard let e = entries[index], e.runnable, !parked(e) else { continue }
            if best < 0 {
                best = index
                bestYielded = e.yielded
                continue
            }
            let b = entries[best]!
            // A yielder loses to anyone who did not yield, whatever the class.
            if e.yielded != bestYielded {
                if !e.yielded { best = index; bestYielded = false }
                continue
            }
            if Self.before(e, b) {
                best = index
                bestYielded = e.yielded
            }
        }
        for index in entries.indices where entries[index]?.yielded == true {
            entries[index]!.yielded = false
        }
        guard best >= 0 else {
            return SchedulingDecision(domain: nil, sliceNs: toBoundary)
        }
        entries[best]!.stamp = takeStamp()
        let e = entries[best]!
        var slice = min(e.boosted ? parameters.boostSliceNs : parameters.timesliceNs, toBoundary)
        if e.cap > 0 {
            slice = min(slice, capBudget(e) - e.usedThisPeriodNs)
        }
        return SchedulingDecision(domain: e.id, sliceNs: max(slice, 1))
    }

    // MARK: - Internals

    /// pick()'s order: higher class first; within UNDER and OVER more credit first (so a
    /// heavy domain spends its credit before it reaches the ceiling); then least recently picked.
    static func before(_ a: CreditSchedulerEntry, _ b: CreditSchedulerEntry) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.priority != .boost, a.credit != b.credit { return a.credit > b.credit }
        return a.stamp < b.stamp
    }

    mutating func takeStamp() -> UInt64 {
        defer { nextStamp += 1 }
        return nextStamp
    }

    /// CPU time a capped domain may use per period.
    func capBudget(_ e: CreditSchedulerEntry) -> UInt64 {
        parameters.periodNs * UInt64(e.cap) / 100
    }

    func parked(_ e: CreditSchedulerEntry) -> Bool {
        e.cap > 0 && e.usedThisPeriodNs >= capBudget(e)
    }

    /// The end of a period: hand the period's CPU time out by weight among active domains,
    /// each limited by its cap budget and the ceiling, the rest re-shared among the others.
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
