// DeviceAccess.swift: the machine resources a domain may reach (I/O ports, device-memory frames,
// interrupt lines) and the rule for passing them on with domctl ioport/iomem/irq_permission: a
// domain gives or takes away only what it holds itself (Xen's *_access_permitted check on the
// caller). Pure: it records permissions; the hypervisor's own ports, frames and lines are refused
// by PortAccessRule, DeviceMemoryRule and the line table whatever a domain holds.

import PVABI

/// An interrupt line range (the 8259 pair has lines 0-15).
public typealias LineRanges = ResourceRanges<UInt8>

public struct DeviceAccess: Sendable {
    public var ports = PortRanges()
    public var frames = FrameNumberRanges()
    public var lines = LineRanges()

    public init() {}

    /// Interrupt lines of the two 8259s, and the ones the hypervisor keeps: the timer (0), the
    /// cascade (2) and COM1 (4).
    public static let lineCount: UInt8 = 16
    public static let hypervisorLines: [UInt8] = [0, 2, 4]

    /// What dom0 starts with, as Xen's dom0_setup_permissions: every port and frame (the rules
    /// still refuse the hypervisor's and RAM), every line but the hypervisor's.
    public static var dom0: DeviceAccess {
        var a = DeviceAccess()
        _ = a.ports.add(PortRange(first: 0, last: 0xFFFF)!)
        _ = a.frames.add(FrameNumberRange(first: 0, last: 0xFFFF_FFFF)!)
        for line in 0..<lineCount where !hypervisorLines.contains(line) { _ = a.lines.add(ResourceRange(first: line, last: line)!) }
        return a
    }

    /// Gives (`allow`) or takes away `r` in `target`, which `caller` must hold whole. nil when done.
    public static func pass<T>(_ r: ResourceRange<T>, allow: Bool, caller: ResourceRanges<T>,
                               target: inout ResourceRanges<T>) -> Refusal? {
        guard caller.covers(r) else { return Refusal(.EPERM, "the caller does not hold what it would pass on") }
        guard allow ? target.add(r) : target.remove(r) else {
            return Refusal(.ENOMEM, "the domain holds as many separate ranges as it may")
        }
        return nil
    }

    /// irq_permission names a pirq of the caller; dom0's pirqs are its line numbers.
    public static func line(ofPirq pirq: UInt32) -> UInt8? {
        pirq < UInt32(lineCount) ? UInt8(pirq) : nil
    }
}
