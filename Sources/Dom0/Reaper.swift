// Reaper.swift: dom0's side of a domU's end: VIRQ_DOM_EXC says some domain shut down or crashed;
// dom0 looks at every domain's state, reports each stopped one with its reason, and destroys it
// (the hypervisor then takes its memory back).

import ApusCore
import GuestKit
import PVABI

enum Reaper {
    static var port: UInt32 = 0
    static var signals: UInt32 = 0
    static var reaped: [(id: UInt16, reason: UInt32)] = []

    static func start() {
        Dom0Events.prepare()
        let p = GuestEvents.bindVirq(Virq.domainException)
        if p > 0 { port = UInt32(p) }
        GuestEvents.handler = { p in
            if p == Reaper.port { Reaper.signals &+= 1 }
            Dom0Events.others(p)
        }
    }

    /// Destroys every domain that has stopped; returns how many.
    @discardableResult
    static func reap(quiet: Bool = false) -> Int {
        var count = 0
        for info in Toolstack.all() where info.id != 0 && info.isShutdown {
            if !quiet {
                info.name.withUnsafeBufferPointer { n in
                    console.print("reaped d\(info.id) (\(text: n)): shut down, reason \(reasonName(info.shutdownReason)), \(info.cpuTime / 1000) us of CPU")
                }
            }
            reaped.append((info.id, info.shutdownReason))
            _ = Toolstack.destroy(info.id)
            count += 1
        }
        return count
    }

    static func reasonName(_ raw: UInt32) -> StaticString {
        ShutdownReason(rawValue: raw)?.name ?? "unknown"
    }
}

/// Other ports dom0 listens on (the timer during tests, the domains' rings).
enum Dom0Events {
    static var timerPort: UInt32 = 0
    static var timerFired: UInt32 = 0
    /// One bit per port (the first `portLimit`) that fired since the main loop last took it; made
    /// before events are enabled, so the upcall never allocates.
    static let portLimit: UInt32 = 1024
    static var fired: UnsafeMutablePointer<UInt32>? = nil

    static func prepare() {
        guard fired == nil else { return }
        let words = UnsafeMutablePointer<UInt32>.allocate(capacity: Int(portLimit / 32))
        words.initialize(repeating: 0, count: Int(portLimit / 32))
        fired = words
    }

    static func others(_ port: UInt32) {
        if port == timerPort { timerFired &+= 1; return }
        if PhysicalInterrupts.dispatch(port) { return }
        if let f = fired, port < portLimit { f[Int(port >> 5)] |= 1 << (port & 31) }
        DomainIO.signals &+= 1
    }

    /// Whether `port` fired since the last call (atomically cleared: the upcall may set other bits).
    static func take(_ port: UInt32) -> Bool {
        guard let f = fired, port < portLimit else { return false }
        return guest_test_and_clear_bit(f, port) != 0
    }

    /// Blocks until `condition` holds or `ns` of system time have passed (VIRQ_TIMER); the
    /// condition's last value. Events (a device's interrupt among them) are handled meanwhile.
    static func wait(atMost ns: UInt64, until condition: () -> Bool) -> Bool {
        bindTimer()
        let deadline = GuestTime.now() + ns
        // A sleep this wait runs inside keeps its own deadline: the one-shot timer is re-armed for it.
        defer { if let outer = sleepDeadline { _ = GuestTime.setTimer(outer) } }
        while true {
            _ = GuestTime.setTimer(deadline)
            let before = timerFired
            GuestEvents.wait { condition() || timerFired != before }
            if condition() { return true }
            if GuestTime.now() >= deadline { return condition() }
        }
    }

    /// The deadline of the sleep under way, if any (a wait inside it re-arms the timer for it).
    static var sleepDeadline: UInt64? = nil

    static func bindTimer() {
        if timerPort == 0 {
            let p = GuestEvents.bindVirq(Virq.timer)
            if p > 0 { timerPort = UInt32(p) }
        }
    }

    /// Sleeps for `ns` of system time (VIRQ_TIMER), blocking in between; the domains' rings are
    /// served as their events arrive, not when the sleep ends.
    static func sleep(_ ns: UInt64) {
        bindTimer()
        let deadline = GuestTime.now() + ns
        let outer = sleepDeadline
        sleepDeadline = outer.map { min($0, deadline) } ?? deadline
        defer {
            sleepDeadline = outer
            if let outer { _ = GuestTime.setTimer(outer) }
        }
        _ = GuestTime.setTimer(deadline)
        while true {
            let before = timerFired
            // Serving the rings may wait for a device; that wait sets the timer back to this deadline.
            DomainIO.serviceIfSignalled()
            if GuestTime.now() >= deadline { return }
            GuestEvents.wait { timerFired != before || DomainIO.isSignalled }
        }
    }
}
