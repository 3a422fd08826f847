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
}
