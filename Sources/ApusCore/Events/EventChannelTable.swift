// One domain's event-channel ports, with the reverse maps from VIRQ and PIRQ to port. Port records are allocated in
// buckets of 16 as binds reach them (as Xen allocates its buckets lazily): a domU with 3 ports in use holds 16 records,
// not 128, and a FIFO domain allowed 4096 ports that binds 1100 holds 1104. Bookkeeping only: it must never decide whether an operation is allowed (EventChannelSystem does), and it
// grows only when a port is taken (bind or allocation), never on a send.

import PVABI

/// The ports 0 ..< portLimit of one domain. Port 0 is reserved, as in Xen, so that 0 can mean
/// "no port" in the reverse maps and in guests' own tables.
public struct EventChannelTable: Equatable, Sendable {
    /// One past the highest usable port: the domain's own limit on the ABI it uses (at most 1024, the 2-level
    /// ABI's limit on x86_32; at most EvtchnFifo.maxPorts on the FIFO ABI), as Xen's max_evtchns and max_evtchn_port.
    public private(set) var portLimit: UInt32
    /// One past the highest port the domain was given (Xen's max_evtchn_port + 1), 2 ... EvtchnFifo.maxPorts.
    public let configuredLimit: UInt32
    /// The ABI the domain's ports use; its limit is part of portLimit.
    public private(set) var abi: EventABI
    /// VCPUs of the domain: valid `vcpu` arguments are below this.
    public private(set) var vcpuCount: UInt32
    /// Physical IRQs the domain may bind: valid `pirq` arguments are below this.
    public let pirqCount: UInt32
    /// Whether the domain may act on other domains' ports (dom0).
    public let privileged: Bool

    /// Records of ports 0 ..< channels.count (a multiple of the bucket, at most portLimit); ports above read free.
    @usableFromInline var channels: [EventChannel]
    /// The ports Apus gives dom0 (its max_evtchn_port + 1): the 2-level ABI's 1024, and four event-array pages'
    /// worth on the FIFO ABI (Xen leaves dom0 unlimited; a bound keeps its records and windows small).
    public static let privilegedPorts: UInt32 = 4096
    /// The ports Apus gives a domU, on either ABI.
    public static let unprivilegedPorts: UInt32 = 128
    /// Port records allocated at a time.
    static let bucket = 16
    /// virqPorts[vcpu * Virq.count + virq]: the port bound to that VIRQ on that VCPU, or 0.
    /// Global VIRQs are recorded under VCPU 0 even after bind_vcpu moves their delivery.
    var virqPorts: [UInt32]
    /// pirqPorts[pirq]: the port bound to that physical IRQ, or 0.
    var pirqPorts: [UInt32]

    /// A table with every port free, on the 2-level ABI. `portLimit` (the domain's own limit) is clamped to
    /// 2 ... EvtchnFifo.maxPorts, and on the 2-level ABI to 1024; `vcpus` to at least 1.
    public init(portLimit: UInt32, vcpus: UInt32, pirqs: UInt32 = 0, privileged: Bool) {
        configuredLimit = min(max(portLimit, 2), EvtchnFifo.maxPorts)
        abi = .twoLevel
        let limit = Self.limit(configuredLimit, abi: .twoLevel)
        self.portLimit = limit
        vcpuCount = max(vcpus, 1)
        pirqCount = pirqs
        self.privileged = privileged
        channels = Array(repeating: .free, count: min(Int(limit), Self.bucket))
        virqPorts = Array(repeating: 0, count: Int(vcpuCount) * Int(Virq.count))
        pirqPorts = Array(repeating: 0, count: Int(pirqs))
    }

    /// The port limit of a domain given `configured` ports on `abi`: Xen's min(max_evtchn_port + 1, max_evtchns).
    public static func limit(_ configured: UInt32, abi: EventABI) -> UInt32 {
        switch abi {
        case .twoLevel: return min(configured, UInt32(SharedInfoLimits.twoLevelEventChannels))
        case .fifo: return min(configured, EvtchnFifo.maxPorts)
        }
    }

    /// The domain's ports use `abi` from now on. Only EventChannelSystem.setABI calls it, after closing every
    /// port the new limit leaves out: the records beyond it go (they are all free).
    mutating func switchABI(to abi: EventABI) {
        self.abi = abi
        portLimit = Self.limit(configuredLimit, abi: abi)
        if channels.count > Int(portLimit) {
            channels.removeLast(channels.count - Int(portLimit))
        }
    }

    /// The domain got more vCPUs (domctl max_vcpus): their VIRQ slots, all unbound. Never fewer.
    mutating func growVCPUs(to count: UInt32) {
        guard count > vcpuCount else { return }
        virqPorts.append(contentsOf: repeatElement(0, count: Int(count - vcpuCount) * Int(Virq.count)))
        vcpuCount = count
    }

    /// The port's record; nil beyond the limit. Port 0 reads free.
    public func channel(_ port: UInt32) -> EventChannel? {
        guard port < portLimit else { return nil }
        return Int(port) < channels.count ? channels[Int(port)] : .free
    }

    /// The state of `port`; nil beyond the limit.
    public func state(_ port: UInt32) -> EventChannelState? {
        channel(port)?.state
    }

    /// Whether `port` names a port an operation may act on: inside the table and not the reserved port 0.
    func isUsable(_ port: UInt32) -> Bool {
        port != 0 && port < portLimit
    }

    /// The lowest free port, nil when every port is taken. O(portLimit): binding, not sending.
    func lowestFreePort() -> UInt32? {
        var port = 1
        while port < channels.count {
            if channels[port].state == .free { return UInt32(port) }
            port += 1
        }
        return channels.count < Int(portLimit) ? UInt32(channels.count) : nil
    }

    /// Makes room for `port`'s record (below portLimit): the buckets up to it, all free.
    mutating func reserve(_ port: UInt32) {
        guard Int(port) >= channels.count else { return }
        let wanted = min((Int(port) / Self.bucket + 1) * Self.bucket, Int(portLimit))
        channels.append(contentsOf: repeatElement(.free, count: wanted - channels.count))
    }

    /// The port bound to `virq` on `vcpu`, 0 when none (or out of range).
    public func virqPort(_ virq: UInt32, vcpu: UInt32) -> UInt32 {
        guard virq < Virq.count, vcpu < vcpuCount else { return 0 }
        return virqPorts[virqIndex(virq, vcpu: vcpu)]
    }

    func virqIndex(_ virq: UInt32, vcpu: UInt32) -> Int {
        Int(vcpu) * Int(Virq.count) + Int(virq)
    }

    /// The port bound to physical IRQ `pirq`, 0 when none.
    public func pirqPort(_ pirq: UInt32) -> UInt32 {
        pirq < pirqCount ? pirqPorts[Int(pirq)] : 0
    }

    /// Ports not free. O(portLimit): for accounting and tests.
    public var portsInUse: Int {
        var count = 0
        for channel in channels where channel.state != .free { count += 1 }
        return count
    }
}
