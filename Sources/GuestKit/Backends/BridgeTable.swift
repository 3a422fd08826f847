// BridgeTable.swift: dom0's software bridge's forwarding decision, as a learning Ethernet switch
// makes it: source addresses are learnt per port, a frame for a known address goes to that port
// alone, broadcast, multicast and unknown destinations flood every other port, and a frame never
// goes back out of the port it came in on. Pure; a port may teach it only so many addresses, so a
// domain forging source addresses cannot push the others' out.

/// A 48-bit MAC address in the low bits, first byte most significant.
public typealias MACAddress = UInt64

public struct BridgeTable: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var mac: MACAddress
        public var port: Int
        public var lastSeen: UInt64
    }
    public private(set) var entries: [Entry] = []
    public let perPortLimit: Int
    public let capacity: Int

    public init(perPortLimit: Int = 16, capacity: Int = 256) {
        self.perPortLimit = perPortLimit
        self.capacity = capacity
    }

    public enum Route: Equatable, Sendable {
        /// To every port but the one it came in on.
        case flood
        case port(Int)
        /// Its destination sits on the port it came from.
        case drop
    }

    /// The MAC at `bytes[offset..<offset+6]`.
    public static func mac(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> MACAddress {
        var m: MACAddress = 0
        for i in 0..<6 { m = m << 8 | MACAddress(bytes[offset + i]) }
        return m
    }

    public static func isGroup(_ mac: MACAddress) -> Bool { (mac >> 40) & 1 == 1 }

    /// Learns that `source` is reachable through `port` (a group address is never learnt).
    public mutating func learn(_ source: MACAddress, port: Int, now: UInt64) {
        guard !Self.isGroup(source), source != 0 else { return }
        if let i = entries.firstIndex(where: { $0.mac == source }) {
            entries[i].port = port
            entries[i].lastSeen = now
            return
        }
        // The port's oldest address makes room, then the table's oldest.
        let mine = entries.indices.filter { entries[$0].port == port }
        if mine.count >= perPortLimit, let oldest = mine.min(by: { entries[$0].lastSeen < entries[$1].lastSeen }) {
            entries.remove(at: oldest)
        } else if entries.count >= capacity, let oldest = entries.indices.min(by: { entries[$0].lastSeen < entries[$1].lastSeen }) {
            entries.remove(at: oldest)
        }
        entries.append(Entry(mac: source, port: port, lastSeen: now))
    }

    public func route(_ destination: MACAddress, from port: Int) -> Route {
        guard !Self.isGroup(destination), let e = entries.first(where: { $0.mac == destination }) else { return .flood }
        return e.port == port ? .drop : .port(e.port)
    }

    /// Forgets every address learnt on `port` (it went away).
    public mutating func forget(port: Int) { entries.removeAll { $0.port == port } }
}
