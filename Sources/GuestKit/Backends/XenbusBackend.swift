// XenbusBackend.swift: a backend's half of the xenbus handshake (Xen's xenbus states 1-6, as Linux's
// blkback and netback drive them): what the backend announces in its `state` node, and when it maps
// or unmaps the frontend's ring, for each thing that happens. Pure: it never touches the store or a
// ring itself, and a frontend's state it cannot parse counts as Unknown (gone), never as a crash.

import PVABI

/// One backend device's handshake state.
public struct XenbusBackend: Equatable, Sendable {
    /// What the backend last announced.
    public private(set) var state: XenbusState = .initialising
    /// Whether the frontend's ring is mapped and served.
    public private(set) var connected = false

    public init() {}

    public enum Event: Equatable, Sendable {
        /// The backend directory exists and the backend is ready to hear from the frontend.
        case probe
        /// The frontend's `state` node, read after it changed (nil: removed or not a state).
        case frontend(XenbusState?)
        /// The ring the frontend published was mapped and its port bound.
        case connected
        /// The frontend's ring details could not be used (missing, wrong protocol, refused map).
        case connectFailed
        /// The frontend broke the ring protocol (a garbage index): the ring is dropped.
        case fault
        /// The domain is going away: close the backend side first.
        case teardown
    }

    /// What the caller must do, in this order: unmap the ring, try to map it, write `announce`.
    public struct Steps: Equatable, Sendable {
        public var disconnect = false
        public var connect = false
        public var announce: XenbusState? = nil
        public init(disconnect: Bool = false, connect: Bool = false, announce: XenbusState? = nil) {
            self.disconnect = disconnect
            self.connect = connect
            self.announce = announce
        }
    }

    public mutating func handle(_ event: Event) -> Steps {
        var steps = Steps()
        func move(_ s: XenbusState) {
            guard state != s else { return }
            state = s
            steps.announce = s
        }
        func drop() {
            if connected { steps.disconnect = true; connected = false }
        }
        switch event {
        case .probe:
            if state == .initialising { move(.initWait) }
        case .frontend(let front):
            switch front {
            case .initialised?, .connected?:
                // The frontend published its ring: connect once, from InitWait.
                if state == .initWait && !connected { steps.connect = true }
            case .closing?:
                drop()
                if state != .closed { move(.closing) }
            case .closed?:
                drop()
                move(.closed)
            case .initialising?, .initWait?:
                // A frontend starting again after a close (Linux blkback's "prepare for reconnect").
                if state == .closed { move(.initWait) }
            case .reconfiguring?, .reconfigured?:
                break
            case .unknown?, nil:
                drop()
                move(.closed)
            }
        case .connected:
            guard state == .initWait, !connected else { break }
            connected = true
            move(.connected)
        case .connectFailed:
            drop()
            move(.closing)
        case .fault:
            drop()
            if state != .closed { move(.closing) }
        case .teardown:
            drop()
            move(.closed)
        }
        return steps
    }

    /// A `state` node's value: decimal digits naming a XenbusState (a trailing NUL allowed); nil otherwise.
    public static func parse(_ value: [UInt8]) -> XenbusState? {
        var digits = value[...]
        if digits.last == 0 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        var n: UInt32 = 0
        for b in digits {
            guard b >= 0x30, b <= 0x39 else { return nil }
            n = n * 10 + UInt32(b - 0x30)
        }
        guard n <= UInt32(UInt8.max) else { return nil }
        return XenbusState(rawValue: UInt8(n))
    }
}
