// DirectPhysicalMemory.swift: ApusCore's PhysicalMemory over the hypervisor's mappings:
// the 12 MiB direct map, and for anything above it the lasting FrameWindows (a copy between two
// frames uses two short-lived mapcache windows). Every access is bounds-checked
// against the RAM the caller declared; it must never touch an address it cannot map.
// Aligned 64-bit loads and stores (page-table entries) take a short path: a bounds check, then
// the direct map or a window hit, with no closure.

import ApusCore

struct DirectPhysicalMemory: PhysicalMemory {
    /// One past the highest physical byte that may be read (RAM and firmware areas below 4 GiB).
    /// Both defaults are literals, not shifts: `1 << 32` goes through the generic shift, which is not
    /// folded, and Machine.memory would then be initialized lazily (a check on every hypercall).
    var limit: UInt64 = 0x1_0000_0000 { didSet { frameLimit = UInt32(clamping: limit >> 12) } }
    /// Frames wholly below `limit` (`limit >> 12`), for tableEntries' one 32-bit compare.
    private(set) var frameLimit: UInt32 = 0x10_0000

    /// The hypervisor address of `pa`, for an access the caller checked lies below `limit` and
    /// inside one frame.
    @inline(__always)
    private func mapped(_ pa: UInt64) -> UInt32 {
        if pa < UInt64(AddressMap.directMapSize) { return AddressMap.directMapStart &+ UInt32(truncatingIfNeeded: pa) }
        return FrameWindows.window(for: UInt32(truncatingIfNeeded: pa >> 12)) | UInt32(truncatingIfNeeded: pa) & 0xFFF
    }

    /// Whether the 8 bytes at `pa` (8-aligned, so inside one frame) may be touched: all of them
    /// lie below `limit` exactly when `pa` lies below `limit` rounded down to 8.
    @inline(__always)
    private func entryInRange(_ pa: UInt64) -> Bool { pa < limit & ~7 }

    private func withMapped<T>(_ pa: UInt64, _ size: UInt64, _ body: (UInt32) -> T) -> T? {
        guard pa <= limit, size <= limit - pa else { return nil }
        // Never split an access across two frames: the mapcache maps one at a time.
        guard (pa & 0xFFF) + size <= 0x1000 else { return nil }
        if let va = AddressMap.directMapped(pa), pa + size <= UInt64(AddressMap.directMapSize) {
            return body(va)
        }
        // One of the lasting windows: the body must not reach physical memory again (see copy).
        return body(FrameWindows.window(for: UInt32(truncatingIfNeeded: pa >> 12)) + UInt32(pa & 0xFFF))
    }

    /// A short-lived mapcache window for each side of a copy (two lasting windows could be one slot).
    private func withTransient<T>(_ pa: UInt64, _ size: UInt64, _ body: (UInt32) -> T) -> T? {
        guard pa <= limit, size <= limit - pa, (pa & 0xFFF) + size <= 0x1000 else { return nil }
        if let va = AddressMap.directMapped(pa), pa + size <= UInt64(AddressMap.directMapSize) {
            return body(va)
        }
        guard let window = Mapcache.map(frame: pa >> 12, writable: true) else { return nil }
        let result = body(window + UInt32(pa & 0xFFF))
        Mapcache.unmap(window)
        return result
    }

    func load8(_ pa: UInt64) -> UInt8? { withMapped(pa, 1) { pointer(to: UInt8.self, at: $0).pointee } }
    func load16(_ pa: UInt64) -> UInt16? {
        if pa & 0xFFF > 0xFFE { return load8(pa).flatMap { lo in load8(pa + 1).map { UInt16(lo) | UInt16($0) << 8 } } }
        return withMapped(pa, 2) { UnsafeRawPointer(bitPattern: UInt($0))!.loadUnaligned(as: UInt16.self) }
    }
    func load32(_ pa: UInt64) -> UInt32? {
        if pa & 0xFFF > 0xFFC { return load16(pa).flatMap { lo in load16(pa + 2).map { UInt32(lo) | UInt32($0) << 16 } } }
        return withMapped(pa, 4) { UnsafeRawPointer(bitPattern: UInt($0))!.loadUnaligned(as: UInt32.self) }
    }
    @inline(__always)
    func load64(_ pa: UInt64) -> UInt64? {
        if pa & 7 == 0 {
            guard entryInRange(pa) else { return nil }
            return UnsafePointer<UInt64>(bitPattern: UInt(mapped(pa)))!.pointee
        }
        guard let lo = load32(pa), let hi = load32(pa + 4) else { return nil }
        return UInt64(lo) | UInt64(hi) << 32
    }
    mutating func store32(_ pa: UInt64, _ v: UInt32) -> Bool {
        guard pa & 3 == 0 else { return false }
        return withMapped(pa, 4) { pointer(to: UInt32.self, at: $0).pointee = v } != nil
    }
    @inline(__always)
    mutating func store64(_ pa: UInt64, _ v: UInt64) -> Bool {
        guard pa & 7 == 0, entryInRange(pa) else { return false }
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(mapped(pa)))!.pointee = v
        return true
    }

    /// A full TLB flush (a CR3 reload), which also tells the frame table nothing is stale.
    mutating func flushTranslations() { TLB.flushAll() }
    mutating func store8(_ pa: UInt64, _ v: UInt8) -> Bool {
        withMapped(pa, 1) { pointer(to: UInt8.self, at: $0).pointee = v } != nil
    }

    /// Frame by frame: one mapping per frame, not per byte.
    mutating func storeBytes(_ pa: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let at = pa + UInt64(done)
            let n = min(Int(0x1000 - (at & 0xFFF)), bytes.count - done)
            let ok: Bool? = withMapped(at, UInt64(n)) { va in
                apus_copy_dwords(UnsafeMutableRawPointer(bitPattern: UInt(va))!, bytes.baseAddress!.advanced(by: done), n)
                return true
            }
            if ok == nil { return false }
            done += n
        }
        return true
    }

    /// Copies `count` bytes from `source` to `dest`, each span inside one frame (grant copy).
    mutating func copy(from source: UInt64, to dest: UInt64, count: UInt64) -> Bool {
        guard count > 0 else { return true }
        let ok: Bool?? = withTransient(source, count) { s in
            withTransient(dest, count) { d in
                UnsafeMutableRawPointer(bitPattern: UInt(d))!.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(s))!, byteCount: Int(count))
                return true
            }
        }
        return ok == .some(.some(true))
    }

    mutating func zero(_ pa: UInt64, count: UInt64) -> Bool {
        var done: UInt64 = 0
        while done < count {
            let at = pa + done
            let n = min(0x1000 - (at & 0xFFF), count - done)
            let ok: Bool? = withMapped(at, n) { va in
                apus_zero_dwords(UnsafeMutableRawPointer(bitPattern: UInt(va))!, Int(n))
                return true
            }
            if ok == nil { return false }
            done += n
        }
        return true
    }

    /// One frame, through the direct map or a lasting window: one `rep stosd`.
    mutating func zeroFrame(_ frame: UInt32) -> Bool {
        let pa = UInt64(frame) << 12
        guard pa < limit, 0x1000 <= limit - pa else { return false }
        apus_zero_page(UnsafeMutableRawPointer(bitPattern: UInt(mapped(pa)))!)
        return true
    }
}
