// OwnGrants.swift: dom0 as a granting domain: its own grant table (one frame from setup_table, mapped writable in
// a grant-window slot, as any PV guest maps its table) and the permit_access entries it writes there. Used by the
// hostile scenario to offer the hostile domain a read-only page. It never writes an entry a mapping still pins.

import ApusCore
import GuestKit
import PVABI

enum OwnGrants {
    static var entries: UnsafeMutablePointer<UInt32>? = nil

    /// Sets up dom0's table once; false (reason printed) when the hypervisor refused.
    static func prepare() -> Bool {
        if entries != nil { return true }
        var setup = HypercallRecord(stride: GrantSetupTableLayout.size)
        var list = HypercallRecord(stride: 4)
        setup.set(SpecialDomainID.selfID, at: GrantSetupTableLayout.domOffset)
        setup.set(UInt32(1), at: GrantSetupTableLayout.nrFramesOffset)
        setup.set(UInt16(bitPattern: 1), at: GrantSetupTableLayout.statusOffset)
        let rc = list.withAddress { address in
            setup.set(address, at: GrantSetupTableLayout.frameListOffset)
            return setup.withAddress { xen.grantTableOp(.setupTable, $0, count: 1) }
        }
        let status = Int16(bitPattern: setup.get(UInt16.self, at: GrantSetupTableLayout.statusOffset))
        guard rc == 0, status == GrantStatus.okay.rawValue, let slot = GrantWindow.claim() else {
            console.print("grants: setting up dom0's own table failed: rc \(rc), status \(Int32(status))")
            return false
        }
        let frame = list.get(UInt32.self, at: 0)
        let mapped = xen.updateVAMapping(slot, UInt64(frame) << 12 | 0x63, flags: UpdateVAFlags.invalidatePage)
        guard mapped == 0 else {
            console.print("grants: mapping dom0's table frame failed with \(mapped)")
            return false
        }
        entries = UnsafeMutablePointer<UInt32>(bitPattern: UInt(slot))
        return true
    }

    /// Grant `ref` (past the reserved ones) gives `domain` access to machine frame `frame`.
    static func offer(_ frame: UInt32, to domain: UInt16, ref: UInt32, readonly: Bool) -> Bool {
        guard ref >= GrantReservedRef.count, ref < GrantTableLimits.entriesPerFrame, prepare(), let e = entries else { return false }
        e[Int(ref) * 2 + 1] = frame
        dom0_compiler_barrier()                   // the frame before the flags that make the entry live
        let flags = GrantEntryFlags.permitAccess | (readonly ? GrantEntryFlags.readonly : 0)
        e[Int(ref) * 2] = UInt32(flags) | UInt32(domain) << 16
        return true
    }

    /// Ends grant `ref`; false while the grantee still maps it (GTF_reading/GTF_writing set).
    static func revoke(_ ref: UInt32) -> Bool {
        guard let e = entries, ref < GrantTableLimits.entriesPerFrame else { return false }
        let flags = UInt16(truncatingIfNeeded: e[Int(ref) * 2])
        guard flags & (GrantEntryFlags.reading | GrantEntryFlags.writing) == 0 else { return false }
        e[Int(ref) * 2] = 0
        return true
    }
}
