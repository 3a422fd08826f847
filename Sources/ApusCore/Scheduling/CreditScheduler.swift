// A credit scheduler for one physical CPU after Xen's credit scheduler: weights share the CPU, caps bound it, woken domains are boosted.
// Pure and deterministic (integer nanoseconds, ties broken by a counter): it must never read a clock, switch a context or allocate after init.
// This file holds the policy and the operations; the run queue pick() reads is CreditRunQueue.swift, the
// period's accounting CreditRefill.swift.
//
// The algorithm, simplified from Xen's sched/credit.c:
// - Time is cut into accounting periods (30 ms). At each period boundary the period's CPU time
//   is handed out as credit to the active domains (runnable, or ran during the period) in
//   proportion to their weights. The entities are vCPUs: the entities of one group (a domain's
//   vCPUs) share its weight among those of them that are active (ActiveVcpuShare). A domain's grant is limited by its cap budget and by the
//   credit ceiling (one period), and what it cannot take goes to the others by weight
//   ("water-filling"), so the credit handed out matches the CPU time that can be used.
// - Running costs credit, nanosecond for nanosecond. A domain with credit >= 0 is UNDER its
//   share, below 0 OVER. pick() runs BOOST before UNDER before OVER; within UNDER and OVER
//   the domain with more credit first (a heavy domain spends its grant before it reaches the
//   ceiling, which keeps shares exact even at 256:1 weights), and among equals the one picked
//   least recently (round robin). Work-conserving: OVER domains run when no one else wants
//   the CPU.
// - A capped domain may run cap% of each period, all its vCPUs together (as Xen's credit1 caps a
//   domain, not each vCPU); once it has, every vCPU of it is parked (not runnable) until the next
//   period. Slices are cut so the cap is never exceeded. Its cap's credit is split among its active
//   vCPUs with the rest of its grant (CreditRefill).
// - A domain woken from blocked with credit >= 0 is BOOSTed until it has run once, so event
//   delivery is prompt; BOOST is bounded by credit, so it cannot be abused to take more than
//   the domain's share. A boosted run is short (the boost slice, 1 ms): a CPU hog woken at the
//   same time as a latency-bound domain loses its boost after 1 ms instead of holding the CPU
//   for a whole timeslice ahead of it (Xen demotes a boosted vCPU at its first accounting tick).
// - yield puts the domain behind every other runnable domain, of any class, for one pick.
// - No operation scans the domains except the period's accounting (every 30 ms, as Xen's
//   csched_acct): the candidates wait in a run queue ordered as pick() chooses (an indexed heap:
//   pick() reads its head, a charge or wake moves one domain in O(log n)).
// Slices end at the timeslice (10 ms; 1 ms while boosted), the period boundary, or the cap, whichever comes first.

/// Tunables of CreditScheduler, in nanoseconds.
public struct CreditSchedulerParameters: Equatable, Sendable {
    /// Length of one accounting period: credit is handed out at each boundary.
    public var periodNs: UInt64
    /// Longest slice a domain runs before the scheduler reconsiders.
    public var timesliceNs: UInt64
    /// Longest run a BOOSTed domain gets before it is charged and its boost ends.
    public var boostSliceNs: UInt64
    /// Credit a new domain starts with: one boost slice, so its short start-up run (setting up,
    /// printing its banner) does not leave it OVER, unboostable, until the next period's refill
    /// (Xen's credit2 gives new vCPUs initial credit; credit1 charges only at its 10 ms ticks).
    public var initialCreditNs: Int64
    /// Most credit a domain can hold: an idle domain cannot hoard more than this.
    public var creditCeilingNs: Int64
    /// Least credit a domain can hold (a safety bound; accounting keeps credit far above it).
    public var creditFloorNs: Int64

    /// Every field as given, unchecked: the constant empty scheduler's parameters (CreditScheduler.init()).
    init(periodNs: UInt64, timesliceNs: UInt64, boostSliceNs: UInt64, initialCreditNs: Int64, creditCeilingNs: Int64, creditFloorNs: Int64) {
        self.periodNs = periodNs
        self.timesliceNs = timesliceNs
        self.boostSliceNs = boostSliceNs
        self.initialCreditNs = initialCreditNs
        self.creditCeilingNs = creditCeilingNs
        self.creditFloorNs = creditFloorNs
    }

    public init(periodNs: UInt64 = 30_000_000, timesliceNs: UInt64 = 10_000_000, boostSliceNs: UInt64 = 1_000_000) {
        self.periodNs = max(periodNs, 1)
        self.timesliceNs = max(min(timesliceNs, self.periodNs), 1)
        self.boostSliceNs = max(min(boostSliceNs, self.timesliceNs), 1)
        initialCreditNs = Int64(self.boostSliceNs)
        creditCeilingNs = Int64(self.periodNs)
        creditFloorNs = -2 * Int64(self.periodNs)
    }
}

/// A domain's standing: which class pick() puts it in.
public enum CreditPriority: Int, Comparable, Sendable {
    /// Used more than its share (credit < 0): runs only when no one else wants the CPU.
    case over = 1
    /// Within its share (credit >= 0).
    case under = 2
    /// Just woken with credit to spare: runs first, once.
    case boost = 3

    public static func < (a: CreditPriority, b: CreditPriority) -> Bool { a.rawValue < b.rawValue }
}

/// What the scheduler knows about one domain.
public struct CreditSchedulerEntry: Equatable, Sendable {
    public var id: UInt16
    /// Relative share, 1 ... 65535 (Xen's default is 256): its domain's weight, which the domain's
    /// active vCPUs share at each period's accounting (ActiveVcpuShare).
    public var weight: UInt16
    /// The domain whose vCPU this entity is (its vCPU 0's id; the entity's own id for vCPU 0 and for
    /// a one-vCPU domain): the entities of one group share its weight.
    public var group: UInt16
    /// Percent of one CPU per period its whole domain (group) may use at most; 0 means no cap. Every
    /// entity of a group carries its domain's cap.
    public var cap: UInt16
    /// Runnable (true) or blocked (false).
    public var runnable: Bool
    /// Nanoseconds of CPU it may still use before it is OVER (negative: OVER by that much).
    public var credit: Int64
    /// CPU used in the current period (for the cap and for "active").
    public var usedThisPeriodNs: UInt64
    /// CPU used since it was added.
    public var totalRunNs: UInt64
    var boosted: Bool
    var yielded: Bool
    var ranThisPeriod: Bool
    /// Round-robin order within a class: smaller was picked longer ago.
    var stamp: UInt64
    /// Credit handed out in the refill under way, and whether it can take no more (refill only).
    var granted: Int64 = 0
    var saturated: Bool = false

    /// The placeholder for an id no domain has (a present domain's weight is never 0).
    static let absent = CreditSchedulerEntry(id: 0, weight: 0, group: 0, cap: 0, runnable: false, credit: 0, usedThisPeriodNs: 0, totalRunNs: 0,
                                             boosted: false, yielded: false, ranThisPeriod: false, stamp: 0)

    /// Whether a domain has this id (false for `absent`).
    @inline(__always)
    var present: Bool { weight != 0 }

    public var priority: CreditPriority {
        boosted ? .boost : (credit >= 0 ? .under : .over)
    }
}

/// What to run next and for how long.
public struct SchedulingDecision: Equatable, Sendable {
    /// The domain to run, nil to idle.
    public var domain: UInt16?
    /// How long until the scheduler must be asked again (run for at most this long).
    public var sliceNs: UInt64
}

public struct CreditScheduler: Equatable, Sendable {
    public static let defaultWeight: UInt16 = 256

    public let parameters: CreditSchedulerParameters
    /// entries[id], CreditSchedulerEntry.absent (weight 0) while no domain has that id: not an
    /// optional, so the hot paths read and write fields with no presence check of an optional's tag.
    var entries: [CreditSchedulerEntry]
    /// Start of the current accounting period.
    public private(set) var periodStart: UInt64
    /// The refill's accounts of the groups (indexed by group id): allocated once here, so the
    /// period's accounting allocates nothing.
    var groups: [GroupAccount]
    var nextStamp: UInt64 = 1
    /// The run queue: every present, runnable, unparked domain that has not just yielded, as a
    /// binary heap in pick() order (queue[0] runs next); queueIndex[id] is its place, -1 if absent.
    var queue: [UInt16]
    var queueIndex: [Int32]
    /// Domains whose yield lasts until the next pick (at most a few: one per yield call).
    var yielders: [UInt16]
    /// One past the highest id present: the period's accounting visits entries below it only.
    var idEnd = 0
    /// groupUsedNs[group]: CPU used in the current period by every entity of that group (domain), the
    /// usage its cap bounds. Indexed by group id; reset at each period's accounting.
    var groupUsedNs: [UInt64]
    /// groupMembers[group]: the entities (vCPUs) present in that group.
    var groupMembers: [UInt16]

    /// A scheduler with room for no domain (every id is out of range, every operation a no-op, pick
    /// idles): a constant value, so a global starting with it needs no lazy initialization. The
    /// hypervisor replaces it with init(capacity:) at boot.
    public init() {
        parameters = CreditSchedulerParameters(periodNs: 30_000_000, timesliceNs: 10_000_000, boostSliceNs: 1_000_000,
                                               initialCreditNs: 1_000_000, creditCeilingNs: 30_000_000, creditFloorNs: -60_000_000)
        entries = []
        groups = []
        groupUsedNs = []
        groupMembers = []
        queue = []
        queueIndex = []
        yielders = []
        periodStart = 0
    }

    /// A scheduler for domains 0 ..< capacity, with the first period starting at `now`.
    public init(capacity: Int, parameters: CreditSchedulerParameters = CreditSchedulerParameters(), now: UInt64 = 0) {
        let count = min(max(capacity, 1), Int(UInt16.max) + 1)
        self.parameters = parameters
        entries = Array(repeating: .absent, count: count)
        groups = Array(repeating: GroupAccount(), count: count)
        groupUsedNs = Array(repeating: 0, count: count)
        groupMembers = Array(repeating: 0, count: count)
        queueIndex = Array(repeating: -1, count: count)
        queue = []
        queue.reserveCapacity(count)
        yielders = []
        yielders.reserveCapacity(count)
        periodStart = now
    }

    /// Adds domain `id` with its initial credit (one boost slice), in `group` (the domain it is a vCPU
    /// of: nil for its own). False when the id or the group is out of range or the id taken, the
    /// weight is 0, or the cap is over 100.
    @discardableResult
    public mutating func add(_ id: UInt16, weight: UInt16 = CreditScheduler.defaultWeight, cap: UInt16 = 0, runnable: Bool = true,
                             group: UInt16? = nil) -> Bool {
        guard Int(id) < entries.count, !entries[Int(id)].present, weight > 0, cap <= 100,
              Int(group ?? id) < entries.count else { return false }
        entries[Int(id)] = CreditSchedulerEntry(id: id, weight: weight, group: group ?? id, cap: cap, runnable: runnable, credit: parameters.initialCreditNs,
                                                usedThisPeriodNs: 0, totalRunNs: 0, boosted: false, yielded: false,
                                                ranThisPeriod: false, stamp: takeStamp())
        idEnd = max(idEnd, Int(id) + 1)
        // A new domain starts with nothing used; a vCPU joining its domain adds to the domain's usage.
        if group == nil || group == id { groupUsedNs[Int(id)] = 0 }
        groupMembers[Int(group ?? id)] &+= 1
        requeue(id)
        return true
    }

    /// Forgets domain `id`.
    public mutating func remove(_ id: UInt16) {
        guard exists(id) else { return }
        if entries[Int(id)].yielded { forgetYield(id) }
        groupMembers[Int(entries[Int(id)].group)] &-= 1
        entries[Int(id)] = .absent
        requeue(id)
        while idEnd > 0, !entries[idEnd - 1].present { idEnd -= 1 }
    }

    /// Changes weight and cap (XEN_DOMCTL_SCHEDOP_putinfo); nil leaves one as it is.
    /// False, and nothing changed, for an absent domain, weight 0 or a cap over 100.
    @discardableResult
    public mutating func setParameters(_ id: UInt16, weight: UInt16? = nil, cap: UInt16? = nil) -> Bool {
        guard exists(id), weight != 0, (cap ?? 0) <= 100 else { return false }
        if let weight { entries[Int(id)].weight = weight }
        if let cap { entries[Int(id)].cap = cap }
        requeue(id)
        return true
    }

    public func exists(_ id: UInt16) -> Bool {
        Int(id) < entries.count && entries[Int(id)].present
    }

    /// Domain `id`'s standing, nil when absent.
    public func entry(_ id: UInt16) -> CreditSchedulerEntry? {
        Int(id) < entries.count && entries[Int(id)].present ? entries[Int(id)] : nil
    }

    /// Whether `id` is active (ActiveVcpuShare): runnable, or ran in the current period.
    public func isActive(_ id: UInt16) -> Bool {
        guard let e = entry(id) else { return false }
        return ActiveVcpuShare.isActive(runnable: e.runnable, ranThisPeriod: e.ranThisPeriod)
    }

    /// Whether `id` has used its cap for this period.
    public func isParked(_ id: UInt16) -> Bool {
        guard let e = entry(id) else { return false }
        return parked(e)
    }

    /// The domain stops wanting the CPU (SCHEDOP_block with nothing pending, or paused).
    public mutating func block(_ id: UInt16) {
        guard exists(id) else { return }
        if entries[Int(id)].yielded { forgetYield(id) }
        entries[Int(id)].runnable = false
        entries[Int(id)].boosted = false
        entries[Int(id)].yielded = false
        requeue(id)
    }

    /// The domain wants the CPU again (an event arrived, or unpaused). Boosted when it was
    /// blocked and is not over its share.
    public mutating func wake(_ id: UInt16) {
        // The fields in place: the entry is not copied out (a wake comes with most events).
        let i = Int(id)
        guard i < entries.count, entries[i].present, !entries[i].runnable else { return }
        entries[i].runnable = true
        entries[i].boosted = entries[i].credit >= 0
        // Blocked, it was out of the queue (block cleared its yield): it joins unless its cap parked it,
        // without requeue's test of where it was.
        if queueIndex[i] < 0 {
            if queued(id) {
                queue.append(id)
                siftUp(queue.count - 1)
            }
        } else {
            requeue(id)
        }
    }

    /// The domain gives up the CPU but stays runnable: the next pick prefers anyone else.
    public mutating func yield(_ id: UInt16) {
        guard let e = entry(id) else { return }
        if !e.yielded { yielders.append(id) }
        entries[Int(id)].yielded = true
        entries[Int(id)].boosted = false
        requeue(id)
    }

    /// Charges `id` for `elapsedNs` of CPU. Its boost ends: it has had its prompt run.
    public mutating func account(_ id: UInt16, elapsedNs: UInt64) {
        charge(id, elapsedNs: elapsedNs)
    }

    /// account(id, elapsedNs:), inlined into chargeAndPick.
    @inline(__always)
    mutating func charge(_ id: UInt16, elapsedNs: UInt64) {
        // In place: the entry is not copied out and back.
        guard Int(id) < entries.count, entries[Int(id)].present else { return }
        let charge = Int64(min(elapsedNs, UInt64(Int64.max / 2)))
        entries[Int(id)].credit = max(entries[Int(id)].credit - charge, parameters.creditFloorNs)
        entries[Int(id)].usedThisPeriodNs += elapsedNs
        groupUsedNs[Int(entries[Int(id)].group)] += elapsedNs
        entries[Int(id)].totalRunNs += elapsedNs
        entries[Int(id)].ranThisPeriod = true
        entries[Int(id)].boosted = false
        requeueBehind(id)
    }

    /// Whether a period boundary has passed by `now`: tick(now:) would hand out credit.
    public func periodEnded(at now: UInt64) -> Bool {
        now >= periodStart + parameters.periodNs
    }

    /// Advances time to `now`, handing out credit at every period boundary passed. Time that
    /// goes backwards is ignored. After a long gap, at most a few periods are replayed: the
    /// ceiling makes more pointless.
    public mutating func tick(now: UInt64) {
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
    /// only if no one else can run. The head of the run queue, no scan and no allocation.
    public mutating func pick(now: UInt64) -> SchedulingDecision {
        let toBoundary = (periodStart + parameters.periodNs) > now ? periodStart + parameters.periodNs - now : 1
        // A sibling's charge that used up its domain's cap parks this vCPU too; it leaves the queue here,
        // when it reaches the head (a charge moves the one entity charged, never its whole domain).
        while let head = queue.first, parked(entries[Int(head)]) { dequeue(head) }
        var best = queue.first
        if best == nil {
            // Only yielders want the CPU: the best of them (a handful at most).
            for y in yielders {
                let e = entries[Int(y)]
                guard e.present, e.runnable, !parked(e) else { continue }
                if let b = best, !Self.before(e, entries[Int(b)]) { continue }
                best = y
            }
        }
        // A yield lasts one pick.
        if !yielders.isEmpty {
            for i in yielders.indices {
                let y = yielders[i]
                entries[Int(y)].yielded = false
                requeue(y)
            }
            yielders.removeAll(keepingCapacity: true)
        }
        guard let id = best else {
            return SchedulingDecision(domain: nil, sliceNs: toBoundary)
        }
        entries[Int(id)].stamp = takeStamp()
        // A newer stamp only moves it later, and it stays queued (present, runnable, unparked, its
        // yield over): one sift down from its place, without requeueBehind's membership test.
        siftDown(Int(queueIndex[Int(id)]))
        // The fields in place (copying the entry out cost more than reading three of them).
        var slice = min(entries[Int(id)].boosted ? parameters.boostSliceNs : parameters.timesliceNs, toBoundary)
        let cap = entries[Int(id)].cap
        if cap > 0 {
            let group = Int(entries[Int(id)].group)
            slice = min(slice, parameters.periodNs * UInt64(cap) / 100 - groupUsedNs[group])
            // A vCPU of a capped domain with siblings runs its own part of the cap (its credit) and then
            // lets the siblings with more credit run theirs, so the cap is split among them rather than
            // spent by whichever ran first (no shorter than a tenth of a boost slice).
            let credit = entries[Int(id)].credit
            if groupMembers[group] > 1, credit > 0 {
                slice = min(slice, max(UInt64(credit), parameters.boostSliceNs / 10))
            }
        }
        return SchedulingDecision(domain: id, sliceNs: max(slice, 1))
    }

    /// What a switch asks in one call: charge the domain leaving the CPU (`leaving`, nil when none)
    /// for `elapsedNs`, then pick. Nil, after the charge, when a period ended by `now`: the caller
    /// then runs tick(now:) (the period's accounting) and pick(now:) itself.
    public mutating func chargeAndPick(_ leaving: UInt16?, elapsedNs: UInt64, now: UInt64) -> SchedulingDecision? {
        if let leaving { charge(leaving, elapsedNs: elapsedNs) }
        if periodEnded(at: now) { return nil }
        return pick(now: now)
    }

    /// SCHEDOP_block's switch in one call: `id` (the domain leaving the CPU) stops wanting it and is
    /// charged `elapsedNs` (no charge when 0, as chargeAndPick's nil), then the pick. The same states
    /// and answer as block(id) then chargeAndPick(elapsedNs > 0 ? id : nil, elapsedNs:, now:), with its
    /// entry written once and one trip out of the run queue instead of a requeue and a requeueBehind.
    public mutating func blockAndPick(_ id: UInt16, elapsedNs: UInt64, now: UInt64) -> SchedulingDecision? {
        let i = Int(id)
        if i < entries.count, entries[i].present {
            if entries[i].yielded { forgetYield(id) }
            if elapsedNs > 0 {
                let charge = Int64(min(elapsedNs, UInt64(Int64.max / 2)))
                entries[i].credit = max(entries[i].credit - charge, parameters.creditFloorNs)
                entries[i].usedThisPeriodNs += elapsedNs
                groupUsedNs[Int(entries[i].group)] += elapsedNs
                entries[i].totalRunNs += elapsedNs
                entries[i].ranThisPeriod = true
            }
            entries[i].runnable = false
            entries[i].boosted = false
            entries[i].yielded = false
            dequeue(id)
        }
        if periodEnded(at: now) { return nil }
        return pick(now: now)
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

    /// CPU time a capped domain may use per period, all its vCPUs together.
    func capBudget(_ e: CreditSchedulerEntry) -> UInt64 {
        parameters.periodNs * UInt64(e.cap) / 100
    }

    /// Whether `e`'s domain has used its cap this period (every vCPU of it is then parked).
    func parked(_ e: CreditSchedulerEntry) -> Bool {
        e.cap > 0 && groupUsedNs[Int(e.group)] >= capBudget(e)
    }

    /// CPU used this period by domain (group) `group`, all its vCPUs together: what its cap bounds.
    public func usedThisPeriod(group: UInt16) -> UInt64 {
        Int(group) < groupUsedNs.count ? groupUsedNs[Int(group)] : 0
    }

    /// Takes `id` off the list of domains whose yield is pending (its flag is the caller's).
    mutating func forgetYield(_ id: UInt16) {
        if let at = yielders.firstIndex(of: id) { yielders.remove(at: at) }
    }
}
