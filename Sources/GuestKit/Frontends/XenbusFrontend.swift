// XenbusFrontend.swift: a frontend's half of the xenbus handshake (Xen's xenbus states 1-6, as Linux's
// blkfront and netfront drive them): when to publish the ring details, what to announce in the
// frontend's `state` node, and when the device is usable, for each backend state read. Pure: it never
// touches the store or a ring, and a backend state it cannot parse counts as gone, never a crash.

import PVABI

public struct XenbusFrontend: Equatable, Sendable {
    /// What the frontend last announced.
    public private(set) var state: XenbusState = .initialising
    /// Whether the ring may be used: the backend said Connected after the frontend published it.
    public private(set) var connected = false

    public init() {}

    public enum Event: Equatable, Sendable {
        /// The backend's `state` node, read after a watch fired (nil: removed or not a state).
        case backend(XenbusState?)
        /// The ring details (ring-ref, event-channel, ...) were written.
        case published
        /// They could not be (no grant, no port, a store error).
        case publishFailed
        /// The frontend's own wish to close (its kernel shuts down).
        case close
    }

    /// What the caller must do, in this order: stop using the ring, publish the ring details, write `announce`.
    public struct Steps: Equatable, Sendable {
        public var disconnect = false
        public var publish = false
        public var announce: XenbusState? = nil
        public init(disconnect: Bool = false, publish: Bool = false, announce: XenbusState? = nil) {
            self.disconnect = disconnect
            self.publish = publish
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
        case .backend(let back):
            switch back {
            case .initWait?:
                // The backend is ready for the ring: publish it once, from Initialising.
                if state == .initialising { steps.publish = true }
            case .connected?:
                if state == .initialised { connected = true; move(.connected) }
            case .closing?:
                // The backend is going away (or answers our Closing): stop, say Closing, then Closed.
                drop()
                if state == .closing { move(.closed) }
                else if state != .closed && state != .initialising { move(.closing) }
            case .closed?:
                drop()
                if state != .initialising && state != .closed { move(.closed) }
            case .initialising?, .initialised?, .reconfiguring?, .reconfigured?:
                break
            case .unknown?, nil:
                drop()
                if state != .initialising && state != .closed { move(.closed) }
            }
        case .published:
            if state == .initialising { move(.initialised) }
        case .publishFailed:
            if state == .initialising { move(.closed) }
        case .close:
            drop()
            if state != .closed { move(.closing) }
        }
        return steps
    }
}
