// PirqMapping.swift: which physical IRQs a domain has mapped (physdev_op map_pirq / unmap_pirq) and
// what a domain must have before it binds one to an event channel (EVTCHNOP_bind_pirq), after Xen's
// physdev_map_pirq and evtchn_bind_pirq. A domain's pirq for a legacy line is the line's number, as
// Xen numbers a PV dom0's GSIs. Pure: it never touches the interrupt controller or a port.

import PVABI

public struct PirqMapping: Equatable, Sendable {
    /// Bit n: pirq n (line n) is mapped.
    public private(set) var mapped: UInt16 = 0

    public init() {}

    public func isMapped(_ pirq: UInt32) -> Bool {
        pirq < UInt32(DeviceAccess.lineCount) && mapped & (1 << UInt16(pirq)) != 0
    }

    /// map_pirq's checks, by a caller holding `callerLines`: a GSI (`index`, a legacy line) asked for
    /// as pirq `pirq` (anyPirq: the line's number). MSI is not offered: a device's INTx line is.
    /// Returns the pirq the target gets.
    public static func check(type: UInt32, index: UInt32, pirq: UInt32, callerLines: LineRanges) -> Result<UInt32, Refusal> {
        guard type == PhysdevMapPirqLayout.typeGSI else {
            return .failure(Refusal(.EINVAL, type == PhysdevMapPirqLayout.typeMSI || type == PhysdevMapPirqLayout.typeMSISegment
                                     || type == PhysdevMapPirqLayout.typeMultiMSI
                                     ? "map_pirq: MSI is not offered; map the device's INTx line (a GSI)"
                                     : "map_pirq: unknown mapping type"))
        }
        guard index < UInt32(DeviceAccess.lineCount) else {
            return .failure(Refusal(.EINVAL, "map_pirq: no such GSI (the two 8259s have lines 0-15)"))
        }
        guard pirq == PhysdevMapPirqLayout.anyPirq || pirq == index else {
            return .failure(Refusal(.EINVAL, "map_pirq: a legacy line's pirq is the line's number (or -1)"))
        }
        guard callerLines.contains(UInt8(index)) else {
            return .failure(Refusal(.EPERM, "map_pirq: the caller does not hold the interrupt line"))
        }
        return .success(index)
    }

    /// Records `pirq` (checked by `check`) as mapped. Mapping it again changes nothing, as on Xen.
    public mutating func map(_ pirq: UInt32) {
        guard pirq < UInt32(DeviceAccess.lineCount) else { return }
        mapped |= 1 << UInt16(pirq)
    }

    /// unmap_pirq: nil when it was mapped (and now is not).
    public mutating func unmap(_ pirq: UInt32) -> Refusal? {
        guard isMapped(pirq) else { return Refusal(.EINVAL, "unmap_pirq: the pirq is not mapped") }
        mapped &= ~(1 << UInt16(pirq))
        return nil
    }

    /// EVTCHNOP_bind_pirq's checks for a domain holding `lines`: the pirq is in range, the domain
    /// may use its line (dom0, or irq_permission), and it is mapped.
    public func bindRefusal(pirq: UInt32, lines: LineRanges) -> Refusal? {
        guard pirq < UInt32(DeviceAccess.lineCount) else { return Refusal(.EINVAL, "bind_pirq: no such pirq") }
        guard lines.contains(UInt8(pirq)) else {
            return Refusal(.EPERM, "bind_pirq: the domain was not given the interrupt line (irq_permission)")
        }
        guard isMapped(pirq) else { return Refusal(.EINVAL, "bind_pirq: the pirq is not mapped (physdev_op map_pirq first)") }
        return nil
    }
}
