// GrantTableOpDecodeTests.swift: grant_table_op's decoder: each command, each refusal, the element readers, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class GrantTableOpDecodeTests: XCTestCase {
    func decode(_ cmd: GrantTableOp, _ uop: UInt32, _ count: UInt32, _ m: inout FakeGuestMemory) -> Decoded<GrantTableRequest> {
        GrantTableRequest.decode(HypercallArguments(cmd.rawValue, uop, count, 0, 0), &m)
    }

    func testSetupTableReadsItsFieldsAndBoundsTheListFirst() {
        var m = FakeGuestMemory.blank(seed: 1)
        m.place32([UInt32(SpecialDomainID.selfID), 4, 0xFFFF_FFFF, 0x3000], at: 0x2000)
        guard case .success(.setupTable(let d, let n, let list, let status)) = decode(.setupTable, 0x2000, 1, &m) else { return XCTFail() }
        XCTAssertEqual(d, SpecialDomainID.selfID)
        XCTAssertEqual(n, 4)
        XCTAssertEqual(list?.range.start, 0x3000)
        XCTAssertEqual(list?.range.count, 16)
        XCTAssertEqual(status.start, 0x2008)
        XCTAssertEqual(status.count, 2)
        // Over the maximum: no list (whatever its pointer), the core answers in the status.
        m.place32([0, 33, 0, 0xFFFF_FFF0], at: 0x2000)
        guard case .success(.setupTable(_, 33, nil, _)) = decode(.setupTable, 0x2000, 1, &m) else { return XCTFail() }
        m.place32([0, 32, 0, 0xF57F_FFF0], at: 0x2000)
        XCTAssertEqual(refusal(decode(.setupTable, 0x2000, 1, &m))?.0, .EFAULT)
        XCTAssertEqual(refusal(decode(.setupTable, 0x2000, 2, &m))?.0, .EINVAL)
        XCTAssertEqual(refusal(decode(.setupTable, 0x9000, 1, &m))?.0, .EFAULT)
        XCTAssertEqual(refusal(decode(.setupTable, 0xF57F_FFF8, 1, &m))?.0, .EFAULT)
    }

    func testSingleStructCommands() {
        var m = FakeGuestMemory.blank(seed: 2)
        m.place32([0x0000_0007, 0, 0, 0], at: 0x2000)
        guard case .success(.querySize(7, let out)) = decode(.querySize, 0x2000, 1, &m) else { return XCTFail() }
        XCTAssertEqual(out.start, 0x2004)
        XCTAssertEqual(out.count, 12)
        guard case .success(.setVersion(7, let v)) = decode(.setVersion, 0x2000, 1, &m) else { return XCTFail() }
        XCTAssertEqual(v.count, 4)
        guard case .success(.getVersion(7, let g)) = decode(.getVersion, 0x2000, 1, &m) else { return XCTFail() }
        XCTAssertEqual(g.start, 0x2004)
        XCTAssertEqual(refusal(decode(.querySize, 0x2000, 0, &m))?.0, .EINVAL)
        XCTAssertEqual(refusal(decode(.getVersion, 0x8000, 1, &m))?.0, .EFAULT)
        XCTAssertEqual(refusal(decode(.transfer, 0x2000, 1, &m))?.0, .ENOSYS)
        XCTAssertEqual(refusal(GrantTableRequest.decode(HypercallArguments(99, 0, 0, 0, 0), &m))?.0, .ENOSYS)
    }

    func testBatchesAreBoundedBeforeTheirExtent() {
        var m = FakeGuestMemory.blank(seed: 3)
        guard case .success(.mapGrantRef(let l)) = decode(.mapGrantRef, 0x2000, 3, &m) else { return XCTFail() }
        XCTAssertEqual(l.range.count, 96)
        XCTAssertEqual(refusal(decode(.mapGrantRef, 0x2000, 4097, &m))?.0, .EINVAL)
        XCTAssertEqual(refusal(decode(.copy, 0xFFFF_0000, 4097, &m))?.0, .EINVAL, "the count is checked before the extent")
        XCTAssertEqual(refusal(decode(.unmapGrantRef, 0xF580_0000 - 24, 2, &m))?.0, .EFAULT)
        guard case .success(.copy(let empty)) = decode(.copy, 0xFFFF_FFFF, 0, &m) else { return XCTFail() }
        XCTAssertEqual(empty.count, 0)
    }

    func testElementReaders() {
        var m = FakeGuestMemory.blank(seed: 4)
        // map: host_addr 0x1_0040_0000, flags 6, ref 9, dom 1.
        m.place32([0x0040_0000, 1, 6, 9, 1, 0, 0, 0], at: 0x2000)
        // unmap: host_addr 0x400000, dev 0x5000, handle 3.
        m.place32([0x0040_0000, 0, 0x5000, 0, 3, 0], at: 0x3000)
        // copy: source ref 1 dom 2 off 16, dest frame 0x200 dom SELF off 8, len 32, flags src_gref.
        m.place32([1, 2 | 16 << 16, 0x200, UInt32(SpecialDomainID.selfID) | 8 << 16, 32 | 1 << 16, 0], at: 0x4000)
        guard case .success(.mapGrantRef(let ml)) = decode(.mapGrantRef, 0x2000, 1, &m),
              let e = GrantMapElement.read(ml, 0, &m) else { return XCTFail() }
        XCTAssertEqual(e, GrantMapElement(hostAddress: 0x1_0040_0000, flags: 6, ref: 9, domain: 1, out: GuestRange(0x2012, count: 14)!))
        XCTAssertNil(GrantMapElement.read(ml, 1, &m))
        guard case .success(.unmapGrantRef(let ul)) = decode(.unmapGrantRef, 0x3000, 1, &m),
              let u = GrantUnmapElement.read(ul, 0, &m) else { return XCTFail() }
        XCTAssertEqual(u, GrantUnmapElement(hostAddress: 0x40_0000, deviceAddress: 0x5000, handle: 3, status: GuestRange(0x3014, count: 2)!))
        guard case .success(.copy(let cl)) = decode(.copy, 0x4000, 1, &m), let c = GrantCopyElement.read(cl, 0, &m) else { return XCTFail() }
        XCTAssertEqual(c.source, GrantCopySide(isGrant: true, refOrFrame: 1, domain: 2, offset: 16))
        XCTAssertEqual(c.dest, GrantCopySide(isGrant: false, refOrFrame: 0x200, domain: SpecialDomainID.selfID, offset: 8))
        XCTAssertEqual(c.length, 32)
        XCTAssertEqual(c.status, GuestRange(0x4014, count: 2))
        // An element in an unmapped page is a fault, not a guess.
        guard case .success(.copy(let far)) = decode(.copy, 0x9000, 1, &m) else { return XCTFail() }
        XCTAssertNil(GrantCopyElement.read(far, 0, &m))
        let out = GrantMapElement.result(.badGntref, handle: 7, deviceAddress: 0x1234_5678_9000)
        XCTAssertEqual(out.count, 14)
        XCTAssertEqual(out.u16(0), 0xFFFD)
        XCTAssertEqual(out.u32(2), 7)
        XCTAssertEqual(out.u64(6), 0x1234_5678_9000)
        let q = GrantQuerySizeOut.bytes(frames: 1, maxFrames: 32, status: .okay)
        XCTAssertEqual([q.u32(0), q.u32(4), UInt32(q.u16(8))], [1, 32, 0])
    }

    func testFuzz() {
        let tally = DecoderFuzzing.run(seed: 0x6A7, firstArgument: { rng in rng.below(14) }) { a, m in
            let d = GrantTableRequest.decode(a, &m)
            switch d {
            case .success(.mapGrantRef(let l)) where l.count > 0: _ = GrantMapElement.read(l, l.count - 1, &m)
            case .success(.unmapGrantRef(let l)) where l.count > 0: _ = GrantUnmapElement.read(l, 0, &m)
            case .success(.copy(let l)) where l.count > 0: _ = GrantCopyElement.read(l, l.count / 2, &m)
            default: break
            }
            return errno(d)
        }
        XCTAssertGreaterThanOrEqual(tally.cases, DecoderFuzzing.cases)
        XCTAssertGreaterThan(tally.accepted, 10_000)
        XCTAssertGreaterThan(tally.refused[XenError.EFAULT.rawValue, default: 0], 10_000)
        XCTAssertGreaterThan(tally.refused[XenError.EINVAL.rawValue, default: 0], 1_000)
        XCTAssertGreaterThan(tally.refused[XenError.ENOSYS.rawValue, default: 0], 1_000)
    }
}
