// DecoderFuzzing.swift: the harness every hypercall decoder's host test uses: a million seeded cases of
// random registers over random guest memory, plus every edge pointer in every register. A decoder must
// return a request or a refusal, never trap, and never copy anything out to the guest.

import XCTest
import ApusCore
import PVABI

struct DecoderTally {
    var accepted = 0
    var refused: [Int32: Int] = [:]
    var cases: Int { accepted + refused.values.reduce(0, +) }
}

enum DecoderFuzzing {
    /// Cases per decoder: the issue asks for at least 10^6 per decoder in total.
    static let cases = 1_000_000

    /// Register values: small numbers (commands, counts), edge pointers, and anything at all.
    static func register(_ rng: inout SplitMix64) -> UInt32 {
        switch rng.below(8) {
        case 0, 1: return rng.below(UInt32(64))
        case 2: return EdgePointers.all[rng.below(EdgePointers.all.count)]
        case 3: return UInt32(truncatingIfNeeded: rng.next()) & 0xF57F_FFFF
        case 4: return rng.pick([0, 1, 2, 0x7FF0, 4096, 4097, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF])
        default: return UInt32(truncatingIfNeeded: rng.next())
        }
    }

    /// Runs `decode` on `cases` random argument sets and on every edge pointer in each register.
    /// `decode` answers the errno of a refusal, or nil for an accepted request.
    static func run(seed: UInt64, cases: Int = DecoderFuzzing.cases, file: StaticString = #filePath, line: UInt = #line,
                    firstArgument: ((inout SplitMix64) -> UInt32)? = nil,
                    _ decode: (HypercallArguments, inout FakeGuestMemory) -> Int32?) -> DecoderTally {
        var rng = SplitMix64(seed: seed)
        var tally = DecoderTally()
        func one(_ a: HypercallArguments, memorySeed: UInt64) {
            var memory = FakeGuestMemory(seed: memorySeed)
            if let errno = decode(a, &memory) { tally.refused[errno, default: 0] += 1 } else { tally.accepted += 1 }
            if memory.copiesOut != 0 { XCTFail("a decoder wrote guest memory (\(a))", file: file, line: line) }
        }
        for i in 0..<cases {
            let first = firstArgument?(&rng) ?? register(&rng)
            one(HypercallArguments(first, register(&rng), register(&rng), register(&rng), register(&rng)), memorySeed: UInt64(i) ^ seed)
        }
        var edge = SplitMix64(seed: seed ^ 0xED6E)
        for p in EdgePointers.all {
            for slot in 0..<5 {
                var r = (0..<5).map { _ in register(&edge) }
                r[slot] = p
                if slot != 0, let f = firstArgument { r[0] = f(&edge) }
                one(HypercallArguments(r[0], r[1], r[2], r[3], r[4]), memorySeed: UInt64(p))
            }
        }
        if tally.accepted == 0 { XCTFail("no case was ever accepted: the generator does not reach the decoder's depth", file: file, line: line) }
        return tally
    }
}

/// A decoder's refusal as (errno, reason), or nil when it accepted.
func refusal<T>(_ decoded: Decoded<T>) -> (XenError, String)? {
    if case .failure(let r) = decoded { return (r.error, "\(r.reason)") }
    return nil
}

/// A decoder's answer as the fuzz harness counts it: the errno of a refusal, nil for a request.
func errno<T>(_ decoded: Decoded<T>) -> Int32? {
    if case .failure(let r) = decoded { return r.error.rawValue }
    return nil
}

extension FakeGuestMemory {
    /// A guest with nothing mapped but the pages a test places.
    static func blank(seed: UInt64) -> FakeGuestMemory {
        var m = FakeGuestMemory(seed: seed)
        m.mappedPercent = 0
        return m
    }
}
