// VcpuInfoWindowsTests.swift: every (domain id, vCPU) pair has its own vcpu_info window inside the
// area, none shared and none outside; and register_vcpu_info's refusals are Xen's map_vcpu_info's.

import XCTest
@testable import ApusCore
import PVABI

final class VcpuInfoWindowsTests: XCTestCase {
    func testEveryDomainAndVCPUHasItsOwnWindowInsideTheArea() {
        XCTAssertGreaterThanOrEqual(VcpuInfoWindows.domains, 512, "Domains.capacity ids")
        XCTAssertEqual(VcpuInfoWindows.perDomain, VcpuLimits.maxVCPUs)
        XCTAssertEqual(VcpuInfoWindows.l1Tables * 512, VcpuInfoWindows.count)
        XCTAssertEqual(AddressMap.vcpuInfoWindowsStart & 0x1F_FFFF, 0, "the area starts on an L2 slot")
        XCTAssertLessThanOrEqual(AddressMap.vcpuInfoWindowsEnd, AddressMap.fifoWindowsStart)
        XCTAssertGreaterThanOrEqual(AddressMap.vcpuInfoWindowsStart, AddressMap.m2pWritableEnd)
        var seen = Set<UInt32>()
        for d in 0..<UInt16(512) {
            for v in 0..<UInt32(8) {
                guard let a = VcpuInfoWindows.address(domain: d, vcpu: v) else { return XCTFail("d\(d) v\(v) has no window") }
                XCTAssertTrue(a >= AddressMap.vcpuInfoWindowsStart && a < AddressMap.vcpuInfoWindowsEnd)
                XCTAssertEqual(a & 0xFFF, 0)
                XCTAssertTrue(seen.insert(a).inserted, "d\(d) v\(v) shares a window")
            }
        }
        XCTAssertNil(VcpuInfoWindows.address(domain: 0, vcpu: 8))
        XCTAssertNil(VcpuInfoWindows.address(domain: UInt16(VcpuInfoWindows.domains), vcpu: 0))
        XCTAssertNil(VcpuInfoWindows.address(domain: 0xFFFF, vcpu: 0xFFFF_FFFF))
    }

    func testRefusalsAreMapVcpuInfos() {
        XCTAssertNil(VcpuInfoWindows.refusal(alreadyPlaced: false, targetIsCaller: true, targetIsDown: false))
        XCTAssertNil(VcpuInfoWindows.refusal(alreadyPlaced: false, targetIsCaller: false, targetIsDown: true), "an offline vCPU's, by another")
        for (placed, caller, down) in [(true, true, false), (true, false, true), (false, false, false)] {
            XCTAssertEqual(VcpuInfoWindows.refusal(alreadyPlaced: placed, targetIsCaller: caller, targetIsDown: down)?.error, .EINVAL)
        }
        XCTAssertEqual(String(describing: VcpuInfoWindows.refusal(alreadyPlaced: true, targetIsCaller: true, targetIsDown: false)!.reason),
                       "register_vcpu_info: this vCPU's vcpu_info was already moved (once per vCPU, as on Xen)")
    }
}
