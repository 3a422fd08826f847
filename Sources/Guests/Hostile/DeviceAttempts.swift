// DeviceAttempts.swift: the hostile domU reaches for the machine's devices without dom0's permission:
// a physical IRQ (map_pirq, bind_pirq) and device memory through mmu_update with DOMID_IO, on a
// real L1 entry of its own. Each must be refused with -EPERM and leave nothing mapped or bound.

import ApusCore
import GuestKit
import PVABI

enum DeviceAttempts {
    static func run(window: UInt32) {
        var map = HypercallRecord(stride: PhysdevMapPirqLayout.size)
        map.set(SpecialDomainID.selfID, at: PhysdevMapPirqLayout.domidOffset)
        map.set(PhysdevMapPirqLayout.typeGSI, at: PhysdevMapPirqLayout.typeOffset)
        map.set(UInt32(10), at: PhysdevMapPirqLayout.indexOffset)
        map.set(PhysdevMapPirqLayout.anyPirq, at: PhysdevMapPirqLayout.pirqOffset)
        Hostile.expectError("physdev_op map_pirq of line 10 (dom0's)", map.withAddress { xen.physdevOp(.mapPirq, $0) }, 1)
        var bind = HypercallRecord(stride: EvtchnBindPirqLayout.size)
        bind.set(UInt32(10), at: EvtchnBindPirqLayout.pirqOffset)
        Hostile.expectError("bind_pirq of pirq 10 without irq_permission",
                            bind.withAddress { xen.eventChannelOp(EventChannelOp.bindPirq.rawValue, $0) }, 1)
        // The L1 entry that maps the scratch window, found through our own (read-only) tables.
        let si = StartOfDay.startInfo
        let l3 = UnsafePointer<UInt64>(bitPattern: UInt(si.ptBase))!
        let l2 = UnsafePointer<UInt64>(bitPattern: UInt(PageTableAttempts.m2p(UInt32(truncatingIfNeeded: (l3[PAE.l3Index(window)] & PageTableEntry.frameMask) >> 12)) << 12))!
        let l1 = UInt32(truncatingIfNeeded: (l2[PAE.l2Index(window)] & PageTableEntry.frameMask) >> 12)
        var batch = MMUBatch()
        batch.normal(entryAt: UInt64(l1) << 12 + UInt64(PAE.l1Index(window) * 8), 0xFEBF_8000 | 0x13)
        Hostile.expectError("mmu_update DOMID_IO of device frame 0xfebf8 (no iomem_permission)", batch.run(xen, domain: SpecialDomainID.io).rc, 1)
        var ram = MMUBatch()
        ram.normal(entryAt: UInt64(l1) << 12 + UInt64(PAE.l1Index(window) * 8), UInt64(PageTableAttempts.mfn(window >> 12)) << 12 | 0x13)
        Hostile.expectError("mmu_update DOMID_IO of its own RAM frame", ram.run(xen, domain: SpecialDomainID.io).rc, 1)
    }
}
