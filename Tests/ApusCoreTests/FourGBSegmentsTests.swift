// FourGBSegmentsTests.swift: the 4gb_segments assist's decoder of a faulting instruction's memory
// operand (every supported encoding, refusals, random bytes that must never trap) and its segment
// flip (examples, refusals, and a property test: every flip is a descriptor DescriptorCheck accepts
// unchanged, makes the offset valid, and reaches only addresses below the hypervisor).

import XCTest
@testable import ApusCore
import PVABI

final class FourGBSegmentsTests: XCTestCase {
    /// eax 1, ecx 2, edx 3, ebx 4, esp 5, ebp 6, esi 7, edi 8, times 0x1000.
    private func reg(_ n: UInt8) -> UInt32 { (UInt32(n) + 1) * 0x1000 }

    private func decode(_ bytes: [UInt8]) -> SegmentedOperand? { SegmentedOperand.decode(bytes, register: reg) }

    func testDecodesTheEncodingsItSupports() {
        XCTAssertEqual(decode([0x65, 0xA1, 0xFC, 0xFF, 0xFF, 0xFF]), SegmentedOperand(segment: .gs, offset: 0xFFFF_FFFC, length: 6))
        XCTAssertEqual(decode([0xA3, 0x00, 0x20, 0, 0]), SegmentedOperand(segment: .ds, offset: 0x2000, length: 5))
        XCTAssertEqual(decode([0x65, 0x8B, 0x01]), SegmentedOperand(segment: .gs, offset: reg(1), length: 3))
        XCTAssertEqual(decode([0x8B, 0x4D, 0xF8]), SegmentedOperand(segment: .ss, offset: reg(5) &- 8, length: 3))
        XCTAssertEqual(decode([0xC7, 0x44, 0x24, 0x04, 0x78, 0x56, 0x34, 0x12]), SegmentedOperand(segment: .ss, offset: reg(4) + 4, length: 8))
        XCTAssertEqual(decode([0x65, 0x83, 0x04, 0x85, 0x10, 0, 0, 0, 0x01]), SegmentedOperand(segment: .gs, offset: reg(0) * 4 + 0x10, length: 9))
        XCTAssertEqual(decode([0x64, 0x0F, 0xB6, 0x03]), SegmentedOperand(segment: .fs, offset: reg(3), length: 4))
        XCTAssertEqual(decode([0xF7, 0x05, 0x00, 0x10, 0, 0, 0xFF, 0, 0, 0]), SegmentedOperand(segment: .ds, offset: 0x1000, length: 10))
        XCTAssertEqual(decode([0xF7, 0x15, 0x00, 0x10, 0, 0]), SegmentedOperand(segment: .ds, offset: 0x1000, length: 6), "not r/m: no immediate")
        XCTAssertEqual(decode([0x66, 0xC7, 0x00, 0x34, 0x12]), SegmentedOperand(segment: .ds, offset: reg(0), length: 5))
        XCTAssertEqual(decode([0xF0, 0x65, 0x0F, 0xB1, 0x0A]), SegmentedOperand(segment: .gs, offset: reg(2), length: 5), "lock cmpxchg gs:[edx], ecx")
        XCTAssertEqual(decode([0x8B, 0x04, 0x24]), SegmentedOperand(segment: .ss, offset: reg(4), length: 3), "[esp]")
        XCTAssertEqual(decode([0x8B, 0x04, 0x25, 0x00, 0x30, 0, 0]), SegmentedOperand(segment: .ds, offset: 0x3000, length: 7), "SIB without base or index")
        XCTAssertEqual(decode([0x8B, 0x45, 0x00]), SegmentedOperand(segment: .ss, offset: reg(5), length: 3), "[ebp+0]")
        XCTAssertEqual(decode([0x26, 0x8B, 0x80, 0x00, 0x01, 0, 0]), SegmentedOperand(segment: .es, offset: reg(0) + 0x100, length: 7))
        XCTAssertEqual(decode([0x0F, 0xBA, 0x20, 0x03]), SegmentedOperand(segment: .ds, offset: reg(0), length: 4), "bt [eax], 3")
    }

    func testRefusesWhatItDoesNotHandle() {
        XCTAssertNil(decode([0x89, 0xD8]), "a register operand")
        XCTAssertNil(decode([0x67, 0x8B, 0x07]), "16-bit addressing")
        XCTAssertNil(decode([0xA5]), "movsd")
        XCTAssertNil(decode([0x90]), "nop")
        XCTAssertNil(decode([0x0F, 0x05]), "no ModRM")
        XCTAssertNil(decode([0x8B, 0x05, 0x00, 0x10]), "truncated displacement")
        XCTAssertNil(decode([0xC7, 0x00, 0x01]), "truncated immediate")
        XCTAssertNil(decode([]))
        XCTAssertNil(decode([UInt8](repeating: 0x65, count: 15) + [0x8B, 0x00]), "longer than 15 bytes")
    }

    func testRandomBytesNeverTrap() {
        var rng = SplitMix64(seed: 0x46_4F55_5247_42)
        for _ in 0..<100_000 {
            let n = Int(rng.next() % 17)
            var bytes: [UInt8] = []
            for _ in 0..<n {
                let r = rng.next()
                // Bias towards prefixes and ModRM opcodes so the deeper paths are walked.
                bytes.append(r % 4 == 0 ? [0x65, 0x66, 0x0F, 0x8B, 0xC7, 0xF7, 0x04, 0x84, 0x44][Int(r >> 8) % 9] : UInt8(truncatingIfNeeded: r >> 16))
            }
            if let op = SegmentedOperand.decode(bytes, register: { _ in UInt32(truncatingIfNeeded: rng.next()) }) {
                XCTAssertLessThanOrEqual(op.length, min(15, bytes.count))
                XCTAssertGreaterThan(op.length, 0)
            }
        }
    }

    // MARK: the flip

    private func flatData(base: UInt32, limit: UInt32 = 0xFFFFF, g: Bool = true, big: Bool = true, type: UInt8 = 0x3) -> UInt64 {
        let raw = SegmentDescriptor(base: base, limit: limit, type: type, isCodeOrData: true, dpl: 3, present: true,
                                    defaultBig: big, granularity4K: g).raw
        guard case .accept(let v) = DescriptorCheck.check(raw) else { return raw }
        return v
    }

    func testFlipsATruncatedFlatSegmentForANegativeOffsetAndBack() throws {
        let truncated = flatData(base: 0x0010_1000)
        let down = try XCTUnwrap(FourGBSegments.flip(truncated, offset: 0xFFFF_FFFC))
        let d = SegmentDescriptor(raw: down)
        XCTAssertEqual(d.type & 0x4, 0x4, "grows down")
        XCTAssertEqual(d.base, 0x0010_1000)
        XCTAssertEqual(d.limitBytes, 0xFFEF_EFFF, "valid offsets from 4 GiB - 0x101000: [0, base)")
        XCTAssertEqual(DescriptorCheck.check(down), .accept(down))
        XCTAssertNil(FourGBSegments.flip(down, offset: 0xFFFF_FFF0), "already valid: nothing to flip")
        let up = try XCTUnwrap(FourGBSegments.flip(down, offset: 0x10))
        XCTAssertEqual(up, truncated, "a positive offset gets the truncated grows-up form back")
    }

    func testDoesNotFlipWhatTheAssistDoesNotCover() {
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x0010_1000), offset: 0x10), "an offset within the limit")
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x0010_1000, limit: 0x100), offset: 0xFFFF_FFFC), "a segment that does not reach the maximum")
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x800), offset: 0xFFFF_FFFC), "a base in the first page: nothing below it")
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x0010_1000, type: 0xB), offset: 0xFFFF_FFFC), "a code segment")
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x0010_1000, big: false), offset: 0xFFFF_FFFC), "a 16-bit segment")
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x0010_1000) & ~(1 << 47), offset: 0xFFFF_FFFC), "not present")
        XCTAssertNil(FourGBSegments.flip(flatData(base: 0x0010_1234), offset: 0xFFEF_E000), "an offset wrapping below base & ~0xFFF, outside the grows-down form")
    }

    func testDescriptorCheckAcceptsOnlyGrowsDownSegmentsWhollyBelowTheirBase() {
        let below = SegmentDescriptor(base: 0x0010_1000, limit: 0xFFEFE, type: 0x7, isCodeOrData: true, dpl: 3, present: true,
                                      defaultBig: true, granularity4K: true).raw
        XCTAssertEqual(DescriptorCheck.check(below), .accept(below))
        let crossing = SegmentDescriptor(base: 0x0010_1000, limit: 0x10, type: 0x7, isCodeOrData: true, dpl: 3, present: true,
                                         defaultBig: true, granularity4K: true).raw
        XCTAssertEqual(DescriptorCheck.check(crossing), .refuse(.expandDown), "its range runs up over the hypervisor")
        let byteGranular = SegmentDescriptor(base: 0x0010_1000, limit: 0xFFFFF, type: 0x7, isCodeOrData: true, dpl: 3, present: true,
                                             defaultBig: true, granularity4K: false).raw
        XCTAssertEqual(DescriptorCheck.check(byteGranular), .refuse(.expandDown))
        let empty = SegmentDescriptor(base: 0, limit: 0xFFFFF, type: 0x7, isCodeOrData: true, dpl: 3, present: true,
                                      defaultBig: true, granularity4K: true).raw
        XCTAssertEqual(DescriptorCheck.check(empty), .refuse(.expandDown))
    }

    /// Against a reference model of segment semantics: a flip, when there is one, is accepted by the
    /// check unchanged, makes the offset valid, and every valid offset reaches below the maximum.
    func testEveryFlipIsSafeAndMakesTheOffsetValid() {
        var rng = SplitMix64(seed: 0x4742_5345_47)
        var flips = 0
        for _ in 0..<50_000 {
            let base = UInt32(truncatingIfNeeded: rng.next()) % DescriptorCheck.segmentMaxAddr
            let limit = rng.next() % 3 == 0 ? UInt32(truncatingIfNeeded: rng.next()) & 0xFFFFF : 0xFFFFF
            let type: UInt8 = rng.next() % 4 == 0 ? 0x7 : 0x3
            let raw = SegmentDescriptor(base: base, limit: limit, type: type, isCodeOrData: true, dpl: 3, present: true,
                                        defaultBig: rng.next() % 8 != 0, granularity4K: rng.next() % 8 != 0).raw
            guard case .accept(let installed) = DescriptorCheck.check(raw) else { continue }
            let offset = rng.next() % 2 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : 0 &- UInt32(truncatingIfNeeded: rng.next() % 0x10000)
            guard let flipped = FourGBSegments.flip(installed, offset: offset) else { continue }
            flips += 1
            XCTAssertEqual(DescriptorCheck.check(flipped), .accept(flipped))
            let d = SegmentDescriptor(raw: flipped)
            let growsDown = d.type & 0x4 != 0
            XCTAssertTrue(growsDown ? offset > d.limitBytes : offset <= d.limitBytes, "the offset is valid after the flip")
            // The lowest and highest valid offsets reach below the maximum.
            let (low, high): (UInt32, UInt32) = growsDown ? (d.limitBytes + 1, 0xFFFF_FFFF) : (0, d.limitBytes)
            for o in [low, high, offset] {
                XCTAssertLessThan(d.base &+ o, DescriptorCheck.segmentMaxAddr)
            }
            XCTAssertEqual(d.base, SegmentDescriptor(raw: installed).base)
        }
        XCTAssertGreaterThan(flips, 100)
    }
}
