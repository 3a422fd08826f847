// A PhysicalMemory over a byte array at a chosen physical base, for host tests.
// Test-only: it must never be compiled into the hypervisor; reads outside the array answer nil like an unmapped address.

import ApusCore

struct FakePhysicalMemory: PhysicalMemory {
    let base: UInt64
    var bytes: [UInt8]

    init(base: UInt64, size: Int) {
        self.base = base
        bytes = [UInt8](repeating: 0, count: size)
    }

    var end: UInt64 { base + UInt64(bytes.count) }

    /// The array index of `pa` when `width` bytes from it lie inside the array.
    private func index(_ pa: UInt64, _ width: UInt64) -> Int? {
        guard pa >= base, pa <= UInt64.max - width, pa + width <= end else { return nil }
        return Int(pa - base)
    }

    private func load(_ pa: UInt64, _ width: Int) -> UInt64? {
        guard let i = index(pa, UInt64(width)) else { return nil }
        var value: UInt64 = 0
        for k in (0..<width).reversed() { value = value << 8 | UInt64(bytes[i + k]) }
        return value
    }

    private mutating func store(_ pa: UInt64, _ value: UInt64, _ width: Int) -> Bool {
        guard let i = index(pa, UInt64(width)) else { return false }
        for k in 0..<width { bytes[i + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        return true
    }

    /// Backs no CPU: nothing to flush.
    mutating func flushTranslations() {}
    func load8(_ pa: UInt64) -> UInt8? { load(pa, 1).map { UInt8($0) } }
    func load16(_ pa: UInt64) -> UInt16? { load(pa, 2).map { UInt16($0) } }
    func load32(_ pa: UInt64) -> UInt32? { load(pa, 4).map { UInt32($0) } }
    func load64(_ pa: UInt64) -> UInt64? { load(pa, 8) }
    mutating func store32(_ pa: UInt64, _ v: UInt32) -> Bool { store(pa, UInt64(v), 4) }
    mutating func store64(_ pa: UInt64, _ v: UInt64) -> Bool { store(pa, v, 8) }

    // Test conveniences that trap on a bad address, since a test writing outside its
    // own fake is a bug in the test.
    mutating func put32(_ pa: UInt64, _ v: UInt32) { precondition(store32(pa, v)) }
    mutating func put64(_ pa: UInt64, _ v: UInt64) { precondition(store64(pa, v)) }
    mutating func put(_ pa: UInt64, bytes new: [UInt8]) {
        for (k, byte) in new.enumerated() { precondition(store(pa + UInt64(k), UInt64(byte), 1)) }
    }
}
