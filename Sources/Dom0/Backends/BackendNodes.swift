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
