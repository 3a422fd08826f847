// Delivery of events through the FIFO ABI: event words in the guest's event-array pages, per-VCPU priority queues linked through those words, READY bits and heads in each VCPU's control block.
// Word arithmetic over a FifoEventWords seam plus the queue tails the hypervisor keeps: it must never decide who may signal whom (EventChannelSystem does), never trust a link the guest wrote, and never enter the guest.
//
// The rule is Xen's evtchn_fifo_set_pending on one CPU: set PENDING; only for a word neither
// MASKED nor LINKED, set LINKED, forget the port as the tail of the queue it was last on, then
// link it after the tail of its queue when that tail is still LINKED, else make it the head;
// it becomes the tail; only a new head sets the queue's READY bit, and only a READY bit that was
// clear asks for an upcall. The guest consumes from the head, clearing LINKED as it goes.

import PVABI

/// Access to one domain's FIFO memory: the event words of its array pages and each VCPU's control
/// block. The hypervisor implements it over its mappings of those frames; tests over arrays. The guest
/// writes the same words; on one CPU it is not running while the hypervisor is, so a plain
/// read-modify-write is atomic with respect to it.
public protocol FifoEventWords {
    /// Whether an event-array page holds `port`'s word.
    func hasWord(_ port: UInt32) -> Bool
    /// Whether `vcpu` has registered a control block (EVTCHNOP_init_control).
    func hasControlBlock(vcpu: UInt32) -> Bool
    /// `port`'s event word; only asked for a port with a word.
    func word(_ port: UInt32) -> UInt32
    mutating func setWord(_ port: UInt32, _ value: UInt32)
    /// The u32 at `offset` of `vcpu`'s control block (EvtchnFifoControlBlockLayout); only for a VCPU with one.
    func control(vcpu: UInt32, at offset: Int) -> UInt32
    mutating func setControl(vcpu: UInt32, at offset: Int, _ value: UInt32)
}

/// What a FIFO set_pending did.
public enum FifoRaise: Equatable, Sendable {
    /// The port has no event word yet (no array page): nothing was written; the event is held in the
    /// queues (FifoQueues.isHeld) and raised when the guest adds the page (FifoEvents.pageAdded).
    case noWord
    /// PENDING set, but the VCPU has no control block: the event is not linked (Xen drops it likewise; a
    /// guest must not unmask a port before its VCPU's control block exists).
    case noControlBlock
    /// PENDING set; the word was masked or already linked, or linked behind a tail: nothing more to do.
    case queued
    /// The port became the head of its queue and that queue's READY bit went from 0 to 1: set the VCPU's
    /// evtchn_upcall_pending and kick it.
    case raiseUpcall
}

/// The hypervisor's half of one domain's FIFO queues: each queue's tail, each port's priority and the queue
/// it was last linked on. Nothing here is guest memory, so nothing here can be forged by the guest.
/// Per-port records are kept for ports 0 ..< recorded only, grown in buckets as ports are given a priority,
/// linked or held (a domain allowed 131072 ports that uses 40 holds 64 records); ports above read as
/// never touched: the default priority, on no queue, not held.
public struct FifoQueues: Equatable, Sendable {
    public let vcpus: UInt32
    public let portLimit: UInt32
    /// tails[vcpu * 16 + priority]: the last port linked on that queue, 0 for none.
    var tails: [UInt32]
    /// priorities[port]: 0 (highest) ... 15; the default is 7.
    var priorities: [UInt8]
    /// lastQueue[port]: the queue index (vcpu * 16 + priority) the port was last linked on.
    var lastQueue: [UInt16]
    /// held[port]: raised while no array page held its word; raised again when one does.
    var held: [Bool]
    /// Per-port records grown at a time.
    static let bucket = 64

    /// Queues for `vcpus` VCPUs (at most 4096) and ports below `portLimit` (at most EvtchnFifo.maxPorts).
    public init(vcpus: UInt32, portLimit: UInt32) {
        precondition(vcpus > 0 && vcpus <= 4096 && portLimit <= EvtchnFifo.maxPorts, "FIFO queues beyond the ABI")
        self.vcpus = vcpus
        self.portLimit = portLimit
        tails = Array(repeating: 0, count: Int(vcpus) * EvtchnFifo.priorities)
        priorities = []
        lastQueue = []
        held = []
    }

    /// Ports with records (below it); at most portLimit rounded up to the bucket.
    public var recorded: Int { priorities.count }

    /// Makes room for `port`'s records (port below portLimit): the buckets up to it, at their defaults.
    mutating func reserve(_ port: UInt32) {
        guard Int(port) >= priorities.count else { return }
        let wanted = (Int(port) / Self.bucket + 1) * Self.bucket
        let more = wanted - priorities.count
        priorities.append(contentsOf: repeatElement(UInt8(EvtchnFifo.priorityDefault), count: more))
        lastQueue.append(contentsOf: repeatElement(UInt16(EvtchnFifo.priorityDefault), count: more))
        held.append(contentsOf: repeatElement(false, count: more))
    }

    /// Whether an event for `port` waits for its array page.
    public func isHeld(_ port: UInt32) -> Bool { Int(port) < held.count && held[Int(port)] }

    static func queue(_ vcpu: UInt32, _ priority: UInt32) -> Int { Int(vcpu) * EvtchnFifo.priorities + Int(priority) }

    /// `port`'s priority (checked: port below portLimit).
    public func priority(_ port: UInt32) -> UInt32 {
        precondition(port < portLimit, "event port beyond the FIFO queues")
        return Int(port) < priorities.count ? UInt32(priorities[Int(port)]) : EvtchnFifo.priorityDefault
    }

    /// EVTCHNOP_set_priority's act, once the port is known to be in use: false (nothing changed) for a
    /// priority above 15 or a port beyond the limit. An event already linked stays where it is; the new
    /// priority applies from its next link, as in Xen.
    @discardableResult
    public mutating func setPriority(_ port: UInt32, _ priority: UInt32) -> Bool {
        guard port < portLimit, priority <= EvtchnFifo.priorityLowest else { return false }
        reserve(port)
        priorities[Int(port)] = UInt8(priority)
        return true
    }

    /// The tail of `vcpu`'s queue `priority` (for tests and the debug key).
    public func tail(vcpu: UInt32, priority: UInt32) -> UInt32 { tails[Self.queue(vcpu, priority)] }

    /// The switch from the 2-level ABI: a bound port whose 2-level pending bit was set keeps its event,
    /// held until an array page holds its word (then FifoEvents.pageAdded links it, as Xen's
    /// add_page_to_event_array re-raises pending ports). Ports beyond the limit and port 0 are ignored.
    public mutating func carryAcross(pending port: UInt32) {
        guard port != 0, port < portLimit else { return }
        reserve(port)
        held[Int(port)] = true
    }

    /// Forgets every queue and priority: a port closed and re-bound starts at the default again.
    public mutating func resetPort(_ port: UInt32) {
        guard port < portLimit else { return }
        if Int(port) < priorities.count {
            priorities[Int(port)] = UInt8(EvtchnFifo.priorityDefault)
            held[Int(port)] = false
        }
        for i in tails.indices where tails[i] == port { tails[i] = 0 }
    }
}

public enum FifoEvents {
    static let pending: UInt32 = 1 << EvtchnFifo.pendingBit
    static let masked: UInt32 = 1 << EvtchnFifo.maskedBit
    static let linked: UInt32 = 1 << EvtchnFifo.linkedBit
    static let busy: UInt32 = 1 << EvtchnFifo.busyBit

    /// Marks `port` pending for `vcpu` (which must have a control block) on the port's priority queue.
    /// `port` must be below the queues' portLimit and `vcpu` below their VCPU count (both checked).
    public static func setPending<W: FifoEventWords>(_ words: inout W, _ queues: inout FifoQueues, port: UInt32, vcpu: UInt32) -> FifoRaise {
        precondition(port != 0 && port < queues.portLimit && vcpu < queues.vcpus, "FIFO event beyond its queues")
        queues.reserve(port)
        guard words.hasWord(port) else {
            queues.held[Int(port)] = true
            return .noWord
        }
        var word = words.word(port)
        word |= pending
        guard words.hasControlBlock(vcpu: vcpu) else {
            words.setWord(port, word)
            return .noControlBlock
        }
        guard word & (masked | linked) == 0 else {
            words.setWord(port, word)
            return .queued
        }
        word |= linked
        words.setWord(port, word)
        // An old tail: the queue it was last on is empty once it is linked again, so that queue must not
        // link a later event behind it (the event may now be on another queue).
        let old = Int(queues.lastQueue[Int(port)])
        if queues.tails[old] == port { queues.tails[old] = 0 }
        let priority = queues.priority(port)
        let q = FifoQueues.queue(vcpu, priority)
        queues.lastQueue[Int(port)] = UInt16(q)
        let tail = queues.tails[q]
        var linkedBehindTail = false
        if tail != 0, words.hasWord(tail) {
            let tailWord = words.word(tail)
            if tailWord & linked != 0 {
                words.setWord(tail, tailWord & ~(busy | EvtchnFifo.linkMask) | port)
                linkedBehindTail = true
            }
        }
        if !linkedBehindTail {
            words.setControl(vcpu: vcpu, at: EvtchnFifoControlBlockLayout.head(priority), port)
        }
        queues.tails[q] = port
        if linkedBehindTail { return .queued }
        let ready = words.control(vcpu: vcpu, at: EvtchnFifoControlBlockLayout.readyOffset)
        let bit: UInt32 = 1 << priority
        guard ready & bit == 0 else { return .queued }
        words.setControl(vcpu: vcpu, at: EvtchnFifoControlBlockLayout.readyOffset, ready | bit)
        return .raiseUpcall
    }

    /// EVTCHNOP_unmask for a FIFO domain: clears MASKED (the guest normally has) and links a pending word again.
    public static func unmask<W: FifoEventWords>(_ words: inout W, _ queues: inout FifoQueues, port: UInt32, vcpu: UInt32) -> FifoRaise {
        guard port != 0, port < queues.portLimit, words.hasWord(port) else { return .queued }
        let word = words.word(port) & ~masked
        words.setWord(port, word)
        guard word & pending != 0 else { return .queued }
        return setPending(&words, &queues, port: port, vcpu: vcpu)
    }

    /// After the guest added an array page: raises again each port in `ports` held for want of its word,
    /// on the VCPU `vcpuOf` names (nil: the port is no longer bound; its event is dropped);
    /// `raised` is told each VCPU that must get an upcall.
    public static func pageAdded<W: FifoEventWords>(_ words: inout W, _ queues: inout FifoQueues, ports: Range<UInt32>,
                                                    vcpuOf: (UInt32) -> UInt32?, raised: (UInt32) -> Void) {
        for port in ports where queues.isHeld(port) {
            guard words.hasWord(port) else { continue }
            queues.held[Int(port)] = false
            guard let vcpu = vcpuOf(port), vcpu < queues.vcpus else { continue }
            if setPending(&words, &queues, port: port, vcpu: vcpu) == .raiseUpcall { raised(vcpu) }
        }
    }

    /// Clears `port`'s PENDING bit (a close), leaving a link in place: the guest skips a word that is not pending.
    public static func clearPending<W: FifoEventWords>(_ words: inout W, port: UInt32) {
        guard words.hasWord(port) else { return }
        words.setWord(port, words.word(port) & ~pending)
    }

    /// Xen's is_masked: a port without a word reads masked.
    public static func isMasked<W: FifoEventWords>(_ words: W, port: UInt32) -> Bool {
        !words.hasWord(port) || words.word(port) & masked != 0
    }

    /// The word's bits for the debug key: pending, masked, linked and the link.
    public static func bits<W: FifoEventWords>(_ words: W, port: UInt32) -> (pending: Bool, masked: Bool, linked: Bool, link: UInt32)? {
        guard words.hasWord(port) else { return nil }
        let w = words.word(port)
        return (w & pending != 0, w & masked != 0, w & linked != 0, w & EvtchnFifo.linkMask)
    }
}
