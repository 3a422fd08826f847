// HypervisorPaging.swift: the hypervisor's own mappings in the top 1 GiB L2 (idle_l2_high):
// 2 MiB pages for the direct map, frame table and M2P, the 4 KiB mapcache windows, and one
// lasting window per (domain, vCPU) onto the frame holding that vCPU's vcpu_info (VcpuInfoWindows).
// Guests share these L2 slots (428-511) read-only through their own L3 slot 3; this file
// must never map anything below AddressMap.guestEnd.

import ApusCore

enum HypervisorPaging {
    static var l2: UnsafeMutablePointer<UInt64>! = nil
    static var mapcacheL1: UnsafeMutablePointer<UInt64>! = nil
    static var vcpuInfoL1: UnsafeMutablePointer<UInt64>! = nil
    static var mapcacheBase: UInt32 = 0
    static var nxSupported = false
    /// CR3 of the hypervisor's own address space (no guest mapped), for when no domain runs.
    static var idleCR3: UInt32 = 0

    static func initialize(_ sym: Symbols) {
        l2 = pointer(to: UInt64.self, at: sym.idleL2High)
        mapcacheL1 = pointer(to: UInt64.self, at: sym.mapcacheL1)
        for i in 0..<512 { mapcacheL1[i] = 0 }
        let l1Physical = UInt64(sym.mapcacheL1 - AddressMap.directMapStart)
        l2[slot(AddressMap.mapcacheStart)] =
            PageTableEntry(frame: l1Physical >> 12, flags: [.present, .writable]).raw
        // The vcpu_info windows' L1 tables (Boot/cpu.asm, contiguous), installed before any domain exists
        // so that every guest's copy of the hypervisor slots has them.
        vcpuInfoL1 = pointer(to: UInt64.self, at: sym.vcpuInfoL1)
        for i in 0..<VcpuInfoWindows.count { vcpuInfoL1[i] = 0 }
        for t in 0..<VcpuInfoWindows.l1Tables {
            let va = AddressMap.vcpuInfoWindowsStart + UInt32(t) << 21
            l2[slot(va)] = PageTableEntry(frame: UInt64(sym.vcpuInfoL1 - AddressMap.directMapStart) >> 12 + UInt64(t),
                                          flags: [.present, .writable]).raw
        }
        FrameWindows.initialize()
        FifoWindows.initialize()
        enableNX()
        idleCR3 = cpu_read_cr3()
        TLB.flushAll()
    }

    /// The L2 slot (under L3 slot 3) that maps `va`.
    static func slot(_ va: UInt32) -> Int {
        precondition(va >= 0xC000_0000)
        return PAE.l2Index(va)
    }

    /// Maps [va, va + 2 MiB * count) to physical frames starting at `firstFrame` (2 MiB aligned).
    static func mapLarge(va start: UInt32, firstFrame: UInt32, count: Int, writable: Bool) {
        for i in 0..<count {
            var flags: PTEFlags = [.present, .pageSize, .accessed, .dirty]
            if writable { flags.insert(.writable) }
            if nxSupported { flags.insert(.noExecute) }
            let frame = UInt64(firstFrame) + UInt64(i) * 512
            l2[slot(start) + i] = PageTableEntry(frame: frame, flags: flags).raw
            TLB.flush(page: start &+ UInt32(i) << 21)
        }
    }


    private static func enableNX() {
        let ext = CPUIDResult(leaf: 0x8000_0000)
        guard ext.eax >= 0x8000_0001 else { return }
        guard CPUIDResult(leaf: 0x8000_0001).edx & (1 << 20) != 0 else { return }
        let efer = cpu_rdmsr(0xC000_0080)
        cpu_wrmsr(0xC000_0080, UInt32(truncatingIfNeeded: efer) | (1 << 11), UInt32(truncatingIfNeeded: efer >> 32))
        nxSupported = true
    }
}

/// Short-lived 4 KiB windows onto any machine frame (Xen's map_domain_page).
enum Mapcache {
    static var inUse = InlineArray<512, Bool>(repeating: false)
    static var cursor = 0
    static var mapped = 0

    /// Maps `frame` and returns its virtual address, or nil when every window is taken.
    static func map(frame: UInt64, writable: Bool = true) -> UInt32? {
        var tries = 0
        while tries < 512 {
            let i = (cursor + tries) % 512
            if !inUse[i] {
                inUse[i] = true
                cursor = (i + 1) % 512
                mapped += 1
                var flags: PTEFlags = [.present, .accessed, .dirty]
                if writable { flags.insert(.writable) }
                if HypervisorPaging.nxSupported { flags.insert(.noExecute) }
                HypervisorPaging.mapcacheL1[i] = PageTableEntry(frame: frame, flags: flags).raw
                let va = AddressMap.mapcacheStart + UInt32(i) << 12
                TLB.flush(page: va)
                return va
            }
            tries += 1
        }
        return nil
    }

    static func unmap(_ window: UInt32) {
        guard window >= AddressMap.mapcacheStart && window < AddressMap.ioremapStart else { return }
        let i = Int((window - AddressMap.mapcacheStart) >> 12)
        guard inUse[i] else { return }
        HypervisorPaging.mapcacheL1[i] = 0
        TLB.flush(page: window & ~0xFFF)
        inUse[i] = false
        mapped -= 1
    }
}
