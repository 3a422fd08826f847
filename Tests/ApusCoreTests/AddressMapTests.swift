// AddressMapTests.swift: the address map is consistent with itself, with the guest ABI and with the
// linker scripts. NASM's copy is generated from it (NASMIncludeTests checks the generator).

import Foundation
import XCTest
@testable import ApusCore
import PVABI

final class AddressMapTests: XCTestCase {
    func testHypervisorAreaMatchesTheGuestABI() {
        XCTAssertEqual(AddressMap.guestEnd, XenLayout.hypervisorVirtStart)
        XCTAssertEqual(AddressMap.m2pReadOnlyStart, XenLayout.mach2physVirtStart)
        XCTAssertEqual(AddressMap.m2pReadOnlyEnd, XenLayout.mach2physVirtEnd)
        XCTAssertEqual(AddressMap.guestSegmentEnd, XenLayout.guestSegmentMaxAddr)
        XCTAssertEqual(AddressMap.firstHypervisorL2Slot, 428)
    }

    func testRegionsAreOrderedAndDoNotOverlap() {
        let bounds: [UInt32] = [
            AddressMap.m2pReadOnlyStart, AddressMap.m2pReadOnlyEnd,
            AddressMap.frameTableStart, AddressMap.frameTableEnd,
            AddressMap.m2pWritableStart, AddressMap.m2pWritableEnd,
            AddressMap.perDomainStart, AddressMap.perDomainEnd,
            AddressMap.directMapStart, AddressMap.directMapStart + AddressMap.directMapSize,
            AddressMap.mapcacheStart, AddressMap.mapcacheStart + AddressMap.mapcacheSlots * 4096,
            AddressMap.ioremapStart,
        ]
        for i in 1..<bounds.count { XCTAssertLessThanOrEqual(bounds[i - 1], bounds[i], "boundary \(i)") }
        // Everything the hypervisor maps with 2 MiB pages starts on a 2 MiB boundary.
        for b in [AddressMap.frameTableStart, AddressMap.m2pWritableStart, AddressMap.directMapStart, AddressMap.mapcacheStart] {
            XCTAssertEqual(b & 0x1F_FFFF, 0)
        }
        // A 16-byte record per frame for 4 GiB fits the frame table; 4 bytes per frame fits the M2P.
        XCTAssertGreaterThanOrEqual(UInt64(AddressMap.frameTableEnd - AddressMap.frameTableStart), (1 << 20) * 16)
        XCTAssertGreaterThanOrEqual(UInt64(AddressMap.m2pReadOnlyEnd - AddressMap.m2pReadOnlyStart), (1 << 20) * 4)
    }

    func testDirectMapTranslation() {
        XCTAssertEqual(AddressMap.directMapped(0x10_0000), 0xFF10_0000)
        XCTAssertEqual(AddressMap.directMapped(0xBF_FFFF), 0xFFBF_FFFF)
        XCTAssertNil(AddressMap.directMapped(0xC0_0000))
    }

    /// Linker/apus.ld places the image at 1 MiB physical and links it in the direct map;
    /// Linker/guest.ld links guest kernels at 1 MiB with virt_base 0, below the hypervisor area.
    func testLinkerScriptsAgree() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        func numbers(_ file: String, _ pattern: String) throws -> [UInt64] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            let regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
            return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { m in
                Range(m.range(at: 1), in: text).flatMap { UInt64(text[$0], radix: 16) }
            }
        }
        XCTAssertEqual(try numbers("Linker/apus.ld", #"^KERNEL_VIRT_OFFSET = 0x([0-9A-Fa-f]+);"#), [UInt64(AddressMap.directMapStart)])
        XCTAssertEqual(try numbers("Linker/apus.ld", #"^\s*\. = 0x([0-9A-Fa-f]+);"#), [UInt64(AddressMap.imagePhysicalBase)])
        let guestBase = try numbers("Linker/guest.ld", #"^\s*\. = 0x([0-9A-Fa-f]+);"#)
        XCTAssertEqual(guestBase.count, 1)
        XCTAssertTrue(guestBase.allSatisfy { $0 < UInt64(XenLayout.hypervisorVirtStart) })
    }
}
