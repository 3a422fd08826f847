// Tests of the Xen ELF note reader: numeric and string notes, FEATURES parsing, PAE mode and feature checks.
// Each check is against what the note bytes say, never against the reader's own constants.

import XCTest
import PVABI
@testable import ApusCore

final class XenNotesTests: XCTestCase {
    func notes(_ image: ElfTestImage) -> Result<XenGuestNotes, BuildError> {
        image.bytes().withUnsafeBytes { buffer in
            do throws(BuildError) {
                return .success(try XenNotes.parse(try ElfImage(buffer)))
            } catch {
                return .failure(error)
            }
        }
    }

    func checkError(_ image: ElfTestImage) -> BuildError? {
        guard case .success(let parsed) = notes(image) else { return nil }
        do throws(BuildError) {
            try XenNotes.check(parsed)
            return nil
        } catch {
            return error
        }
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testStandardNotes() throws {
        let parsed = try notes(ElfTestImage.standard()).get()
        XCTAssertEqual(parsed.entry, ElfTestImage.entryPoint)
        XCTAssertEqual(parsed.hypercallPage, ElfTestImage.hypercallPage)
        XCTAssertEqual(parsed.virtBase, 0)
        XCTAssertEqual(parsed.paddrOffset, 0)
        XCTAssertEqual(parsed.guestOS, bytes("Apus-test"))
        XCTAssertEqual(parsed.guestVersion, bytes("0.1"))
        XCTAssertEqual(parsed.xenVersion, bytes("xen-3.0"))
        XCTAssertEqual(parsed.loader, bytes("generic"))
        XCTAssertEqual(parsed.paeMode, bytes("yes"))
        XCTAssertEqual(parsed.supportedFeatures, [bytes("writable_page_tables"), bytes("pae_pgdir_above_4gb")])
        XCTAssertEqual(parsed.requiredFeatures, [bytes("writable_page_tables")])
        XCTAssertFalse(parsed.bsdSymtab)
        XCTAssertEqual(parsed.count, 10)
        XCTAssertNil(checkError(ElfTestImage.standard()))
    }

    func testAbsentNotesTakeTheirDefaults() throws {
        var image = ElfTestImage.standard()
        image.notes = [ElfTestImage.string(.paeMode, "yes")]
        let parsed = try notes(image).get()
        XCTAssertNil(parsed.entry)
        XCTAssertNil(parsed.hypercallPage)
        XCTAssertEqual(parsed.virtBase, 0)
        XCTAssertEqual(parsed.paddrOffset, 0)
        XCTAssertEqual(parsed.guestOS, [])
        XCTAssertEqual(parsed.supportedFeatures, [])
    }

    func testEightByteNumericNotes() throws {
        let image = ElfTestImage.standard(replacing: .virtBase, with: ElfTestImage.numeric64(.virtBase, 0xC000_0000))
        XCTAssertEqual(try notes(image).get().virtBase, 0xC000_0000)
    }

    func testNumericNotesMustFit32Bits() {
        let image = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric64(.entry, 0x1_0000_0000))
        XCTAssertEqual(notes(image).failure, .malformedNote(segment: 2))
    }

    func testNumericNotesMustBe4Or8Bytes() {
        let image = ElfTestImage.standard(
            replacing: .hypercallPage, with: ElfTestImage.Note(type: XenElfNote.hypercallPage.rawValue, desc: [0, 0x10]))
        XCTAssertEqual(notes(image).failure, .malformedNote(segment: 2))
    }

    func testANoteRunningPastItsSegmentIsRefused() {
        var bytes = ElfTestImage.standard().bytes()
        // The first note's descsz, in the PT_NOTE's file bytes.
        let phdr = ElfTestImage.phdrOffset(2)
        let noteOffset = Int(bytes[phdr + 4]) | Int(bytes[phdr + 5]) << 8 | Int(bytes[phdr + 6]) << 16
        put32(&bytes, noteOffset + 4, 0xFFFF_FFF0)
        let result = bytes.withUnsafeBytes { buffer -> BuildError? in
            do throws(BuildError) {
                _ = try XenNotes.parse(try ElfImage(buffer))
                return nil
            } catch {
                return error
            }
        }
        XCTAssertEqual(result, .malformedNote(segment: 2))
    }

    func testNotesOfOtherOwnersAreSkipped() throws {
        var image = ElfTestImage.standard()
        let gnu = ElfTestImage.Note(name: Array("GNU".utf8) + [0], type: 3, desc: [1, 2, 3, 4, 5, 6, 7, 8])
        let xenLookalike = ElfTestImage.Note(name: Array("XenX".utf8), type: 1, desc: [0, 0, 0, 0])
        image.notes.insert(gnu, at: 0)
        image.notes.append(xenLookalike)
        let parsed = try notes(image).get()
        XCTAssertEqual(parsed.count, 10)
        XCTAssertEqual(parsed.entry, ElfTestImage.entryPoint)

        image.notes = [gnu]
        XCTAssertEqual(notes(image).failure, .noXenNotes)
    }

    func testOwnerNameWithoutNulIsAccepted() throws {
        var image = ElfTestImage.standard()
        image.notes = [ElfTestImage.Note(name: Array("Xen".utf8), type: XenElfNote.paeMode.rawValue, desc: Array("yes".utf8))]
        XCTAssertEqual(try notes(image).get().paeMode, bytes("yes"))
    }

    func testNoNoteSegmentMeansNoXenNotes() {
        var image = ElfTestImage.standard()
        image.notes = []
        XCTAssertEqual(notes(image).failure, .noXenNotes)
    }

    func testFeatureListParsing() throws {
        let image = ElfTestImage.standard(
            replacing: .features,
            with: ElfTestImage.string(.features, "writable_descriptor_tables||!pae_pgdir_above_4gb|!writable_page_tables|"))
        let parsed = try notes(image).get()
        XCTAssertEqual(parsed.supportedFeatures, [bytes("writable_descriptor_tables"), bytes("pae_pgdir_above_4gb"), bytes("writable_page_tables")])
        XCTAssertEqual(parsed.requiredFeatures, [bytes("pae_pgdir_above_4gb"), bytes("writable_page_tables")])
        XCTAssertNil(checkError(image))
    }

    func testSupportedButLackingFeaturesAreAccepted() {
        let image = ElfTestImage.standard(
            replacing: .features, with: ElfTestImage.string(.features, "!writable_page_tables|auto_translated_physmap|dom0"))
        XCTAssertNil(checkError(image))
    }

    func testRequiringALackingFeatureIsRefusedByName() {
        for name in ["auto_translated_physmap", "supervisor_mode_kernel", "hvm_callback_vector", "dom0", "made_up"] {
            let image = ElfTestImage.standard(
                replacing: .features, with: ElfTestImage.string(.features, "!writable_page_tables|!\(name)"))
            XCTAssertEqual(checkError(image), .requiredFeatureMissing(bytes(name)), name)
        }
    }

    func testPAEModes() {
        for accepted in ["yes", "yes[extended-cr3]", "bimodal", "bimodal[extended-cr3]"] {
            let image = ElfTestImage.standard(replacing: .paeMode, with: ElfTestImage.string(.paeMode, accepted))
            XCTAssertNil(checkError(image), accepted)
        }
        for refused in ["no", "", "YES", "yess"] {
            let image = ElfTestImage.standard(replacing: .paeMode, with: ElfTestImage.string(.paeMode, refused))
            XCTAssertEqual(checkError(image), .paeModeUnsupported(bytes(refused)), refused)
        }
        let missing = ElfTestImage.standard(replacing: .paeMode, with: nil)
        XCTAssertEqual(checkError(missing), .paeModeMissing)
    }

    func testBSDSymtab() throws {
        let image = ElfTestImage.standard(replacing: .bsdSymtab, with: ElfTestImage.string(.bsdSymtab, "yes"))
        XCTAssertTrue(try notes(image).get().bsdSymtab)
        let no = ElfTestImage.standard(replacing: .bsdSymtab, with: ElfTestImage.string(.bsdSymtab, "no"))
        XCTAssertFalse(try notes(no).get().bsdSymtab)
    }

    func testNoteNumbersMatchElfnoteH() {
        XCTAssertEqual(XenElfNote.entry.rawValue, 1)
        XCTAssertEqual(XenElfNote.hypercallPage.rawValue, 2)
        XCTAssertEqual(XenElfNote.virtBase.rawValue, 3)
        XCTAssertEqual(XenElfNote.paddrOffset.rawValue, 4)
        XCTAssertEqual(XenElfNote.xenVersion.rawValue, 5)
        XCTAssertEqual(XenElfNote.guestOS.rawValue, 6)
        XCTAssertEqual(XenElfNote.guestVersion.rawValue, 7)
        XCTAssertEqual(XenElfNote.loader.rawValue, 8)
        XCTAssertEqual(XenElfNote.paeMode.rawValue, 9)
        XCTAssertEqual(XenElfNote.features.rawValue, 10)
        XCTAssertEqual(XenElfNote.bsdSymtab.rawValue, 11)
        XCTAssertEqual(XenElfNote.supportedFeatures.rawValue, 17)
        XCTAssertEqual(XenElfNote.phys32Entry.rawValue, 18)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
