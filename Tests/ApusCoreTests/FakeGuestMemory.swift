// FakeGuestMemory.swift: a guest address space for decoder tests, with no storage of its own: whether
// a page is mapped (and writable) and what each byte holds are hash functions of a seed, so a million
// seeded cases cost no allocation. Test-only; explicit pages can be overlaid with chosen bytes.

import ApusCore

struct FakeGuestMemory: GuestMemoryAccess {
    var seed: UInt64
    /// Percent of pages that are mapped at all, and of those, writable.
    var mappedPercent: UInt64 = 75
    var writablePercent: UInt64 = 60
    /// Pages with chosen contents (page number -> 4096 bytes); these are mapped and writable.
    var pages: [UInt32: [UInt8]] = [:]
    /// Every copy the code under test made, in order (decoders must make no copyOut).
    var copiesIn = 0
    var copiesOut = 0
    var bytesOut = 0

    init(seed: UInt64) { self.seed = seed }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func pageHash(_ page: UInt32) -> UInt64 { Self.mix(seed ^ UInt64(page) &* 0x1000_0000_01B3) }
    func isMapped(_ page: UInt32) -> Bool { pages[page] != nil || pageHash(page) % 100 < mappedPercent }
    func isWritable(_ page: UInt32) -> Bool { pages[page] != nil || (isMapped(page) && (pageHash(page) >> 8) % 100 < writablePercent) }

    func byte(_ va: UInt32) -> UInt8 {
        if let p = pages[va >> 12] { return p[Int(va & 0xFFF)] }
        // Mostly small values, sometimes anything: decoders see zeros, counts and wild words.
        let h = Self.mix(seed &+ UInt64(va))
        return h % 4 == 0 ? UInt8(truncatingIfNeeded: h >> 8) % 4 : UInt8(truncatingIfNeeded: h >> 16)
    }

    mutating func place(_ bytes: [UInt8], at va: UInt32) {
        for (i, b) in bytes.enumerated() {
            let a = va &+ UInt32(i)
            if pages[a >> 12] == nil { pages[a >> 12] = (0..<4096).map { byte((a & ~0xFFF) &+ UInt32($0)) } }
            pages[a >> 12]![Int(a & 0xFFF)] = b
        }
    }

    mutating func place32(_ words: [UInt32], at va: UInt32) {
        place(words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }, at: va)
    }

    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool {
        copiesIn += 1
        precondition(UInt64(range.start) + UInt64(range.count) <= UInt64(GuestRange.limit), "a range past the limit reached the copy")
        var i: UInt32 = 0
        while i < range.count {
            let va = range.start &+ i
            guard isMapped(va >> 12) else { return false }
            destination.storeBytes(of: byte(va), toByteOffset: Int(i), as: UInt8.self)
            i += 1
        }
        return true
    }

    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool {
        copiesOut += 1
        precondition(UInt64(range.start) + UInt64(range.count) <= UInt64(GuestRange.limit), "a range past the limit reached the copy")
        var i: UInt32 = 0
        while i < range.count {
            let va = range.start &+ i
            guard isWritable(va >> 12) else { return false }
            if pages[va >> 12] != nil { pages[va >> 12]![Int(va & 0xFFF)] = source.load(fromByteOffset: Int(i), as: UInt8.self) }
            bytesOut += 1
            i += 1
        }
        return true
    }
}

/// The guest pointers every decoder is tried with: within 64 bytes of 0, of 2^32, of
/// HYPERVISOR_VIRT_START (0xF5800000) and of the end of the M2P (0xF6800000).
enum EdgePointers {
    static let all: [UInt32] = {
        var v: [UInt32] = []
        for edge: UInt64 in [0, 1 << 32, 0xF580_0000, 0xF680_0000] {
            for d in -64...64 {
                let x = Int64(edge) + Int64(d)
                if x >= 0 && x <= Int64(UInt32.max) { v.append(UInt32(x)) }
            }
        }
        return v
    }()
}
