// GrantAttempts.swift: the hostile domain's misuse of grant tables, each element answered with a GNTST status it
// prints: a grant meant for dom0, its own grant, a handle it never got, a copy past a page, another domain's table,
// a list in the hypervisor area. Raw grant_table_op records, so nothing in GuestKit can soften what is sent.

import ApusCore
import GuestKit
import PVABI

enum GrantAttempts {
    static func op(_ cmd: GrantTableOp, _ record: inout HypercallRecord, count: UInt32 = 1) -> Int32 {
        record.withAddress { xen.raw(Hypercall.grantTableOp.rawValue, cmd.rawValue, $0, count) }
    }

    /// An element that must come back with `status` (the call itself succeeding).
    static func expectStatus(_ what: StaticString, _ rc: Int32, _ got: Int16, _ status: GrantStatus) {
        Hostile.total += 1
        let ok = rc == 0 && got == status.rawValue
        if ok { Hostile.refused += 1 }
        Hostile.console.print("hostile: \(what): \(ok ? "refused" : "NOT refused") (returned \(rc), status \(Int32(got)))")
    }

    static func map(domain: UInt16, ref: UInt32, at va: UInt32, readonly: Bool = false) -> (Int32, Int16) {
        var m = HypercallRecord(stride: GrantMapLayout.size)
        m.set(UInt64(va), at: GrantMapLayout.hostAddrOffset)
        m.set(GrantMapFlags.hostMap | (readonly ? GrantMapFlags.readonly : 0), at: GrantMapLayout.flagsOffset)
        m.set(ref, at: GrantMapLayout.refOffset)
        m.set(domain, at: GrantMapLayout.domOffset)
        let rc = op(.mapGrantRef, &m)
        return (rc, m.get(Int16.self, at: GrantMapLayout.statusOffset))
    }

    static func run(peer: UInt16, window: UInt32) {
        // Its own table, one frame (a domain's own grants are mapped with mmu_update, never through the table).
        var setup = HypercallRecord(stride: GrantSetupTableLayout.size)
        var frameList = HypercallRecord(stride: 4)
        setup.set(SpecialDomainID.selfID, at: GrantSetupTableLayout.domOffset)
        setup.set(UInt32(1), at: GrantSetupTableLayout.nrFramesOffset)
        frameList.withAddress { list in
            setup.set(list, at: GrantSetupTableLayout.frameListOffset)
            _ = op(.setupTable, &setup)
        }
        let ownPage = StartOfDay.startInfo.machineFrame(ofPFN: window >> 12)

        var (rc, status) = map(domain: peer, ref: GrantReservedRef.xenstore, at: window)
        expectStatus("map the xenstore grant another domain made for dom0", rc, status, .generalError)
        (rc, status) = map(domain: peer, ref: 100_000, at: window)
        expectStatus("map a grant reference past the end of another domain's table", rc, status, .badGntref)
        (rc, status) = map(domain: SpecialDomainID.selfID, ref: 8, at: window)
        expectStatus("map a grant of its own", rc, status, .permissionDenied)

        var unmap = HypercallRecord(stride: GrantUnmapLayout.size)
        unmap.set(UInt64(window), at: GrantUnmapLayout.hostAddrOffset)
        unmap.set(UInt32(0), at: GrantUnmapLayout.handleOffset)
        rc = op(.unmapGrantRef, &unmap)
        expectStatus("unmap a grant handle it never got (dom0's handle 0)", rc, unmap.get(Int16.self, at: GrantUnmapLayout.statusOffset), .badHandle)

        var copy = HypercallRecord(stride: GrantCopyLayout.size)
        copy.set(ownPage, at: GrantCopyLayout.sourceRefOffset)
        copy.set(SpecialDomainID.selfID, at: GrantCopyLayout.sourceDomidOffset)
        copy.set(UInt16(4000), at: GrantCopyLayout.sourceOffsetOffset)
        copy.set(ownPage, at: GrantCopyLayout.destRefOffset)
        copy.set(SpecialDomainID.selfID, at: GrantCopyLayout.destDomidOffset)
        copy.set(UInt16(200), at: GrantCopyLayout.lenOffset)
        rc = op(.copy, &copy)
        expectStatus("copy 200 bytes from offset 4000 (past its page)", rc, copy.get(Int16.self, at: GrantCopyLayout.statusOffset), .badCopyArg)

        copy.set(GrantReservedRef.console, at: GrantCopyLayout.sourceRefOffset)
        copy.set(peer, at: GrantCopyLayout.sourceDomidOffset)
        copy.set(UInt16(0), at: GrantCopyLayout.sourceOffsetOffset)
        copy.set(GrantCopyFlags.sourceGref, at: GrantCopyLayout.flagsOffset)
        rc = op(.copy, &copy)
        expectStatus("copy out of another domain's console page (granted to dom0)", rc, copy.get(Int16.self, at: GrantCopyLayout.statusOffset), .generalError)

        var foreignSetup = HypercallRecord(stride: GrantSetupTableLayout.size)
        foreignSetup.set(peer, at: GrantSetupTableLayout.domOffset)
        foreignSetup.set(UInt32(0), at: GrantSetupTableLayout.nrFramesOffset)
        rc = op(.setupTable, &foreignSetup)
        expectStatus("setup_table of another domain", rc, foreignSetup.get(Int16.self, at: GrantSetupTableLayout.statusOffset), .permissionDenied)

        // The read-only page dom0 offered through its own table (`rogrant=REF` on the command line).
        if let ref = StartOfDay.number("rogrant") { readonlyGrant(ref: ref, window: window, ownPage: ownPage) }

        Hostile.expectError("grant_table_op with its list in the hypervisor area",
                            xen.raw(Hypercall.grantTableOp.rawValue, GrantTableOp.mapGrantRef.rawValue, 0xFFFF_FFE0, 1), 14)
    }

    /// dom0's read-only grant (`rogrant=REF`): mapped read-only it reads; written through, it faults; asked for
    /// writable, it is refused; its handle unmaps once only.
    static func readonlyGrant(ref: UInt32, window: UInt32, ownPage: UInt32) {
        _ = xen.updateVAMapping(window, 0, flags: UpdateVAFlags.invalidatePage)
        var m = HypercallRecord(stride: GrantMapLayout.size)
        m.set(UInt64(window), at: GrantMapLayout.hostAddrOffset)
        m.set(GrantMapFlags.hostMap | GrantMapFlags.readonly, at: GrantMapLayout.flagsOffset)
        m.set(ref, at: GrantMapLayout.refOffset)
        m.set(UInt16(0), at: GrantMapLayout.domOffset)
        let rc = op(.mapGrantRef, &m)
        let status = m.get(Int16.self, at: GrantMapLayout.statusOffset)
        let handle = m.get(UInt32.self, at: GrantMapLayout.handleOffset)
        if rc == 0 && status == 0 {
            let text = UnsafeBufferPointer(start: UnsafePointer<UInt8>(bitPattern: UInt(window)), count: 21)
            Hostile.console.print("hostile: map dom0's read-only grant read-only: allowed, it reads '\(text: text)'")
            Hostile.expectFault("write through dom0's read-only grant") { guest_probe_write(window, 0x4141_4141) }
        } else {
            Hostile.console.print("hostile: map dom0's read-only grant read-only: FAILED (returned \(rc), status \(Int32(status)))")
        }
        var (rc2, status2) = map(domain: 0, ref: ref, at: window)
        expectStatus("map dom0's read-only grant writable", rc2, status2, .generalError)
        var unmap = HypercallRecord(stride: GrantUnmapLayout.size)
        unmap.set(UInt64(window), at: GrantUnmapLayout.hostAddrOffset)
        unmap.set(handle, at: GrantUnmapLayout.handleOffset)
        rc2 = op(.unmapGrantRef, &unmap)
        status2 = unmap.get(Int16.self, at: GrantUnmapLayout.statusOffset)
        Hostile.console.print("hostile: unmap it: \(rc2 == 0 && status2 == 0 ? "done" : "FAILED") (returned \(rc2), status \(Int32(status2)))")
        rc2 = op(.unmapGrantRef, &unmap)
        expectStatus("unmap the same grant handle again", rc2, unmap.get(Int16.self, at: GrantUnmapLayout.statusOffset), .badHandle)
        _ = xen.updateVAMapping(window, UInt64(ownPage) << 12 | 0x63, flags: UpdateVAFlags.invalidatePage)
    }
}

