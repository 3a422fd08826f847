// DevicePermissions.swift: dom0's side of domctl ioport/iomem/irq_permission, the calls a toolstack
// makes to hand a driver domain its ports, device frames and interrupt lines (or take them away).
// It only builds the payloads Xen defines; the hypervisor decides whether dom0 may pass them on.

import ApusCore
import GuestKit
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

    /// A configuration's ioports, iomem and irqs, given to domain `id` as libxl gives them to a
    /// driver domain (each interrupt line also mapped as the domain's pirq): nil when all were
    /// given, else the first failure's errno (printed).
    static func passThrough(_ config: DomainConfig, to id: UInt16) -> Int32? {
        for p in config.ioports {
            let rc = ports(id, first: UInt32(p.first), count: UInt32(p.last) - UInt32(p.first) + 1, allow: true)
            guard rc == 0 else { console.print("create: ioports \(hex: UInt32(p.first))-\(hex: UInt32(p.last)) for d\(id) refused: \(rc)"); return rc }
            console.print("create: d\(id) given ports \(hex: UInt32(p.first))-\(hex: UInt32(p.last))")
        }
        for m in config.iomem {
            let rc = frames(id, first: m.firstFrame, count: m.pages, allow: true)
            guard rc == 0 else { console.print("create: iomem \(hex: m.firstFrame),\(m.pages) for d\(id) refused: \(rc)"); return rc }
            console.print("create: d\(id) given device frames \(hex: m.firstFrame) (\(m.pages) pages)")
        }
        for l in config.irqs {
            var rc = line(id, pirq: UInt32(l), allow: true)
            if rc == 0 { rc = min(0, PhysicalInterrupts.map(line: UInt32(l), domain: id)) }
            guard rc == 0 else { console.print("create: irq \(UInt32(l)) for d\(id) refused: \(rc)"); return rc }
            console.print("create: d\(id) given interrupt line \(UInt32(l)) as its pirq \(UInt32(l))")
        }
        return nil
    }
}
