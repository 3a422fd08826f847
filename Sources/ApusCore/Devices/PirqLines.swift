// PirqLines.swift: the interrupt lines the hypervisor lends to domains as physical IRQs, with Xen's
// guest-IRQ rules (do_IRQ_guest, pirq_guest_eoi): when a line fires it is masked and every bound
// domain is told; it is unmasked when all of them have EOI'd, or by force a deadline later, so a
// domain that never EOIs loses only its own interrupts. Pure: it decides what to do with the line and
// whom to notify; the caller drives the PIC and the event channels. It never holds more than
// `maxGuests` domains on one line.

import PVABI

/// What the caller must do with the hardware line after an operation.
public enum LineAction: Equatable, Sendable {
    case none
    /// Mask the line at the interrupt controller.
    case mask
    /// Unmask it.
    case unmask
}

/// One domain's use of a line.
public struct PirqGuest: Equatable, Sendable {
    public let domain: UInt16
    /// The domain's number for the line (its pirq), which its event channel is bound to.
    public let pirq: UInt32
    /// Told of an interrupt it has not EOI'd yet.
    public var inFlight: Bool
}

/// One line's state.
public struct PirqLine: Sendable {
    public internal(set) var guests: [PirqGuest] = []
    /// Bound with will-share by every guest so far.
    public internal(set) var shareable = false
    /// The line is masked until the guests in flight EOI (or the deadline passes).
    public internal(set) var awaitingEOI = false
    /// When the hypervisor stops waiting and unmasks anyway (a time in the caller's units).
    public internal(set) var deadline: UInt64 = 0

    public init() {}

    public var inFlightCount: Int {
        var n = 0
        for g in guests where g.inFlight { n += 1 }
        return n
    }
}

public struct PirqLines: Sendable {
    /// The most domains sharing one line (Xen's irq_max_guests default is 32; a PIC line with more
    /// than a few devices is already unusual).
    public static let maxGuests = 8
    /// How long a fired line waits for its guests' EOIs before it is unmasked anyway (Xen: 1 ms).
    public let eoiTimeout: UInt64

    public private(set) var lines: [PirqLine]

    public init(count: Int, eoiTimeout: UInt64) {
        lines = [PirqLine](repeating: PirqLine(), count: count)
        self.eoiTimeout = eoiTimeout
    }

    public func line(_ n: Int) -> PirqLine? { n >= 0 && n < lines.count ? lines[n] : nil }

    /// The guest entry of `domain` on `line`, if bound.
    public func binding(line n: Int, domain: UInt16) -> PirqGuest? {
        guard let l = line(n) else { return nil }
        for g in l.guests where g.domain == domain { return g }
        return nil
    }

    /// EVTCHNOP_bind_pirq's line half: `domain` is told of `line` as `pirq`. The first binding
    /// unmasks the line.
    public mutating func bind(line n: Int, domain: UInt16, pirq: UInt32, willShare: Bool) -> Result<LineAction, Refusal> {
        guard n >= 0 && n < lines.count else { return .failure(Refusal(.EINVAL, "no such interrupt line")) }
        var l = lines[n]
        for g in l.guests where g.domain == domain {
            return .failure(Refusal(.EBUSY, "the domain has the line bound already"))
        }
        if !l.guests.isEmpty {
            guard willShare && l.shareable else {
                return .failure(Refusal(.EBUSY, willShare ? "the line's other domain does not share it"
                                                                  : "the line is bound and this binding will not share"))
            }
            guard l.guests.count < Self.maxGuests else {
                return .failure(Refusal(.EBUSY, "the line has its most sharing domains"))
            }
        } else {
            l.shareable = willShare
        }
        l.guests.append(PirqGuest(domain: domain, pirq: pirq, inFlight: false))
        let first = l.guests.count == 1
        lines[n] = l
        return .success(first ? .unmask : .none)
    }

    /// The line fired at `now`: every bound guest not already waiting for its EOI is marked in
    /// flight; all bound guests are to be notified (`notify`). The line is masked while any guest
    /// is in flight. A line nobody has bound is masked and left so.
    public mutating func fire(line n: Int, now: UInt64, notify: (PirqGuest) -> Void) -> LineAction {
        guard n >= 0 && n < lines.count else { return .none }
        var l = lines[n]
        guard !l.guests.isEmpty else { return .mask }
        for i in l.guests.indices { l.guests[i].inFlight = true }
        l.awaitingEOI = true
        l.deadline = now &+ eoiTimeout
        lines[n] = l
        for g in l.guests { notify(g) }
        return .mask
    }

    /// PHYSDEVOP_eoi of `domain` for `line`: its interrupt is handled. The last EOI unmasks.
    public mutating func eoi(line n: Int, domain: UInt16) -> LineAction {
        guard n >= 0 && n < lines.count else { return .none }
        var l = lines[n]
        guard let i = l.guests.firstIndex(where: { $0.domain == domain }), l.guests[i].inFlight else { return .none }
        l.guests[i].inFlight = false
        let action = settle(&l)
        lines[n] = l
        return action
    }

    /// `domain` unbinds `line` (close of its port, unmap_pirq, or its destruction). An EOI it owed
    /// is taken as given; the last binding masks the line.
    public mutating func unbind(line n: Int, domain: UInt16) -> LineAction {
        guard n >= 0 && n < lines.count else { return .none }
        var l = lines[n]
        guard let i = l.guests.firstIndex(where: { $0.domain == domain }) else { return .none }
        l.guests.remove(at: i)
        if l.guests.isEmpty {
            lines[n] = PirqLine()
            return .mask
        }
        let action = settle(&l)
        lines[n] = l
        return action
    }

    /// Every line `domain` has bound, unbound (the domain is being destroyed). `act` gets each
    /// line's action.
    public mutating func unbindAll(domain: UInt16, act: (Int, LineAction) -> Void) {
        for n in lines.indices where lines[n].guests.contains(where: { $0.domain == domain }) {
            act(n, unbind(line: n, domain: domain))
        }
    }

    /// Lines whose deadline passed by `now` stop waiting: their guests' EOIs are taken as given
    /// and `act` unmasks them.
    public mutating func expire(now: UInt64, act: (Int, LineAction) -> Void) {
        for n in lines.indices where lines[n].awaitingEOI && now >= lines[n].deadline {
            var l = lines[n]
            for i in l.guests.indices { l.guests[i].inFlight = false }
            let action = settle(&l)
            lines[n] = l
            act(n, action)
        }
    }

    /// Unmasks when nobody is in flight any more.
    private func settle(_ l: inout PirqLine) -> LineAction {
        guard l.awaitingEOI, l.inFlightCount == 0 else { return .none }
        l.awaitingEOI = false
        l.deadline = 0
        return .unmask
    }
}
