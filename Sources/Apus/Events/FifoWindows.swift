// FifoWindows.swift: lasting 4 KiB hypervisor windows onto guest frames for FIFO event channels (a
// VCPU's control block, an event-array page), from a pool in AddressMap.fifoWindowsStart..End. The
// L1 tables behind it are allocated once at boot and their L2 entries installed before any domain
// exists, so every guest's copy of the hypervisor slots has them. It must never map a frame nobody
// checked (FifoEventChannelOp takes a writable type reference first) nor hand out a window twice.

import ApusCore

enum FifoWindows {
    static let count = Int((AddressMap.fifoWindowsEnd - AddressMap.fifoWindowsStart) >> 12)
    /// The PTEs of every window, one after another (the L1 tables, contiguous in the direct map).
    static var l1: UnsafeMutablePointer<UInt64>! = nil
    static var inUse: UnsafeMutablePointer<Bool>! = nil
    static var mapped = 0

    /// Allocates the L1 tables and installs them under the hypervisor's L2 (at boot, before any domain).
    static func initialize() {
        let tables = count / 512
        let raw = UnsafeMutableRawPointer.allocate(byteCount: tables * 4096, alignment: 4096)
        l1 = raw.bindMemory(to: UInt64.self, capacity: count)
        l1.initialize(repeating: 0, count: count)
        inUse = UnsafeMutablePointer<Bool>.allocate(capacity: count)
        inUse.initialize(repeating: false, count: count)
        let physical = UInt32(UInt(bitPattern: raw)) - AddressMap.directMapStart
        for t in 0..<tables {
            let va = AddressMap.fifoWindowsStart + UInt32(t) << 21
            HypervisorPaging.l2[HypervisorPaging.slot(va)] =
                PageTableEntry(frame: UInt64(physical >> 12) + UInt64(t), flags: [.present, .writable]).raw
        }
    }

    /// A writable window onto machine frame `mfn`, or nil when every window is taken.
    static func map(_ mfn: UInt32) -> UnsafeMutableRawPointer? {
        var i = 0
        while i < count {
            if !inUse[i] {
                inUse[i] = true
                mapped += 1
                var flags: PTEFlags = [.present, .writable, .accessed, .dirty]
                if HypervisorPaging.nxSupported { flags.insert(.noExecute) }
                l1[i] = PageTableEntry(frame: UInt64(mfn), flags: flags).raw
                let va = AddressMap.fifoWindowsStart + UInt32(i) << 12
                TLB.flush(page: va)
                return UnsafeMutableRawPointer(bitPattern: UInt(va))
            }
            i += 1
        }
        return nil
    }

    /// Closes the window holding `pointer` (any address inside it); one not from the pool is ignored.
    static func unmap(_ pointer: UnsafeMutableRawPointer) {
        // A hypervisor address inside the pool (checked against its bounds first), never a guest's.
        let window = UInt32(UInt(bitPattern: pointer))
        guard window >= AddressMap.fifoWindowsStart, window < AddressMap.fifoWindowsEnd else { return }
        let i = Int((window - AddressMap.fifoWindowsStart) >> 12)
        guard inUse[i] else { return }
        l1[i] = 0
        TLB.flush(page: window & ~0xFFF)
        inUse[i] = false
        mapped -= 1
    }
}
