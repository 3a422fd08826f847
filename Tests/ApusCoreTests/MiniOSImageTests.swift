// Tests the loader on Xen's own Mini-OS kernels (../shared/guests/mini-os/): notes from the SHT_NOTE section, built as a domU at virtual 0.
// The kernels are unmodified files this project did not write; a missing folder fails with a sentence, never a skip.

import Foundation
import XCTest
import PVABI
@testable import ApusCore

extension DomainBuilderTests {
    /// ../shared/guests/mini-os/ beside the package root.
    static var miniOSFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/guests/mini-os")
    }

    func miniOS(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8]? {
        let url = Self.miniOSFolder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: Self.miniOSFolder.path) else {
            XCTFail("the folder \(Self.miniOSFolder.path) (../shared/guests/mini-os/ beside the repository) is missing: "
                + "it holds Xen's Mini-OS kernels these tests load", file: file, line: line)
            return nil
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("\(url.path) is missing from ../shared/guests/mini-os/", file: file, line: line)
            return nil
        }
        return [UInt8](data)
    }

    func testMiniOSNotesComeFromItsNoteSection() throws {
        for name in ["mini-os.elf", "mini-os-test.elf"] {
            guard let bytes = miniOS(name) else { return }
            let notes = try bytes.withUnsafeBytes { buffer throws(BuildError) in
                let image = try ElfImage(buffer)
                XCTAssertTrue(image.noteSegments.isEmpty, "\(name) has no PT_NOTE")
                return try XenNotes.parse(image)
            }
            XCTAssertEqual(notes.source, .sections, name)
            XCTAssertEqual(notes.count, 5, name)
            XCTAssertEqual(notes.guestOS, Array("Mini-OS".utf8), name)
            XCTAssertEqual(notes.loader, Array("generic".utf8), name)
            XCTAssertEqual(notes.xenVersion, Array("xen-3.0".utf8), name)
            XCTAssertEqual(notes.paeMode, Array("yes".utf8), name)
            XCTAssertEqual(notes.hypercallPage, 0x2000, "\(name): an address (the note), not a page number")
            XCTAssertNil(notes.entry, name)
            XCTAssertFalse(notes.virtBaseGiven, name)
            XCTAssertEqual(notes.virtBase, 0, name)
            XCTAssertEqual(notes.paddrOffset, 0, name)
            XCTAssertTrue(notes.supportedFeatures.isEmpty, name)
            XCTAssertFalse(notes.bsdSymtab, name)
        }
    }

    /// Both kernels build as a domU with Xen's layout from virtual 0: the image at pfn 0
    /// (page 0 mapped), the hypercall page at pfn 2, then the P2M, start_info, store,
    /// console, page tables and stack, each page after the previous.
    func testMiniOSBuildsAsADomUAtVirtualZero() throws {
        let frames = Self.frames()
        // (file offset, file size, memory size) of each PT_LOAD, from readelf: text at 0, data at 0x20000 / 0x1e000.
        let expected: [String: [(vaddr: UInt32, offset: Int, fileSize: Int, memSize: Int)]] = [
            "mini-os.elf": [(0, 0x1000, 0x1f027, 0x1f027), (0x20000, 0x21000, 0x395c, 0x2db68)],
            "mini-os-test.elf": [(0, 0x1000, 0x1dac7, 0x1dac7), (0x1e000, 0x1f000, 0x393c, 0x2db88)],
        ]
        var stubs = [UInt8](repeating: 0, count: 4096)
        stubs.withUnsafeMutableBytes { HypercallPage.fill($0) }
        for name in ["mini-os.elf", "mini-os-test.elf"] {
            guard let bytes = miniOS(name) else { return }
            let (result, memory) = build(bytes, parameters(privileged: false, domU: true))
            let domain = try built(result)
            let segments = expected[name]!
            let imageEnd = segments[1].vaddr + UInt32(segments[1].memSize)
            XCTAssertEqual(domain.entry, 0, name)
            XCTAssertEqual(domain.imageStart, 0, name)
            XCTAssertEqual(domain.imageEnd, imageEnd, name)
            XCTAssertEqual(domain.hypercallPagePFN, 2, name)
            XCTAssertNil(domain.symbolTable, name)
            let p2m = (imageEnd + 0xFFF) & ~0xFFF
            XCTAssertEqual(domain.p2mVirtual, p2m, "\(name): the P2M right after the image")
            let p2mPages = UInt32((frames.count * 4 + 4095) / 4096)
            XCTAssertEqual(domain.startInfoVirtual, p2m + p2mPages * 4096, name)
            XCTAssertEqual(domain.startInfoPFN, domain.startInfoVirtual >> 12, "\(name): pfn = va with virt_base 0")
            XCTAssertEqual(domain.storePFN, domain.startInfoPFN + 1, name)
            XCTAssertEqual(domain.consolePFN, domain.startInfoPFN + 2, name)
            XCTAssertEqual(domain.l3PFN, domain.startInfoPFN + 3, name)
            XCTAssertEqual(domain.mappedEnd, 0x40_0000, name)

            // The image: text from virtual 0 (page 0 mapped and writable), data and bss.
            for segment in segments {
                XCTAssertEqual(guestBytes(memory, frames, segment.vaddr, 0x1000),
                               Array(bytes[segment.offset..<segment.offset + 0x1000]), name)
                let tail = segment.fileSize - 0x100
                XCTAssertEqual(guestBytes(memory, frames, segment.vaddr + UInt32(tail), 0x100),
                               Array(bytes[segment.offset + tail..<segment.offset + segment.fileSize]), name)
            }
            let bss = segments[1].vaddr + UInt32(segments[1].fileSize)
            let bssSize = segments[1].memSize - segments[1].fileSize
            XCTAssertEqual(guestBytes(memory, frames, bss, bssSize), [UInt8](repeating: 0, count: bssSize), "\(name): bss")
            XCTAssertEqual(l1Entry(memory, l3MFN: domain.l3MFN, 0)?.address, UInt64(frames[0]) << 12, "\(name): page 0 mapped")
            XCTAssertEqual(l1Entry(memory, l3MFN: domain.l3MFN, 0)?.flags, [.present, .writable, .accessed], name)
            XCTAssertEqual(guestBytes(memory, frames, 0x2000, 4096), stubs, "\(name): hypercall page filled")

            // start_info.
            let info = domain.startInfoVirtual
            XCTAssertEqual(guestBytes(memory, frames, info, 15), Array("xen-3.0-x86_32p".utf8), name)
            XCTAssertEqual(guest32(memory, frames, info + UInt32(StartInfoLayout.nrPages)), UInt32(frames.count), name)
            XCTAssertEqual(guest32(memory, frames, info + UInt32(StartInfoLayout.flags)), 0, "\(name): a domU")
            XCTAssertEqual(guest32(memory, frames, info + UInt32(StartInfoLayout.storeMFN)), frames[Int(domain.storePFN!)], name)
            XCTAssertEqual(guest32(memory, frames, info + UInt32(StartInfoLayout.consoleMFN)), frames[Int(domain.consolePFN!)], name)
            XCTAssertEqual(guest32(memory, frames, info + UInt32(StartInfoLayout.ptBase)), domain.l3PFN << 12, name)
            XCTAssertEqual(guest32(memory, frames, info + UInt32(StartInfoLayout.mfnList)), p2m, name)
            XCTAssertEqual(guest32(memory, frames, p2m + 4 * 5), frames[5], "\(name): P2M entry 5")
        }
    }
}
