// LowMemory.swift: page-aligned host memory below 4 GiB, for GuestKit views that take a 32-bit
// guest address (StartInfoView, the P2M behind it). Test support only; it never frees early.

import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Zeroed, writable memory whose address fits in a UInt32, unmapped when the value goes away.
final class LowMemory {
    let base: UnsafeMutableRawPointer
    let size: Int

    init?(size: Int) {
        #if canImport(Glibc) && arch(x86_64)
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0)
        guard let p, p != MAP_FAILED, UInt(bitPattern: p) + UInt(size) <= 0x1_0000_0000 else { return nil }
        base = p
        self.size = size
        #else
        return nil
        #endif
    }

    deinit {
        #if canImport(Glibc)
        munmap(base, size)
        #endif
    }

    /// The guest's view of `base + offset`.
    func address(_ offset: Int = 0) -> UInt32 { UInt32(UInt(bitPattern: base) + UInt(offset)) }

    func store(_ value: UInt32, at offset: Int) { base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    func store(_ bytes: [UInt8], at offset: Int) {
        for (i, b) in bytes.enumerated() { base.storeBytes(of: b, toByteOffset: offset + i, as: UInt8.self) }
    }
}
