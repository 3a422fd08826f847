// BackendNodes.swift: one split device's two xenstore directories as its backend uses them: the
// frontend's (read: its state and the ring details it publishes) and the backend's own (written:
// features, state). Dom0 reads and writes the store directly; it never goes through DomainIO.write,
// whose service would run the backends again from inside one.

import ApusCore
import GuestKit
import PVABI

struct BackendNodes {
    /// /local/domain/N/device/KIND/DEV and /local/domain/0/backend/KIND/N/DEV.
    let front: [UInt8]
    let back: [UInt8]

    init(kind: StaticString, domain: UInt16, device: UInt32) {
        var k: [UInt8] = []
        kind.withUTF8Buffer { k = Array($0) }
        let dev = StorePayload.decimal(device)
        front = StorePath.domainPath(domain) + Array("/device/".utf8) + k + [47] + dev
        back = StorePath.domainPath(0) + Array("/backend/".utf8) + k + [47] + StorePayload.decimal(UInt32(domain)) + [47] + dev
    }

    static func path(_ base: [UInt8], _ node: StaticString) -> [UInt8] {
        var p = base
        p.append(47)
        node.withUTF8Buffer { p.append(contentsOf: $0) }
        return p
    }

    func write(_ node: StaticString, _ value: [UInt8]) {
        if case .failure(let e) = DomainIO.store.localWrite(Self.path(back, node), value) {
            _ = e.name.withUnsafeBufferPointer { console.print("backend: writing a backend node failed: \(text: $0)") }
        }
    }

    func readFront(_ node: StaticString) -> [UInt8]? {
        if case .success(let v) = DomainIO.store.localRead(Self.path(front, node)) { return v }
        return nil
    }

    /// A decimal node of the frontend's (a trailing NUL allowed).
    func frontNumber(_ node: StaticString) -> UInt32? {
        guard var v = readFront(node) else { return nil }
        if v.last == 0 { v.removeLast() }
        return StorePayload.decimal(v)
    }

    /// Writes the backend's new state and says so: "PREFIX backend state S (frontend F)".
    func announce(_ s: XenbusState, prefix: LogLine, frontState: [UInt8]?) {
        write("state", StorePayload.decimal(UInt32(s.rawValue)))
        var line = prefix
        line.append("backend state ")
        line.append(decimal: UInt64(s.rawValue))
        line.append(" (frontend ")
        if let f = frontState { for c in f.prefix(3) { line.append(byte: c >= 0x30 && c <= 0x39 ? c : 0x3F) } } else { line.append("absent") }
        line.append(")")
        console.print(line)
    }

    /// The frontend's state node, if it changed from `last` (which is updated).
    func frontStateChange(_ last: inout [UInt8]?) -> XenbusState?? {
        let now: [UInt8]?
        switch DomainIO.store.localRead(Self.path(front, "state")) {
        case .success(let v): now = v
        case .failure: now = nil
        }
        guard now != last else { return nil }
        last = now
        return .some(now.flatMap { XenbusBackend.parse($0) })
    }
}

/// What blkback and netback share: the handshake's steps carried out in the same order (unmap, map,
/// announce), with the device's own connect and disconnect.
protocol SplitBackend: AnyObject {
    var handshake: XenbusBackend { get set }
    var frontState: [UInt8]? { get set }
    var nodes: BackendNodes { get }
    /// "blkback: dN vbd DEV " or "netback: dN vif N ".
    func prefix() -> LogLine
    /// Maps what the frontend published; false with the reason said.
    func connect() -> Bool
    func disconnect()
}

extension SplitBackend {
    /// Reads the frontend's state and acts when it changed; true when it wrote to the store.
    func frontendChanged() -> Bool {
        guard let state = nodes.frontStateChange(&frontState) else { return false }
        return apply(handshake.handle(.frontend(state)))
    }

    /// Does what the handshake asked; true when it wrote to the store.
    @discardableResult
    func apply(_ steps: XenbusBackend.Steps) -> Bool {
        var wrote = false
        if steps.disconnect { disconnect() }
        if steps.connect {
            let ok = connect()
            wrote = apply(handshake.handle(ok ? .connected : .connectFailed)) || ok
        }
        if let s = steps.announce {
            nodes.announce(s, prefix: prefix(), frontState: frontState)
            wrote = true
        }
        return wrote
    }

    /// The domain is going: close the backend side first.
    func teardown() { apply(handshake.handle(.teardown)) }

    /// "PREFIX cannot connect: WHY"; false.
    func cannotConnect(_ why: StaticString) -> Bool {
        var line = prefix()
        line.append("cannot connect: ")
        line.append(why)
        console.print(line)
        return false
    }
}
