// Lifecycle.swift: dom0's one source of domain lifecycle events. Each look takes the toolstack's
// view of the domains (getdomaininfo for every domain), diffs it against the previous look in pure
// code (GuestKit LifecycleDiff) and hands each event, numbered, to the HTTP API's streams and
// waiting shutdowns (HttpEvents). It looks after every toolstack action that changes a domain
// (Toolstack's create, destroy, pause, unpause) and on every turn of the shell's loop, which is where
// VIRQ_DOM_EXC (a domain shut down or crashed) lands. It only reads domain state; it never changes a
// domain, and it is idle until the HTTP API listens (nobody would read its events).

import ApusCore
import GuestKit
import PVABI

enum Lifecycle {
    static var previous: [DomainSnapshot] = []
    static var started = false
    static var ring = EventRing()
    /// A look under way (a look that acts, through HttpEvents, could ask for another).
    static var looking = false
    static var again = false

    /// Takes the first look: the domains that exist now are the baseline, not events.
    static func start() {
        previous = Toolstack.all().map(snapshot)
        started = true
    }

    static func snapshot(_ i: DomainInfo) -> DomainSnapshot {
        DomainSnapshot(id: i.id, name: i.name, flags: i.flags)
    }

    /// Looks at the domains now and publishes what changed since the last look.
    static func observe() {
        guard started else { return }
        if looking { again = true; return }
        looking = true
        defer { looking = false }
        repeat {
            again = false
            let infos = Toolstack.all()
            let current = infos.map(snapshot)
            let events = LifecycleDiff.events(from: previous, to: current)
            previous = current
            guard !events.isEmpty else { continue }
            let timeMs = GuestTime.now() / 1_000_000
            for e in events {
                let sequence = ring.append(e, timeMs: timeMs)
                let streams = HttpEvents.publish(sequence, e, timeMs: timeMs)
                report(sequence, e, streams: streams)
                HttpEvents.settle(e, info: infos.first { $0.id == e.id })
            }
        } while again
    }

    static func report(_ sequence: UInt64, _ e: LifecycleEvent, streams: Int) {
        var line = LogLine("event ")
        line.append(decimal: sequence)
        line.append(": ")
        line.append(e.kind.name)
        line.append(" d")
        line.append(decimal: UInt64(e.id))
        line.append(" (")
        for b in e.name.prefix(32) { line.append(byte: b > 32 && b < 127 ? b : 63) }
        line.append(")")
        if let r = e.reasonName { line.append(", reason "); line.append(r) }
        line.append(", state ")
        line.append(e.state.word)
        line.append(" -> ")
        line.append(decimal: UInt64(streams))
        line.append(streams == 1 ? " stream" : " streams")
        console.print(line)
    }
}
