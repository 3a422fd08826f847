// OverlaidGuestMemory.swift: FakeGuestMemory with a few chosen 32-bit words laid over it without page
// copies, so a fuzzed decoder can be led past its header checks (interface versions, commands) a million
// times cheaply. Test-only; copies out pass straight through to the fake underneath (and are counted there).

import ApusCore

struct OverlaidGuestMemory: GuestMemoryAccess {
    var base: FakeGuestMemory
    /// (address, value) pairs; later entries win where they overlap.
    var words: [(UInt32, UInt32)] = []

    init(_ base: FakeGuestMemory) { self.base = base }

    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool {
        guard base.copyIn(range, to: destination) else { return false }
        for (va, value) in words {
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
