// LifecycleDiff.swift: the lifecycle events between two snapshots of the domains the toolstack sees
// (getdomaininfo's list then and now): created, paused, unpaused, shutdown (with Xen's reason),
// crashed, destroyed. The one place transitions are decided; dom0's GET /v1/events and its waiting
// shutdown are fed from it. Pure: it reads two lists and never touches a domain; a running/blocked
// flicker is no event.

import PVABI

/// The word a domain's state is shown with (the API's Domain.state, and `destroyed` once it is gone).
public enum DomainStateWord: Equatable, Sendable {
    case running, runnable, blocked, paused, shutdown, destroyed

    public var word: StaticString {
        switch self {
        case .running: return "running"
        case .runnable: return "runnable"
        case .blocked: return "blocked"
        case .paused: return "paused"
        case .shutdown: return "shutdown"
        case .destroyed: return "destroyed"
        }
    }
}

/// One domain as one getdomaininfo saw it: what the lifecycle depends on.
public struct DomainSnapshot: Equatable, Sendable {
    public var id: UInt16
    public var name: [UInt8]
    public var flags: UInt32

    public init(id: UInt16, name: [UInt8], flags: UInt32) {
        self.id = id; self.name = name; self.flags = flags
    }

    public var isShutdown: Bool { flags & DomainInfoFlags.shutdown != 0 }
    public var isPaused: Bool { flags & DomainInfoFlags.paused != 0 }
    /// Xen's SHUTDOWN_* code; meaningful only when `isShutdown`.
    public var reason: UInt32 { (flags >> DomainInfoFlags.shutdownShift) & DomainInfoFlags.shutdownMask }

    /// The state word, in the shell's order: shutdown over paused over running over blocked.
    public var state: DomainStateWord {
        if isShutdown { return .shutdown }
        if isPaused { return .paused }
        if flags & DomainInfoFlags.running != 0 { return .running }
        if flags & DomainInfoFlags.blocked != 0 { return .blocked }
        return .runnable
    }
}

public enum LifecycleKind: Equatable, Sendable {
    case created, paused, unpaused
    /// Stopped with a reason other than crash (poweroff, reboot, suspend, watchdog, soft_reset).
    case shutdown
    /// Stopped with reason crash (the guest's own, or the hypervisor killing it).
    case crashed
    case destroyed

    public var name: StaticString {
        switch self {
        case .created: return "created"
        case .paused: return "paused"
        case .unpaused: return "unpaused"
        case .shutdown: return "shutdown"
        case .crashed: return "crashed"
        case .destroyed: return "destroyed"
        }
    }
}

public struct LifecycleEvent: Equatable, Sendable {
    public var kind: LifecycleKind
    public var id: UInt16
    public var name: [UInt8]
    /// The domain's state after the event (`destroyed` for a destroyed one).
    public var state: DomainStateWord
    /// Xen's shutdown code, for `shutdown` and `crashed`.
    public var reason: UInt32?

    public init(_ kind: LifecycleKind, id: UInt16, name: [UInt8], state: DomainStateWord, reason: UInt32? = nil) {
        self.kind = kind; self.id = id; self.name = name; self.state = state; self.reason = reason
    }

    /// The reason's name as Xen spells it (`poweroff`, `reboot`, `suspend`, `crash`, `watchdog`,
    /// `soft_reset`), or `unknown` for a code Xen does not define.
    public var reasonName: StaticString? {
        guard let reason else { return nil }
        return ShutdownReason(rawValue: reason)?.name ?? "unknown"
    }
}

public enum LifecycleDiff {
    /// The events that lead from `previous` to `current`, in ascending domain id; for one domain in
    /// the order they happened (a domain seen first already paused or stopped gets `created` then
    /// that). An id whose name changed is a domain destroyed and another created with its id.
    public static func events(from previous: [DomainSnapshot], to current: [DomainSnapshot]) -> [LifecycleEvent] {
        var out: [LifecycleEvent] = []
        let before = previous.sorted { $0.id < $1.id }
        let now = current.sorted { $0.id < $1.id }
        var i = 0, j = 0
        while i < before.count || j < now.count {
            if j == now.count || (i < before.count && before[i].id < now[j].id) {
                out.append(gone(before[i]))
                i += 1
            } else if i == before.count || now[j].id < before[i].id {
                appendNew(now[j], &out)
                j += 1
            } else {
                let (a, b) = (before[i], now[j])
                if a.name != b.name {
                    out.append(gone(a))
                    appendNew(b, &out)
                } else {
                    changes(a, b, &out)
                }
                i += 1; j += 1
            }
        }
        return out
    }

    static func gone(_ s: DomainSnapshot) -> LifecycleEvent {
        LifecycleEvent(.destroyed, id: s.id, name: s.name, state: .destroyed)
    }

    static func appendNew(_ s: DomainSnapshot, _ out: inout [LifecycleEvent]) {
        out.append(LifecycleEvent(.created, id: s.id, name: s.name, state: s.state))
        if s.isShutdown { out.append(stopped(s)) }
    }

    static func stopped(_ s: DomainSnapshot) -> LifecycleEvent {
        LifecycleEvent(s.reason == ShutdownReason.crash.rawValue ? .crashed : .shutdown, id: s.id, name: s.name,
                       state: .shutdown, reason: s.reason)
    }

    /// One domain seen twice: a pause change first (a guest paused then stopped), then the stop.
    static func changes(_ a: DomainSnapshot, _ b: DomainSnapshot, _ out: inout [LifecycleEvent]) {
        if a.isPaused != b.isPaused && !(a.isShutdown && b.isShutdown) {
            out.append(LifecycleEvent(b.isPaused ? .paused : .unpaused, id: b.id, name: b.name, state: b.state))
        }
        if !a.isShutdown && b.isShutdown { out.append(stopped(b)) }
    }
}
