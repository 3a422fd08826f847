// CreditRunQueue.swift: the credit scheduler's run queue, an indexed binary heap of domain ids in
// pick() order (CreditScheduler.before), so pick() reads its head and a charge, wake or block moves
// one domain in O(log n). It must never decide policy: membership and order come from the entries.

extension CreditScheduler {
    /// Whether `id` belongs in the run queue: present, runnable, its domain under its cap, not yielding.
    /// Reads the fields in place (a whole entry copied out per call cost more than the answer).
    @inline(__always)
    func queued(_ id: UInt16) -> Bool {
        let i = Int(id)
        guard entries[i].present, entries[i].runnable, !entries[i].yielded else { return false }
        let cap = entries[i].cap
        return cap == 0 || groupUsedNs[Int(entries[i].group)] < parameters.periodNs * UInt64(cap) / 100
    }

    /// Puts `id` where its entry now says: in the queue at its place, or out of it. Every
    /// operation that changes an entry ends here.
    mutating func requeue(_ id: UInt16) {
        let at = Int(queueIndex[Int(id)])
        if queued(id) {
            if at < 0 {
                queue.append(id)
                siftUp(queue.count - 1)
            } else {
                siftUp(at)
                siftDown(Int(queueIndex[Int(id)]))
            }
        } else if at >= 0 {
            dequeue(id)
        }
    }

    /// Takes `id` out of the run queue if it is there (its entry no longer queued()).
    @inline(__always)
    mutating func dequeue(_ id: UInt16) {
        let at = Int(queueIndex[Int(id)])
        guard at >= 0 else { return }
        let last = queue.removeLast()
        queueIndex[Int(id)] = -1
        if at < queue.count {
            queue[at] = last
            siftUp(at)
            siftDown(Int(queueIndex[Int(last)]))
        }
    }

    /// requeue(id) after a change that can only move `id` later in pick() order (a charge: less
    /// credit, boost over; a pick: a newer stamp): one sift down, or leaving the queue when it parked.
    /// Inline (into charge, so into chargeAndPick): as a call it cost a frame and reloads of the arrays.
    @inline(__always)
    mutating func requeueBehind(_ id: UInt16) {
        let at = Int(queueIndex[Int(id)])
        if at >= 0 {
            if queued(id) { siftDown(at) } else { requeue(id) }
        } else if queued(id) {
            requeue(id)
        }
    }

    /// After the period's accounting changed every credit: the queue from scratch (O(n)).
    mutating func rebuildQueue() {
        for id in queue { queueIndex[Int(id)] = -1 }
        queue.removeAll(keepingCapacity: true)
        for index in 0..<idEnd where queued(UInt16(index)) {
            queueIndex[index] = Int32(queue.count)
            queue.append(UInt16(index))
        }
        var i = queue.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    /// Whether the domain with id `a` runs before the one with id `b` (both present).
    @inline(__always)
    func ahead(_ a: UInt16, _ b: UInt16) -> Bool {
        entries.withUnsafeBufferPointer { Self.ahead(a, b, $0) }
    }

    /// ahead(a, b) over the entries in place: it reads only the three fields the order looks at
    /// (copying two whole entries per comparison made each level of a sift cost some 200 instructions).
    @inline(__always)
    static func ahead(_ a: UInt16, _ b: UInt16, _ e: UnsafeBufferPointer<CreditSchedulerEntry>) -> Bool {
        let pa = e[Int(a)].priority, pb = e[Int(b)].priority
        if pa != pb { return pa > pb }
        if pa != .boost {
            let ca = e[Int(a)].credit, cb = e[Int(b)].credit
            if ca != cb { return ca > cb }
        }
        return e[Int(a)].stamp < e[Int(b)].stamp
    }

    /// ahead(a, b) through the entries array itself (bounds-checked subscripts, no buffer): what
    /// the two- and three-entry heaps' sifts use.
    @inline(__always)
    func aheadInPlace(_ a: UInt16, _ b: UInt16) -> Bool {
        let pa = entries[Int(a)].priority, pb = entries[Int(b)].priority
        if pa != pb { return pa > pb }
        if pa != .boost {
            let ca = entries[Int(a)].credit, cb = entries[Int(b)].credit
            if ca != cb { return ca > cb }
        }
        return entries[Int(a)].stamp < entries[Int(b)].stamp
    }

    /// Puts `id` at `at` of the queue and records it there.
    @inline(__always)
    mutating func place(_ id: UInt16, at: Int) {
        queue[at] = id
        queueIndex[Int(id)] = Int32(truncatingIfNeeded: at)
    }

    // A queue of up to three (the common case: a few domains want the CPU at once) is sifted with
    // subscripts and at most two comparisons. A larger one works on the three arrays through buffers:
    // through the arrays themselves, each step paid for uniqueness checks, and a comparison inside
    // the mutation copied the whole scheduler (four retains and releases) on some paths.

    // (Mutable buffers for all three: reading `entries` for a read-only buffer retained and released it.)

    /// Moves queue[start] up to its place. Also records a freshly appended id's place (start == count - 1).
    /// The head's case inline (it has nowhere to go: only its place is recorded), the rest a call.
    @inline(__always)
    mutating func siftUp(_ start: Int) {
        if start == 0 {
            queueIndex[Int(queue[0])] = 0
            return
        }
        siftUpFromBelowHead(start)
    }

    /// siftUp for start > 0.
    mutating func siftUpFromBelowHead(_ start: Int) {
        if start <= 2 {                               // its parent is the head
            let id = queue[start], head = queue[0]
            if aheadInPlace(id, head) {
                place(head, at: start)
                place(id, at: 0)
            } else {
                queueIndex[Int(id)] = Int32(truncatingIfNeeded: start)
            }
            return
        }
        entries.withUnsafeMutableBufferPointer { e in
            queue.withUnsafeMutableBufferPointer { q in
                queueIndex.withUnsafeMutableBufferPointer { at in Self.siftUp(start, UnsafeBufferPointer(e), q, at) }
            }
        }
    }

    /// Moves queue[start] down to its place. Every caller has queueIndex[queue[start]] == start
    /// already, so an element without children is left as it is, unwritten: that test inline, the
    /// sift a call.
    @inline(__always)
    mutating func siftDown(_ start: Int) {
        if 2 * start + 1 >= queue.count { return }    // no child to compare with
        siftDownWithChildren(start)
    }

    /// siftDown for an element with at least one child.
    mutating func siftDownWithChildren(_ start: Int) {
        let count = queue.count
        if count <= 3 {                               // start is the head, its children the rest
            let id = queue[0]
            var child = 1
            if count == 3 {
                // The ids read first: reading them in the call's arguments copied the whole scheduler
                // (and retained its arrays) to borrow it for the comparison.
                let left = queue[1], right = queue[2]
                if aheadInPlace(right, left) { child = 2 }
            }
            let below = queue[child]
            if aheadInPlace(below, id) {
                place(below, at: 0)
                place(id, at: child)
            }
            return
        }
        entries.withUnsafeMutableBufferPointer { e in
            queue.withUnsafeMutableBufferPointer { q in
                queueIndex.withUnsafeMutableBufferPointer { at in Self.siftDown(start, UnsafeBufferPointer(e), q, at) }
            }
        }
    }

    static func siftUp(_ start: Int, _ e: UnsafeBufferPointer<CreditSchedulerEntry>,
                       _ queue: UnsafeMutableBufferPointer<UInt16>, _ queueIndex: UnsafeMutableBufferPointer<Int32>) {
        var i = start
        let id = queue[i]
        while i > 0 {
            let parent = (i - 1) >> 1
            let above = queue[parent]
            guard ahead(id, above, e) else { break }
            queue[i] = above
            queueIndex[Int(above)] = Int32(i)
            i = parent
        }
        queue[i] = id
        queueIndex[Int(id)] = Int32(i)
    }

    static func siftDown(_ start: Int, _ e: UnsafeBufferPointer<CreditSchedulerEntry>,
                         _ queue: UnsafeMutableBufferPointer<UInt16>, _ queueIndex: UnsafeMutableBufferPointer<Int32>) {
        var i = start
        let id = queue[i]
        let count = queue.count
        while true {
            let left = 2 * i + 1
            guard left < count else { break }
            var child = left
            if left + 1 < count, ahead(queue[left + 1], queue[left], e) { child = left + 1 }
            let below = queue[child]
            guard ahead(below, id, e) else { break }
            queue[i] = below
            queueIndex[Int(below)] = Int32(i)
            i = child
        }
        queue[i] = id
        queueIndex[Int(id)] = Int32(i)
    }

    /// The run queue's invariants (tests): exactly the queued domains, each index right, heap order.
    func runQueueIsConsistent() -> Bool {
        var members = 0
        for index in entries.indices {
            let at = Int(queueIndex[index])
            if queued(UInt16(index)) {
                guard at >= 0, at < queue.count, queue[at] == UInt16(index) else { return false }
                members += 1
            } else if at >= 0 {
                return false
            }
        }
        guard members == queue.count else { return false }
        for i in queue.indices.dropFirst() where ahead(queue[i], queue[(i - 1) >> 1]) { return false }
        for index in entries.indices {
            let pending = entries[index].present && entries[index].yielded
            if pending != yielders.contains(UInt16(index)) { return false }
        }
        return true
    }
}
