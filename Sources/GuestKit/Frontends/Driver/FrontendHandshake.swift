// FrontendHandshake.swift: the xenbus handshake of one frontend device, driven by XenbusFrontend (pure)
// and a watch on the backend's `state` node: it reads the backend path from the frontend directory,
// publishes the ring details when the backend waits for them, announces each state, and waits blocked
// for the watch between steps. Guest images only; it decides nothing the state machine does not.

import ApusCore
import PVABI

public struct FrontendHandshake {
    /// The frontend directory (device/vif/0) and the backend's, from its `backend` node.
    public let node: [UInt8]
    public let backend: [UInt8]
    public private(set) var machine = XenbusFrontend()
    var seen: UInt32 = 0

    static func join(_ base: [UInt8], _ leaf: StaticString) -> [UInt8] {
        var p = base
        p.append(47)
        leaf.withUTF8Buffer { p.append(contentsOf: $0) }
        return p
    }

    public init?(node: [UInt8]) {
        guard let backend = DomUStore.read(FrontendHandshake.join(node, "backend")), !backend.isEmpty else { return nil }
        self.node = node
        self.backend = backend
    }

    public func frontendNode(_ leaf: StaticString) -> [UInt8] { FrontendHandshake.join(node, leaf) }
    public func backendNode(_ leaf: StaticString) -> [UInt8] { FrontendHandshake.join(backend, leaf) }

    public var backendState: XenbusState? {
        DomUStore.read(backendNode("state")).flatMap { XenbusBackend.parse($0) }
    }

    mutating func announce(_ steps: XenbusFrontend.Steps) -> Bool {
        guard let s = steps.announce else { return true }
        return DomUStore.write(frontendNode("state"), StorePayload.decimal(UInt32(s.rawValue)))
    }

    /// Runs the handshake to Connected within `ns`: `publish` writes the ring details when the
    /// backend is ready for them. False when the backend closed, a write failed, or time ran out.
    public mutating func connect(within ns: UInt64, publish: () -> Bool) -> Bool {
        let deadline = GuestTime.now() &+ ns
        guard DomUStore.watch(backendNode("state"), token: node) else { return false }
        defer { _ = DomUStore.unwatch(backendNode("state"), token: node) }
        while GuestTime.now() < deadline {
            let steps = machine.handle(.backend(backendState))
            guard announce(steps) else { return false }
            if steps.publish {
                let done = machine.handle(publish() ? .published : .publishFailed)
                guard announce(done) else { return false }
            }
            if machine.connected { return true }
            if machine.state == .closed || machine.state == .closing { return false }
            seen = DomUStore.waitForWatch(node, past: seen, until: deadline)
        }
        return false
    }

    /// Closes the device as Linux's frontends do: Closing, then Closed once the backend is, within `ns`.
    public mutating func close(within ns: UInt64) -> Bool {
        let deadline = GuestTime.now() &+ ns
        guard DomUStore.watch(backendNode("state"), token: node) else { return false }
        defer { _ = DomUStore.unwatch(backendNode("state"), token: node) }
        guard announce(machine.handle(.close)) else { return false }
        while GuestTime.now() < deadline {
            guard announce(machine.handle(.backend(backendState))) else { return false }
            if machine.state == .closed { return true }
            seen = DomUStore.waitForWatch(node, past: seen, until: deadline)
        }
        return false
    }
}
