// A PhysicalMemory for the domain builder's tests: a byte array from machine address 0 that counts writes and can refuse some.
// Test-only: it must never be compiled into the hypervisor. Reads and writes outside the array fail like unmapped memory.

import ApusCore

struct BuilderFakeMemory: PhysicalMemory {
    var bytes: [UInt8]
    /// Successful store calls of any width.
    var writes = 0
    /// Stores touching this range fail (to test `.writeFailed`).
    var failing: Range<UInt64>? = nil

    /// `pages` frames from machine address 0, every byte `fill` so zeroing shows.
    init(pages: Int, fill: UInt8 = 0xA5) {
        bytes = [UInt8](repeating: fill, count: pages * 4096)
    }

    private func index(_ pa: UInt64, _ width: Int) -> Int? {
        guard pa <= UInt64(bytes.count), UInt64(width) <= UInt64(bytes.count) - pa else { return nil }
        return Int(pa)
    }

    private func load(_ pa: UInt64, _ width: Int) -> UInt64? {
        guard let i = index(pa, width) else { return nil }
        var value: UInt64 = 0
        for k in (0..<width).reversed() { value = value << 8 | UInt64(bytes[i + k]) }
        return value
    }

    private mutating func store(_ pa: UInt64, _ value: UInt64, _ width: Int) -> Bool {
        guard let i = index(pa, width) else { return false }
        if let failing, failing.overlaps(pa..<pa + UInt64(width)) { return false }
        for k in 0..<width { bytes[i + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        writes += 1
        return true
    }

    /// Backs no CPU: nothing to flush.
    mutating func flushTranslations() {}
    func load8(_ pa: UInt64) -> UInt8? { load(pa, 1).map { UInt8($0) } }
    func load16(_ pa: UInt64) -> UInt16? { load(pa, 2).map { UInt16($0) } }
    func load32(_ pa: UInt64) -> UInt32? { load(pa, 4).map { UInt32($0) } }
    func load64(_ pa: UInt64) -> UInt64? { load(pa, 8) }
    mutating func store8(_ pa: UInt64, _ v: UInt8) -> Bool { store(pa, UInt64(v), 1) }
    mutating func store32(_ pa: UInt64, _ v: UInt32) -> Bool { store(pa, UInt64(v), 4) }
    mutating func store64(_ pa: UInt64, _ v: UInt64) -> Bool { store(pa, v, 8) }

    /// `count` bytes from `pa` (traps outside the array: a test bug).
    func read(_ pa: UInt64, _ count: Int) -> [UInt8] { Array(bytes[Int(pa)..<Int(pa) + count]) }
}
