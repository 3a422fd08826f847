// GrantWindow.swift: dom0's mappings of pages other domains granted it: a window of bss pages
// (Asm/grantwindow.asm) whose own frames are unmapped once, a slot allocator over them, and
// grant_table_op map_grant_ref / unmap_grant_ref with GNTMAP_host_map. It maps only what a domain
// granted; every per-element status is checked, and a slot is reused only after a clean unmap.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "dom0_grant_window_base") func dom0_grant_window_base() -> UInt32
@_extern(c, "dom0_grant_window_pages") func dom0_grant_window_pages() -> UInt32
@_extern(c, "dom0_compiler_barrier") func dom0_compiler_barrier()

/// A foreign page mapped in the window: where, and what unmap must present.
struct GrantMapping {
    var slot: Int
    var address: UInt32
    var handle: UInt32
    var domain: UInt16

    var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(address)), count: 4096)
    }
}

enum GrantWindow {
    /// nil until prepared; true where a slot holds a mapping.
    static var used: [Bool]? = nil

    /// Unmaps every page of the window once (their frames stay dom0's, unused). Idempotent.
    static func prepare() -> Bool {
        if used != nil { return true }
        let base = dom0_grant_window_base()
        let pages = Int(dom0_grant_window_pages())
        for i in 0..<pages {
            let rc = xen.updateVAMapping(base + UInt32(i) * 4096, 0, flags: UpdateVAFlags.invalidatePage)
            if rc != 0 {
                console.print("grant window: unmapping page \(i) failed with \(rc)")
                return false
            }
        }
        used = [Bool](repeating: false, count: pages)
        return true
    }

    /// Maps `domain`'s grant `ref` writable at a free slot; nil (reason printed) when the window is
    /// full or the hypervisor refused.
    static func map(domain: UInt16, ref: UInt32) -> GrantMapping? {
        guard prepare(), let slot = used?.firstIndex(of: false) else {
            console.print("grant window: no free slot to map d\(domain)'s grant \(ref)")
            return nil
        }
        let address = dom0_grant_window_base() + UInt32(slot) * 4096
        var op = HypercallRecord(stride: GrantMapLayout.size)
        op.set(UInt64(address), at: GrantMapLayout.hostAddrOffset)
        op.set(GrantMapFlags.hostMap, at: GrantMapLayout.flagsOffset)
        op.set(ref, at: GrantMapLayout.refOffset)
        op.set(domain, at: GrantMapLayout.domOffset)
        op.set(UInt16(bitPattern: 1), at: GrantMapLayout.statusOffset)   // not okay until the hypervisor says so
        let rc = op.withAddress { xen.grantTableOp(.mapGrantRef, $0, count: 1) }
        let status = Int16(bitPattern: op.get(UInt16.self, at: GrantMapLayout.statusOffset))
        guard rc == 0, status == GrantStatus.okay.rawValue else {
            console.print("grant window: mapping d\(domain)'s grant \(ref) failed: rc \(rc), status \(Int32(status))")
            return nil
        }
        used?[slot] = true
        return GrantMapping(slot: slot, address: address, handle: op.get(UInt32.self, at: GrantMapLayout.handleOffset),
                            domain: domain)
    }

    /// A free slot for a page dom0 maps itself with update_va_mapping (its own grant-table frame); nil
    /// when the window is full. The slot stays taken.
    static func claim() -> UInt32? {
        guard prepare(), let slot = used?.firstIndex(of: false) else { return nil }
        used?[slot] = true
        return dom0_grant_window_base() + UInt32(slot) * 4096
    }

    /// `count` consecutive free slots, for pages dom0 maps itself (a device's memory); nil when no
    /// such run is free. The slots stay taken.
    static func claim(count: Int) -> UInt32? {
        guard prepare(), var slots = used, count > 0 else { return nil }
        var start = 0
        while start + count <= slots.count {
            if let taken = (start..<(start + count)).last(where: { slots[$0] }) { start = taken + 1; continue }
            for i in start..<(start + count) { slots[i] = true }
            used = slots
            return dom0_grant_window_base() + UInt32(start) * 4096
        }
        return nil
    }

    /// Gives back a slot taken with `claim` whose page is unmapped again.
    static func release(_ address: UInt32) {
        let base = dom0_grant_window_base()
        guard address >= base else { return }
        let slot = Int((address - base) / 4096)
        if let n = used?.count, slot < n { used?[slot] = false }
    }

    /// Unmaps and frees the slot; false (reason printed, slot kept out of use) when refused.
    @discardableResult
    static func unmap(_ m: GrantMapping) -> Bool {
        var op = HypercallRecord(stride: GrantUnmapLayout.size)
        op.set(UInt64(m.address), at: GrantUnmapLayout.hostAddrOffset)
        op.set(UInt64(0), at: GrantUnmapLayout.devBusAddrOffset)
        op.set(m.handle, at: GrantUnmapLayout.handleOffset)
        op.set(UInt16(bitPattern: 1), at: GrantUnmapLayout.statusOffset)
        let rc = op.withAddress { xen.grantTableOp(.unmapGrantRef, $0, count: 1) }
        let status = Int16(bitPattern: op.get(UInt16.self, at: GrantUnmapLayout.statusOffset))
        guard rc == 0, status == GrantStatus.okay.rawValue else {
            console.print("grant window: unmapping d\(m.domain)'s page (handle \(m.handle)) failed: rc \(rc), status \(Int32(status))")
            return false
        }
        used?[m.slot] = false
        return true
    }
}
