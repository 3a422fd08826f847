// The seam through which the pure core reads and writes machine memory by physical address.
// A protocol only: it must never be used as an existential (`any PhysicalMemory`); take it as a generic.

/// Bounds-checked access to physical memory. The hypervisor implements it over its
/// direct map (answering nil/false outside it); tests implement it over an array.
/// Every access names a physical address as UInt64 because PAE machines have memory
/// above 4 GiB, even though this hypervisor only manages the low 4 GiB for now.
/// Multi-byte values are little-endian, as on x86.
public protocol PhysicalMemory {
    /// The byte at `pa`, or nil when it cannot be read.
    func load8(_ pa: UInt64) -> UInt8?
    /// The 16-bit value at `pa`, or nil when any of its bytes cannot be read.
    func load16(_ pa: UInt64) -> UInt16?
    /// The 32-bit value at `pa`, or nil when any of its bytes cannot be read.
    func load32(_ pa: UInt64) -> UInt32?
    /// The 64-bit value at `pa`, or nil when any of its bytes cannot be read.
    func load64(_ pa: UInt64) -> UInt64?
    /// Writes `v` at `pa`. False, and nothing written, when any byte cannot be written.
    mutating func store32(_ pa: UInt64, _ v: UInt32) -> Bool
    /// Writes `v` at `pa`. False, and nothing written, when any byte cannot be written.
    mutating func store64(_ pa: UInt64, _ v: UInt64) -> Bool
    /// Writes the byte `v` at `pa`. False, and nothing written, when it cannot be written.
    /// The default reads and rewrites the aligned 32-bit word around it (not atomic).
    mutating func store8(_ pa: UInt64, _ v: UInt8) -> Bool
    /// Copies `bytes` to `pa`. False when some byte cannot be written; bytes before it may
    /// have been written. The default uses aligned 64-bit stores and byte stores at the edges.
    mutating func storeBytes(_ pa: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool
    /// Zeroes `count` bytes from `pa`. False when some byte cannot be written; bytes before
    /// it may have been written.
    mutating func zero(_ pa: UInt64, count: UInt64) -> Bool
    /// Zeroes the 4 KiB machine frame `frame`. False when it cannot be written. The default
    /// goes through `zero`; the hypervisor's is one string store over the frame's window.
    mutating func zeroFrame(_ frame: UInt32) -> Bool
    /// Drops every translation the CPU may cache for the running address space (a full
    /// non-global TLB flush). The paging core asks for one only when a dropped mapping could
    /// otherwise outlive a frame's change of type (StaleTranslations.swift). Memory that backs
    /// no CPU does nothing (tests count the calls).
    mutating func flushTranslations()
    /// The 512 entries of frame `frame` in place, for a page-table frame the caller checked, or nil
    /// when this memory cannot lend them (the caller then uses load64/store64; the default). Valid
    /// only until the next access through this memory: hot paths read and write one entry with it.
    mutating func tableEntries(_ frame: UInt32) -> UnsafeMutablePointer<UInt64>?
}

extension PhysicalMemory {
    public mutating func tableEntries(_ frame: UInt32) -> UnsafeMutablePointer<UInt64>? { nil }

    public mutating func store8(_ pa: UInt64, _ v: UInt8) -> Bool {
        let word = pa & ~3
        let shift = (pa & 3) * 8
        guard let old = load32(word) else { return false }
        let new = old & ~(UInt32(0xFF) << shift) | UInt32(v) << shift
        return store32(word, new)
    }

    public mutating func storeBytes(_ pa: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = UInt64(bytes.count)
        guard count > 0 else { return true }
        guard pa <= UInt64.max - count else { return false }
        var done: UInt64 = 0
        while done < count {
            let at = pa + done
            if at & 7 == 0, count - done >= 8 {
                let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(done), as: UInt64.self))
                guard store64(at, value) else { return false }
                done += 8
            } else {
                guard store8(at, bytes[Int(done)]) else { return false }
                done += 1
            }
        }
        return true
    }

    public mutating func zeroFrame(_ frame: UInt32) -> Bool {
        zero(UInt64(frame) << 12, count: 4096)
    }

    public mutating func zero(_ pa: UInt64, count: UInt64) -> Bool {
        guard count > 0 else { return true }
        guard pa <= UInt64.max - count else { return false }
        var done: UInt64 = 0
        while done < count {
            let at = pa + done
            if at & 7 == 0, count - done >= 8 {
                guard store64(at, 0) else { return false }
                done += 8
            } else {
                guard store8(at, 0) else { return false }
                done += 1
            }
        }
        return true
    }
}
