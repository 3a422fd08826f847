// CreditRunQueue.swift: the credit scheduler's run queue, an indexed binary heap of domain ids in
// pick() order (CreditScheduler.before), so pick() reads its head and a charge, wake or block moves
// one domain in O(log n). It must never decide policy: membership and order come from the entries.

extension CreditScheduler {
    /// Whether `id` belongs in the run queue: present, runnable, under its cap, not yielding.
    /// Reads the fields in place (a whole entry copied out per call cost more than the answer).
    @inline(__always)
    func queued(_ id: UInt16) -> Bool {
        let i = Int(id)
        guard entries[i] != nil, entries[i]!.runnable, !entries[i]!.yielded else { return false }
        let cap = entries[i]!.cap
        return cap == 0 || entries[i]!.usedThisPeriodNs < parameters.periodNs * UInt64(cap) / 100
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
            let last = queue.removeLast()
            queueIndex[Int(id)] = -1
            if at < queue.count {
                queue[at] = last
                siftUp(at)
                siftDown(Int(queueIndex[Int(last)]))
            }
        }
    }

    /// requeue(id) after a change that can only move `id` later in pick() order (a charge: less
    /// credit, boost over; a pick: a newer stamp): one sift down, or leaving the queue when it parked.
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
    static func ahead(_ a: UInt16, _ b: UInt16, _ e: UnsafeBufferPointer<CreditSchedulerEntry?>) -> Bool {
        let pa = e[Int(a)]!.priority, pb = e[Int(b)]!.priority
        if pa != pb { return pa > pb }
        if pa != .boost {
            let ca = e[Int(a)]!.credit, cb = e[Int(b)]!.credit
            if ca != cb { return ca > cb }
        }
        return e[Int(a)]!.stamp < e[Int(b)]!.stamp
    }

    // The sifts work on the three arrays through buffers: through the arrays themselves, each step
    // paid for uniqueness checks, and a comparison inside the mutation copied the whole scheduler
    // (four retains and releases) on some paths.

    // (Mutable buffers for all three: reading `entries` for a read-only buffer retained and released it.)

    mutating func siftUp(_ start: Int) {
        if start == 0 {                               // the head has nowhere to go
            queueIndex[Int(queue[0])] = 0
            return
        }
        entries.withUnsafeMutableBufferPointer { e in
            queue.withUnsafeMutableBufferPointer { q in
                queueIndex.withUnsafeMutableBufferPointer { at in Self.siftUp(start, UnsafeBufferPointer(e), q, at) }
            }
        }
    }

    mutating func siftDown(_ start: Int) {
        if 2 * start + 1 >= queue.count {             // no child to compare with
            queueIndex[Int(queue[start])] = Int32(start)
            return
        }
        entries.withUnsafeMutableBufferPointer { e in
            queue.withUnsafeMutableBufferPointer { q in
                queueIndex.withUnsafeMutableBufferPointer { at in Self.siftDown(start, UnsafeBufferPointer(e), q, at) }
            }
        }
    }

    static func siftUp(_ start: Int, _ e: UnsafeBufferPointer<CreditSchedulerEntry?>,
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

    static func siftDown(_ start: Int, _ e: UnsafeBufferPointer<CreditSchedulerEntry?>,
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
            let pending = entries[index]?.yielded == true
            if pending != yielders.contains(UInt16(index)) { return false }
        }
        return true
    }
}
