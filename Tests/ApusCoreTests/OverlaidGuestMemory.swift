// OverlaidGuestMemory.swift: FakeGuestMemory with a few chosen 32-bit words laid over it without page
// copies, so a fuzzed decoder can be led past its header checks (interface versions, commands) a million
// times cheaply. Test-only; copies out pass straight through to the fake underneath (and are counted there).

import ApusCore

struct OverlaidGuestMemory: GuestMemoryAccess {
    var base: FakeGuestMemory
    /// Up to eight (address, value) pairs, in fixed storage (an array per case costs seconds in
    /// debug); later ones win where they overlap, and a ninth is dropped.
    private var addresses = InlineArray<8, UInt32>(repeating: 0)
    private var values = InlineArray<8, UInt32>(repeating: 0)
    private var count = 0

    mutating func lay(_ value: UInt32, at va: UInt32) {
        guard count < 8 else { return }
        addresses[count] = va
        values[count] = value
        count += 1
    }

    init(_ base: FakeGuestMemory) { self.base = base }

    /// The fake's mapping, checked once per page rather than once per byte, with cheaper contents
    /// (a decoder that reads a 144-byte struct a million times would otherwise spend a minute in a
    /// debug build). Pages placed with chosen bytes fall back to the fake's own copy.
    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool {
        guard base.pages.isEmpty else { return base.copyIn(range, to: destination) && overlay(range, destination) }
        base.copiesIn += 1
        precondition(UInt64(range.start) + UInt64(range.count) <= UInt64(GuestRange.limit), "a range past the limit reached the copy")
        var page: UInt32? = nil
        var word: UInt32 = 0
        var i: UInt32 = 0
        while i < range.count {
            let va = range.start &+ i
            if page != va >> 12 {
                page = va >> 12
                guard base.isMapped(va >> 12) else { return false }
            }
            if i == 0 || va & 3 == 0 { word = Self.word(va >> 2, seed: base.seed) }
            if va & 3 == 0 && range.count &- i >= 4 {
                // A whole aligned word at once (a page boundary is never inside one).
                destination.storeBytes(of: word.littleEndian, toByteOffset: Int(i), as: UInt32.self)
                i &+= 4
                continue
            }
            destination.storeBytes(of: UInt8(truncatingIfNeeded: word >> (8 * (va & 3))), toByteOffset: Int(i), as: UInt8.self)
            i &+= 1
        }
        return overlay(range, destination)
    }

    /// Contents one hash per aligned word (the fake hashes each byte, eight times slower in debug):
    /// a quarter of the words small numbers (counts, commands), the rest anything.
    static func word(_ index: UInt32, seed: UInt64) -> UInt32 {
        let h = FakeGuestMemory.mix(seed &+ UInt64(index))
        return h % 4 == 0 ? UInt32(truncatingIfNeeded: h >> 8) % 64 : UInt32(truncatingIfNeeded: h >> 16)
    }

    private func overlay(_ range: GuestRange, _ destination: UnsafeMutableRawPointer) -> Bool {
        for w in 0..<count {
            let va = addresses[w], value = values[w]
            for k in 0..<UInt32(4) {
                let (a, wrapped) = va.addingReportingOverflow(k)
                guard !wrapped, a >= range.start, a < range.end else { continue }
                destination.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * k)), toByteOffset: Int(a &- range.start), as: UInt8.self)
            }
        }
        return true
    }

    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool { base.copyOut(range, from: source) }
}

/// Runs `decode` over an overlay built by `lay` on the fuzzer's memory, then hands the memory back so
/// the harness still sees every copy out.
func overlaid<T>(_ m: inout FakeGuestMemory, _ lay: (inout OverlaidGuestMemory) -> Void,
                 _ decode: (inout OverlaidGuestMemory) -> Decoded<T>) -> Int32? {
    var o = OverlaidGuestMemory(m)
    lay(&o)
    let result = decode(&o)
    m = o.base
    switch result {
    case .success: return nil
    case .failure(let r): return r.error.rawValue
    }
}
