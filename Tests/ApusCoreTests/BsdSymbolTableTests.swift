// Tests of the BSD symbol table the builder loads after the image when a kernel's notes say BSD_SYMTAB "yes", on synthetic ELFs.
// Every byte checked is read back from guest memory and compared with the file's tables or Xen's header layout.

import XCTest
import PVABI
@testable import ApusCore

extension DomainBuilderTests {
    /// The standard kernel asking for its symbols, with a 0x31-byte symbol table (section 1)
    /// linked to a 0x13-byte string table (section 2).
    static func symbolImage(symtabSize: Int = 0x31, link: UInt32 = 2, strtabType: UInt32 = 3) -> ElfTestImage {
        var image = ElfTestImage.standard(replacing: .bsdSymtab, with: ElfTestImage.string(.bsdSymtab, "yes"))
        image.sections = [
            ElfTestImage.Section(name: ".symtab", type: 2, data: ElfTestImage.pattern(symtabSize, seed: 0x33), link: link),
            ElfTestImage.Section(name: ".strtab", type: strtabType, data: ElfTestImage.pattern(0x13, seed: 0x44)),
        ]
        return image
    }

    func testBsdSymbolTableIsLoadedAfterTheImage() throws {
        let frames = Self.frames()
        let image = Self.symbolImage()
        let bytes = image.bytes()
        let (result, memory) = build(bytes, parameters())
        let domain = try built(result)
        let start: UInt32 = 0x10_5000  // the image (bss included) ends there, already 4-byte aligned
        XCTAssertEqual(domain.symbolTable, start)
        let symtabAt = start + 260
        let strtabAt = (symtabAt + 0x31 + 3) & ~3
        let end = (strtabAt + 0x13 + 3) & ~3
        XCTAssertEqual(domain.imageEnd, end, "the table counts in the image")
        XCTAssertEqual(domain.p2mVirtual, (end + 0xFFF) & ~0xFFF, "the next item starts on the next page")

        XCTAssertEqual(guest32(memory, frames, start), strtabAt + 0x13 - (start + 4), "size from the ELF header on")
        // The ELF header: the kernel's identification and machine, one section table of 3.
        XCTAssertEqual(guestBytes(memory, frames, start + 4, 16), Array(bytes[0..<16]))
        XCTAssertEqual(guestBytes(memory, frames, start + 4 + 18, 2), [3, 0], "e_machine")
        XCTAssertEqual(guest32(memory, frames, start + 4 + 28), 0, "e_phoff")
        XCTAssertEqual(guest32(memory, frames, start + 4 + 32), 64, "e_shoff")
        XCTAssertEqual(guestBytes(memory, frames, start + 4 + 40, 12), [52, 0, 0, 0, 0, 0, 40, 0, 3, 0, 0, 0],
                       "e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx")
        XCTAssertEqual(guestBytes(memory, frames, start + 68, 40), [UInt8](repeating: 0, count: 40), "section 0")
        let symHeader = start + 68 + 40
        let strHeader = symHeader + 40
        XCTAssertEqual(guest32(memory, frames, symHeader + 4), 2, "SHT_SYMTAB")
        XCTAssertEqual(guest32(memory, frames, symHeader + 16), 256, "sh_offset from the ELF header")
        XCTAssertEqual(guest32(memory, frames, symHeader + 20), 0x31)
        XCTAssertEqual(guest32(memory, frames, symHeader + 24), 2, "sh_link names section 2")
        XCTAssertEqual(guest32(memory, frames, strHeader + 4), 3, "SHT_STRTAB")
        XCTAssertEqual(guest32(memory, frames, strHeader + 16), strtabAt - (start + 4))
        XCTAssertEqual(guest32(memory, frames, strHeader + 20), 0x13)
        XCTAssertEqual(guestBytes(memory, frames, symtabAt, 0x31), image.sections[0].data)
        XCTAssertEqual(guestBytes(memory, frames, strtabAt, 0x13), image.sections[1].data)
        XCTAssertEqual(guestBytes(memory, frames, symtabAt + 0x31, Int(strtabAt - symtabAt - 0x31)), [0, 0, 0], "alignment")
        XCTAssertEqual(guestBytes(memory, frames, end, Int(domain.p2mVirtual - end)),
                       [UInt8](repeating: 0, count: Int(domain.p2mVirtual - end)), "the rest of the page is zero")
    }

    func testBsdSymbolTableStartsFourByteAligned() throws {
        var image = Self.symbolImage()
        image.segments[1].memSize = 0x3001  // the image ends at 0x105001
        let (result, _) = build(image.bytes(), parameters())
        XCTAssertEqual(try built(result).symbolTable, 0x10_5004)
    }

    func testBsdSymbolTableMissingIsRefused() {
        let noTable = ElfTestImage.standard(replacing: .bsdSymtab, with: ElfTestImage.string(.bsdSymtab, "yes"))
        assertRefused(noTable.bytes(), .bsdSymtabMissing)
        assertRefused(Self.symbolImage(link: 1).bytes(), .bsdSymtabMissing)
        assertRefused(Self.symbolImage(link: 40).bytes(), .bsdSymtabMissing)
        assertRefused(Self.symbolImage(strtabType: 1).bytes(), .bsdSymtabMissing)
        var hostile = Self.symbolImage().bytes()
        put32(&hostile, ElfTestImage.shdrOffset(hostile, 1) + 20, 0xFFFF_FF00)
        assertRefused(hostile, .sectionOutsideFile(index: 1))
    }

    func testWithoutTheNoteNoSymbolsAreLoaded() throws {
        var image = Self.symbolImage()
        image.notes.removeAll { $0.type == XenElfNote.bsdSymtab.rawValue }
        let (result, _) = build(image.bytes(), parameters())
        let domain = try built(result)
        XCTAssertNil(domain.symbolTable)
        XCTAssertEqual(domain.imageEnd, 0x10_5000)
    }
}
