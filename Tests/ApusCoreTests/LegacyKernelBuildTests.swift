// Tests that the builder places an old kernel described only by its __xen_guest string where Xen does.
// Old kernels put the virtual address in p_paddr; ELF_PADDR_OFFSET then defaults to VIRT_BASE so nothing is added twice.

import XCTest
import PVABI
@testable import ApusCore

extension DomainBuilderTests {
    func testLegacyGuestInfoKernelAboveVirtBase() throws {
        let base: UInt32 = 0xC000_0000
        var image = ElfTestImage.standard()
        image.entry = base + ElfTestImage.entryPoint
        for k in image.segments.indices { image.segments[k].vaddr += base }  // p_paddr = p_vaddr
        image.notes = []
        image.sections = [ElfTestImage.Section(
            name: "__xen_guest", type: 1,
            data: Array("GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,HYPERCALL_PAGE=0x101,PAE=yes[extended-cr3],LOADER=generic\0".utf8))]
        let frames = Self.frames()
        let (result, memory) = build(image.bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(domain.notes.source, .guestInfo)
        XCTAssertEqual(domain.entry, base + ElfTestImage.entryPoint)
        XCTAssertEqual(domain.imageStart, base + ElfTestImage.textStart)
        XCTAssertEqual(domain.hypercallPagePFN, 0x101, "page 0x101 from VIRT_BASE")
        XCTAssertEqual(guestBytes(memory, frames, virtBase: base, base + 0x10_2000, 0x180), image.segments[1].data)
    }
}
