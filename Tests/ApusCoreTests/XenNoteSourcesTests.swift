// Tests of where the note reader finds a kernel's Xen notes (PT_NOTE, else SHT_NOTE, else __xen_guest) and of hostile section tables.
// Each case builds its own image bytes; a refusal is checked for its exact BuildError, and no input may trap the reader.

import XCTest
import PVABI
@testable import ApusCore

final class XenNoteSourcesTests: XCTestCase {
    func parse(_ bytes: [UInt8]) -> Result<XenGuestNotes, BuildError> {
        bytes.withUnsafeBytes { buffer in
            do throws(BuildError) {
                return .success(try XenNotes.parse(try ElfImage(buffer)))
            } catch {
                return .failure(error)
            }
        }
    }

    func refusal(_ bytes: [UInt8]) -> BuildError? {
        if case .failure(let error) = parse(bytes) { return error }
        return nil
    }

    /// The standard image with its notes moved from the PT_NOTE to an SHT_NOTE section.
    func sectionOnly(_ notes: [ElfTestImage.Note] = ElfTestImage.standardNotes()) -> ElfTestImage {
        var image = ElfTestImage.standard()
        image.notes = []
        image.sectionNotes = notes
        return image
    }

    func guestInfo(_ text: String, nul: Bool = true) -> ElfTestImage {
        var image = ElfTestImage.standard()
        image.notes = []
        image.sections = [ElfTestImage.Section(name: "__xen_guest", type: 1, data: Array(text.utf8) + (nul ? [0] : []))]
        return image
    }

    // MARK: - Precedence

    func testNotesFromSectionWhenNoPTNote() throws {
        let notes = try parse(sectionOnly().bytes()).get()
        XCTAssertEqual(notes.source, .sections)
        XCTAssertEqual(notes.guestOS, Array("Apus-test".utf8))
        XCTAssertEqual(notes.hypercallPage, ElfTestImage.hypercallPage)
        XCTAssertEqual(notes.entry, ElfTestImage.entryPoint)
        XCTAssertEqual(notes.paeMode, Array("yes".utf8))
        XCTAssertEqual(notes.count, ElfTestImage.standardNotes().count)
    }

    func testPTNoteWinsOverSection() throws {
        var image = ElfTestImage.standard()
        image.sectionNotes = [ElfTestImage.string(.guestOS, "from-section"), ElfTestImage.numeric(.hypercallPage, 0x10_0000)]
        let notes = try parse(image.bytes()).get()
        XCTAssertEqual(notes.source, .segments)
        XCTAssertEqual(notes.guestOS, Array("Apus-test".utf8))
        XCTAssertEqual(notes.hypercallPage, ElfTestImage.hypercallPage)
    }

    func testPTNoteWithoutXenNotesFallsBackToSection() throws {
        var image = sectionOnly()
        image.notes = [ElfTestImage.Note(name: Array("GNU\0".utf8), type: 3, desc: [1, 2, 3, 4])]
        let notes = try parse(image.bytes()).get()
        XCTAssertEqual(notes.source, .sections)
        XCTAssertEqual(notes.guestOS, Array("Apus-test".utf8))
    }

    func testSectionWinsOverGuestInfo() throws {
        var image = sectionOnly()
        image.sections = [ElfTestImage.Section(name: "__xen_guest", type: 1, data: Array("GUEST_OS=old,PAE=yes\0".utf8))]
        let notes = try parse(image.bytes()).get()
        XCTAssertEqual(notes.source, .sections)
        XCTAssertEqual(notes.guestOS, Array("Apus-test".utf8))
    }

    func testNoNotesAnywhere() {
        var image = ElfTestImage.standard()
        image.notes = []
        XCTAssertEqual(refusal(image.bytes()), .noXenNotes)
        image.sections = [ElfTestImage.Section(name: "__xen_guesT", type: 1, data: Array("PAE=yes\0".utf8))]
        XCTAssertEqual(refusal(image.bytes()), .noXenNotes, "the name must match exactly")
    }

    // MARK: - __xen_guest

    func testGuestInfoValues() throws {
        let text = "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,LOADER=generic,"
            + "HYPERCALL_PAGE=0x12,PAE=yes[extended-cr3],FEATURES=!writable_page_tables|pae_pgdir_above_4gb,VIRT_ENTRY=0xC0100000"
        let notes = try parse(guestInfo(text).bytes()).get()
        XCTAssertEqual(notes.source, .guestInfo)
        XCTAssertEqual(notes.guestOS, Array("linux".utf8))
        XCTAssertEqual(notes.guestVersion, Array("2.6".utf8))
        XCTAssertEqual(notes.xenVersion, Array("xen-3.0".utf8))
        XCTAssertEqual(notes.loader, Array("generic".utf8))
        XCTAssertEqual(notes.virtBase, 0xC000_0000)
        XCTAssertEqual(notes.paddrOffset, 0xC000_0000, "ELF_PADDR_OFFSET defaults to VIRT_BASE for __xen_guest")
        XCTAssertEqual(notes.hypercallPage, 0xC001_2000, "a page number counted from VIRT_BASE")
        XCTAssertEqual(notes.entry, 0xC010_0000)
        XCTAssertEqual(notes.paeMode, Array("yes[extended-cr3]".utf8))
        XCTAssertEqual(notes.requiredFeatures, [Array("writable_page_tables".utf8)])
        XCTAssertFalse(notes.bsdSymtab)
    }

    func testGuestInfoNumbersAndModes() throws {
        let notes = try parse(guestInfo("VIRT_BASE=010000,ELF_PADDR_OFFSET=4096,HYPERCALL_PAGE=2,PAE=yesplease,BSD_SYMTAB").bytes()).get()
        XCTAssertEqual(notes.virtBase, 0o10000, "a leading 0 is octal")
        XCTAssertEqual(notes.paddrOffset, 4096)
        XCTAssertEqual(notes.hypercallPage, 0o10000 + 0x2000)
        XCTAssertEqual(notes.paeMode, Array("yes".utf8), "anything starting yes is yes")
        XCTAssertTrue(notes.bsdSymtab, "BSD_SYMTAB needs no value")
        // Without VIRT_BASE the page number counts from 0; bimodal is not a __xen_guest PAE value.
        let other = try parse(guestInfo("HYPERCALL_PAGE=0x3,PAE=bimodal,XEN_VER=xen-3.0", nul: false).bytes()).get()
        XCTAssertEqual(other.hypercallPage, 0x3000)
        XCTAssertNil(other.paeMode)
        XCTAssertEqual(other.xenVersion, Array("xen-3.0".utf8), "the section's end ends the string")
        XCTAssertEqual(other.virtBase, 0)
        XCTAssertEqual(other.paddrOffset, 0)
    }

    func testGuestInfoLongNamesAndValuesAreCut() throws {
        // A 40-byte name is cut at 31; the rest is read as the next pair's name.
        let long = String(repeating: "A", count: 40)
        let notes = try parse(guestInfo("\(long)=x,GUEST_OS=\(String(repeating: "b", count: 200)),LOADER=generic").bytes()).get()
        XCTAssertEqual(notes.guestOS.count, 127)
        XCTAssertEqual(notes.guestOS, [UInt8](repeating: 0x62, count: 127))
        XCTAssertEqual(notes.loader, Array("generic".utf8), "the cut-off rest is read as names until the next comma")
    }

    func testGuestInfoNumbersPast32BitsAreRefused() {
        XCTAssertEqual(refusal(guestInfo("VIRT_BASE=0x100000000").bytes()), .malformedGuestInfo)
        XCTAssertEqual(refusal(guestInfo("VIRT_BASE=99999999999999999999999999").bytes()), .malformedGuestInfo)
        XCTAssertEqual(refusal(guestInfo("HYPERCALL_PAGE=0x100000").bytes()), .malformedGuestInfo)
        XCTAssertEqual(refusal(guestInfo("VIRT_BASE=0xFFFFF000,HYPERCALL_PAGE=0x1").bytes()), .malformedGuestInfo)
    }

    func testPaddrOffsetWithoutVirtBaseIsRefused() {
        XCTAssertEqual(refusal(guestInfo("ELF_PADDR_OFFSET=0x1000,PAE=yes").bytes()), .paddrOffsetWithoutVirtBase)
        let image = ElfTestImage.standard(replacing: .virtBase, with: nil)
        XCTAssertEqual(refusal(image.bytes()), .paddrOffsetWithoutVirtBase)
    }

    // MARK: - Xen's loader and version gate

    func checked(_ image: ElfTestImage) -> BuildError? {
        guard case .success(let notes) = parse(image.bytes()) else { return nil }
        do throws(BuildError) {
            try XenNotes.check(notes)
            return nil
        } catch {
            return error
        }
    }

    func testLoaderAndXenVersionGate() {
        XCTAssertNil(checked(ElfTestImage.standard()))
        XCTAssertEqual(checked(ElfTestImage.standard(replacing: .loader, with: nil)), .loaderUnsupported)
        XCTAssertEqual(checked(ElfTestImage.standard(replacing: .loader, with: ElfTestImage.string(.loader, "elfboot"))), .loaderUnsupported)
        var linux = ElfTestImage.standard(replacing: .loader, with: nil)
        linux.notes.removeAll { $0.type == XenElfNote.guestOS.rawValue }
        linux.notes.append(ElfTestImage.string(.guestOS, "linux-2.6"))
        XCTAssertNil(checked(linux), "a Linux guest needs no LOADER")
        XCTAssertNil(checked(ElfTestImage.standard(replacing: .loader, with: ElfTestImage.string(.loader, "generic-x"))))
        XCTAssertEqual(checked(ElfTestImage.standard(replacing: .xenVersion, with: nil)), .xenVersionUnsupported([]))
        XCTAssertEqual(checked(ElfTestImage.standard(replacing: .xenVersion, with: ElfTestImage.string(.xenVersion, "xen-2.0"))),
                       .xenVersionUnsupported(Array("xen-2.0".utf8)))
    }

    // MARK: - Hostile section tables

    func testHostileSectionTablesAreRefused() {
        let good = sectionOnly().bytes()
        func patched(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var bytes = good
            edit(&bytes)
            return bytes
        }
        let noteHeader = ElfTestImage.shdrOffset(good, 1)
        XCTAssertEqual(refusal(patched { put32(&$0, 32, UInt32($0.count - 40)) }), .badSectionHeaders, "table runs past the file")
        XCTAssertEqual(refusal(patched { put32(&$0, 32, 0xFFFF_FFF0) }), .badSectionHeaders, "table offset near 4 GiB")
        XCTAssertEqual(refusal(patched { put16(&$0, 48, 0xFFFF) }), .badSectionHeaders, "count past the file")
        XCTAssertEqual(refusal(patched { put16(&$0, 46, 39) }), .badSectionHeaders, "entries smaller than 40 bytes")
        XCTAssertEqual(refusal(patched { put32(&$0, 32, 20) }), .badSectionHeaders, "table overlapping the ELF header")
        XCTAssertEqual(refusal(patched { put32(&$0, 32, 60) }), .badSectionHeaders, "table overlapping the program headers")
        XCTAssertEqual(refusal(patched { put32(&$0, noteHeader + 16, 0xFFFF_FFF0) }), .sectionOutsideFile(index: 1))
        XCTAssertEqual(refusal(patched { put32(&$0, noteHeader + 20, 0xFFFF_FFFF) }), .sectionOutsideFile(index: 1))
        XCTAssertEqual(refusal(patched { put32(&$0, noteHeader + 20, 13) }), .malformedNote(segment: 1), "a note cut short")
        XCTAssertEqual(refusal(patched { put32(&$0, noteHeader + 4, 8) }), .noXenNotes, "a NOBITS note section has no notes")
        // No table at all, or a name table index out of range: simply no notes.
        XCTAssertEqual(refusal(patched { put16(&$0, 48, 0) }), .noXenNotes)
        var info = guestInfo("PAE=yes").bytes()
        put16(&info, 50, 0x7FFF)
        XCTAssertEqual(refusal(info), .noXenNotes)
        info = guestInfo("PAE=yes").bytes()
        put32(&info, ElfTestImage.shdrOffset(info, 1), 0xFFFF_FFFF)
        XCTAssertEqual(refusal(info), .noXenNotes, "a name offset past the name table")
    }

    func testBrokenSectionTableIsNotReadWhenPTNoteHasNotes() throws {
        var bytes = ElfTestImage.standard().bytes()
        put32(&bytes, 32, 0xFFFF_FFF0)
        put16(&bytes, 46, 40)
        put16(&bytes, 48, 3)
        XCTAssertEqual(try parse(bytes).get().source, .segments)
    }

    /// Random corruption of an image whose notes live in sections and a __xen_guest string:
    /// every result is a parse or a refusal, never a trap (the run itself is the check).
    func testCorruptedSectionImagesNeverTrap() {
        var image = sectionOnly()
        image.sectionNotes = []
        image.sections = [ElfTestImage.Section(name: "__xen_guest", type: 1, data: Array("VIRT_BASE=0x1000,HYPERCALL_PAGE=0x2,PAE=yes\0".utf8))]
        let seeds = [image.bytes(), sectionOnly().bytes()]
        var random = SplitMix64(seed: 0x10AD)
        var outcomes = [0, 0]
        for round in 0..<20_000 {
            var bytes = seeds[round % 2]
            for _ in 0..<1 + Int(random.next() % 6) {
                let at = Int(random.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: random.next())
            }
            if round % 7 == 0 { bytes.removeLast(Int(random.next() % UInt64(bytes.count))) }
            switch parse(bytes) {
            case .success: outcomes[0] += 1
            case .failure: outcomes[1] += 1
            }
        }
        XCTAssertGreaterThan(outcomes[0], 0)
        XCTAssertGreaterThan(outcomes[1], 0)
    }
}
