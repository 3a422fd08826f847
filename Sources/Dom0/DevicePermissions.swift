// DevicePermissions.swift: dom0's side of domctl ioport/iomem/irq_permission, the calls a toolstack
// makes to hand a driver domain its ports, device frames and interrupt lines (or take them away).
// It only builds the payloads Xen defines; the hypervisor decides whether dom0 may pass them on.

import PVABI

enum DevicePermissions {
    private static func words(_ values: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in values { for i: UInt32 in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        return bytes
    }

    static func ports(_ domain: UInt16, first: UInt32, count: UInt32, allow: Bool) -> Int32 {
        Toolstack.domctl(.ioportPermission, domain: domain, payload: words([first, count, allow ? 1 : 0])).0
    }

    static func frames(_ domain: UInt16, first: UInt64, count: UInt64, allow: Bool) -> Int32 {
        let p = words([UInt32(truncatingIfNeeded: first), UInt32(truncatingIfNeeded: first >> 32),
                       UInt32(truncatingIfNeeded: count), UInt32(truncatingIfNeeded: count >> 32), allow ? 1 : 0])
        return Toolstack.domctl(.iomemPermission, domain: domain, payload: p).0
    }

    static func line(_ domain: UInt16, pirq: UInt32, allow: Bool) -> Int32 {
        Toolstack.domctl(.irqPermission, domain: domain, payload: words([pirq, allow ? 1 : 0])).0
    }
}
