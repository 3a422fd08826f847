// XenVersionDecodeTests.swift: xen_version's decoder: every buffer a GuestRange of Xen's exact size,
// get_features' index and OUT field, each refusal with its errno and reason, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class XenVersionDecodeTests: XCTestCase {
    func decode(_ op: XenVersionOp, _ arg: UInt32, _ m: inout FakeGuestMemory) -> Decoded<XenVersionRequest> {
        XenVersionRequest.decode(HypercallArguments(op.rawValue, arg, 0, 0, 0), &m)
    }

    func testBuffersHaveXensExactSizes() {
        var m = FakeGuestMemory(seed: 17)
        m.mappedPercent = 0
        let expected: [(XenVersionOp, Int)] = [
            (.extraversion, 16), (.compileInfo, 144), (.capabilities, 1024), (.changeset, 64),
            (.platformParameters, 4), (.guestHandle, 16), (.commandline, 1024),
        ]
        for (op, size) in expected {
            let range: GuestRange
            switch accepted(decode(op, 0x4000, &m)) {
            case .extraversion(let r)?, .compileInfo(let r)?, .capabilities(let r)?, .changeset(let r)?,
                 .platformParameters(let r)?, .guestHandle(let r)?, .commandline(let r)?: range = r
            default: return XCTFail("\(op.name)")
            }
            XCTAssertEqual(range, GuestRange(0x4000, count: UInt32(size)), "\(op.name)")
            // A buffer that ends exactly at the limit is accepted; one byte further is refused.
            XCTAssertNotNil(accepted(decode(op, GuestRange.limit - UInt32(size), &m)))
            assertRefused(decode(op, GuestRange.limit - UInt32(size) + 1, &m), .EFAULT, "xen_version buffer is not writable guest memory")
            assertRefused(decode(op, 0xFFFF_FFFF, &m), .EFAULT, "xen_version buffer is not writable guest memory")
        }
        guard case .version? = accepted(decode(.version, 0xFFFF_FFFF, &m)) else { return XCTFail() }
        guard case .pagesize? = accepted(decode(.pagesize, 0xFFFF_FFFF, &m)) else { return XCTFail() }
        XCTAssertEqual(m.copiesIn + m.copiesOut, 0, "only get_features reads the guest")
    }

    func testGetFeatures() {
        var m = FakeGuestMemory(seed: 17)
        m.mappedPercent = 0
        m.place32([0, 0xDEAD], at: 0x2000)
        guard case .getFeatures(0, let submap)? = accepted(decode(.getFeatures, 0x2000, &m)) else { return XCTFail() }
        XCTAssertEqual(submap, GuestRange(0x2000 + UInt32(XenFeatureInfoLayout.submapOffset), count: 4))
        for va: UInt32 in [0x9000, GuestRange.limit - 7, 0xFFFF_FFFC] {
            assertRefused(decode(.getFeatures, va, &m), .EFAULT, "xen_feature_info is not readable")
        }
    }

    func testRefusals() {
        var m = FakeGuestMemory(seed: 17)
        assertRefused(XenVersionRequest.decode(HypercallArguments(11, 0, 0, 0, 0), &m), .ENOSYS, "unknown xen_version operation")
        assertRefused(decode(.buildID, 0x2000, &m), .ENOSYS, "no build id is recorded")
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 17, firstArgument: { $0.below(UInt32(12)) }) { a, m in
            switch XenVersionRequest.decode(a, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        for e in [XenError.EFAULT, .ENOSYS] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
