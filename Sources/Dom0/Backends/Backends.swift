// Backends.swift: dom0's split-driver backends, one per domU device dom0 serves: probed when a domain
// is connected, told when a frontend wrote to the store, given their rings to serve from dom0's main
// loop (a vif's also joins dom0's bridge), and torn down (backend side closed first, every grant unmapped) before a domain is destroyed.
// It must never run a backend re-entrantly, nor let one backend's work starve the others.

import ApusCore
import GuestKit
import PVABI

enum Backends {
    static var blocks: [BlockBackend] = []
    static var vifs: [NetBackend] = []
    /// A domain wrote to the store since the frontends' states were last read.
    static var storeActivity = false
    static var running = false

    /// Probes a backend for every disk of `config` dom0 can serve.
    static func attach(_ id: UInt16, _ config: DomainConfig) {
        for disk in config.disks {
            if let b = BlockBackend.probe(id, disk) { blocks.append(b) }
        }
        for (i, vif) in config.vifs.enumerated() {
            var mac: MACAddress = 0
            for b in vif.address(domain: id, index: i) { mac = mac << 8 | MACAddress(b) }
            if let v = NetBackend.probe(id, index: UInt32(i), mac: mac, bridgePort: Bridge.newPort()) { vifs.append(v) }
        }
    }

    /// Reads the frontends' states when the store moved, then serves every ring once; true when a
    /// backend wrote to the store (its watch events wait to be pushed out).
    static func run() -> Bool {
        guard !running else { return false }
        running = true
        defer { running = false }
        var wrote = false
        if storeActivity {
            storeActivity = false
            for b in blocks { wrote = b.frontendChanged() || wrote }
            for v in vifs { wrote = v.frontendChanged() || wrote }
        }
        var more = false
        for b in blocks where b.ring != nil { more = b.service() || more }
        for v in vifs where v.txRing != nil { more = v.service() || more }
        // A ring with requests left over: dom0's main loop comes back to it after its other work.
        if more { DomainIO.signals &+= 1 }
        return wrote
    }

    /// Closes and forgets `id`'s backends (before its store tree and the domain go).
    static func detach(_ id: UInt16) {
        for b in blocks where b.domain == id { b.teardown() }
        blocks.removeAll { $0.domain == id }
        for v in vifs where v.domain == id {
            v.teardown()
            Bridge.remove(port: v.bridgePort)
        }
        vifs.removeAll { $0.domain == id }
    }

    /// Backends of `id` (the `domains` listing and tests).
    static func count(of id: UInt16) -> Int { blocks.filter { $0.domain == id }.count + vifs.filter { $0.domain == id }.count }
}
