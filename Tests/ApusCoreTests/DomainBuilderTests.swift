// Tests of the PV domain builder against a fake machine memory: start_info, P2M, page tables, image, initrd, domU rings,
// and one test per refusal showing the exact BuildError and that nothing at all was written.

import Foundation
import XCTest
import PVABI
@testable import ApusCore

final class DomainBuilderTests: XCTestCase {
    static let nrPages = 2000
    static let firstMFN = 0x200
    static let machinePages = firstMFN + nrPages + 16
    static let sharedInfoMFN: UInt32 = 0x10
    static let hypervisorEntries: [UInt64] = (0..<84).map { 0x8000_0000_0000_0063 | UInt64(0x300 + $0) << 12 }

    /// pfn -> mfn, reversed so that neither pfn order nor pfn values carry over to machine frames.
    static func frames(_ count: Int = nrPages) -> [UInt32] {
        (0..<count).map { UInt32(firstMFN + count - 1 - $0) }
    }

    func parameters(
        privileged: Bool = true, frames: [UInt32] = DomainBuilderTests.frames(), commandLine: String = "console=com1",
        domU: Bool = false
    ) -> BuildParameters {
        BuildParameters(
            domainID: privileged ? 0 : 1, privileged: privileged, frames: frames,
            sharedInfoMFN: DomainBuilderTests.sharedInfoMFN, commandLine: Array(commandLine.utf8),
            needsStoreAndConsolePages: domU, storeEvtchn: domU ? 1 : 0, consoleEvtchn: domU ? 2 : 0,
            hypervisorL2Entries: DomainBuilderTests.hypervisorEntries)
    }

    func build(
        _ image: [UInt8], _ parameters: BuildParameters, initrd: [UInt8]? = nil,
        memory: BuilderFakeMemory = BuilderFakeMemory(pages: DomainBuilderTests.machinePages)
    ) -> (DomainBuildResult, BuilderFakeMemory) {
        var memory = memory
        var parameters = parameters
        let result = image.withUnsafeBytes { imageBytes in
            (initrd ?? []).withUnsafeBytes { initrdBytes in
                parameters.initrd = initrd == nil ? nil : initrdBytes
                return DomainBuilder.build(image: imageBytes, parameters: parameters, memory: &memory)
            }
        }
        return (result, memory)
    }

    func built(_ result: DomainBuildResult, file: StaticString = #filePath, line: UInt = #line) throws -> BuiltDomain {
        guard case .built(let domain) = result else {
            XCTFail("refused: \(result)", file: file, line: line)
            throw XCTSkip("build refused")
        }
        return domain
    }

    /// Guest bytes read through the frame list (not through the page tables).
    func guestBytes(_ memory: BuilderFakeMemory, _ frames: [UInt32], virtBase: UInt32 = 0, _ va: UInt32, _ count: Int) -> [UInt8] {
        (0..<count).map { k in
            let at = va + UInt32(k) - virtBase
            return memory.load8(UInt64(frames[Int(at >> 12)]) << 12 | UInt64(at & 0xFFF))!
        }
    }

    func guest32(_ memory: BuilderFakeMemory, _ frames: [UInt32], virtBase: UInt32 = 0, _ va: UInt32) -> UInt32 {
        let b = guestBytes(memory, frames, virtBase: virtBase, va, 4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    /// The L1 entry mapping `va`, walking the built tables from the L3's machine frame.
    func l1Entry(_ memory: BuilderFakeMemory, l3MFN: UInt32, _ va: UInt32) -> PageTableEntry? {
        let l3 = PageTableEntry(raw: memory.load64(UInt64(l3MFN) << 12 + UInt64(PAE.l3Index(va) * 8))!)
        guard l3.isPresent else { return nil }
        let l2 = PageTableEntry(raw: memory.load64(l3.address + UInt64(PAE.l2Index(va) * 8))!)
        guard l2.isPresent else { return nil }
        let l1 = PageTableEntry(raw: memory.load64(l2.address + UInt64(PAE.l1Index(va) * 8))!)
        return l1.isPresent ? l1 : nil
    }

    // MARK: - A good dom0

    func testGoodImageBuilds() throws {
        let frames = Self.frames()
        let (result, _) = build(ElfTestImage.standard().bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(domain.entry, ElfTestImage.entryPoint)
        XCTAssertEqual(domain.imageStart, 0x10_0000)
        XCTAssertEqual(domain.imageEnd, 0x10_5000)
        XCTAssertEqual(domain.p2mVirtual, 0x10_5000)
        XCTAssertNil(domain.initrdVirtual)
        XCTAssertEqual(domain.startInfoVirtual, 0x10_7000)
        XCTAssertEqual(domain.startInfoPFN, 0x107)
        XCTAssertEqual(domain.l3PFN, 0x108)
        XCTAssertEqual(domain.l3MFN, frames[0x108])
        XCTAssertEqual(domain.cr3, frames[0x108] << 12)
        XCTAssertEqual(domain.pageTables.map(\.level), [3, 2, 2, 1, 1])
        XCTAssertEqual(domain.pageTables.map(\.pfn), [0x108, 0x109, 0x10A, 0x10B, 0x10C])
        XCTAssertEqual(domain.pageTables.map(\.mfn), [0x108, 0x109, 0x10A, 0x10B, 0x10C].map { frames[$0] })
        XCTAssertEqual(domain.nrPtFrames, 5)
        XCTAssertEqual(domain.stackTop, 0x10_E000)
        XCTAssertEqual(domain.mappedEnd, 0x40_0000)
        XCTAssertEqual(domain.hypercallPagePFN, 0x101)
        XCTAssertNil(domain.storePFN)
        XCTAssertNil(domain.consolePFN)
        XCTAssertEqual(domain.notes.guestOS, Array("Apus-test".utf8))
    }

    func testStartInfoFields() throws {
        let frames = Self.frames()
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters(commandLine: "console=com1 quiet"))
        let domain = try built(result)
        let page = guestBytes(memory, frames, domain.startInfoVirtual, 4096)
        func field(_ offset: Int) -> UInt32 {
            UInt32(page[offset]) | UInt32(page[offset + 1]) << 8 | UInt32(page[offset + 2]) << 16 | UInt32(page[offset + 3]) << 24
        }
        XCTAssertEqual(Array(page[0..<32]), Array("xen-3.0-x86_32p".utf8) + [UInt8](repeating: 0, count: 17))
        XCTAssertEqual(field(32), 2000, "nr_pages")
        XCTAssertEqual(field(36), 0x10_000, "shared_info is a machine address")
        XCTAssertEqual(field(40), 3, "SIF_PRIVILEGED | SIF_INITDOMAIN")
        XCTAssertEqual(field(44), 0, "store_mfn")
        XCTAssertEqual(field(48), 0, "store_evtchn")
        XCTAssertEqual(field(52), 0, "console mfn")
        XCTAssertEqual(field(56), 0, "console evtchn")
        XCTAssertEqual(field(60), 0x10_8000, "pt_base")
        XCTAssertEqual(field(64), 5, "nr_pt_frames")
        XCTAssertEqual(field(68), 0x10_5000, "mfn_list")
        XCTAssertEqual(field(72), 0, "mod_start")
        XCTAssertEqual(field(76), 0, "mod_len")
        let command = Array("console=com1 quiet".utf8)
        XCTAssertEqual(Array(page[80..<80 + command.count]), command)
        XCTAssertTrue(page[(80 + command.count)...].allSatisfy { $0 == 0 }, "NUL-terminated, the rest of the page zero")
    }

    func testP2MListsEveryFrame() throws {
        let frames = Self.frames()
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters())
        let domain = try built(result)
        for pfn in 0..<frames.count {
            XCTAssertEqual(guest32(memory, frames, domain.p2mVirtual + UInt32(pfn * 4)), frames[pfn], "pfn \(pfn)")
        }
        let tail = guestBytes(memory, frames, domain.p2mVirtual + 8000, 192)
        XCTAssertEqual(tail, [UInt8](repeating: 0, count: 192), "the rest of the last P2M page is zero")
    }

    func testPageTablesMapEveryPageOfTheMapping() throws {
        let frames = Self.frames()
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters())
        let domain = try built(result)
        let tables = UInt32(0x10_8000)..<UInt32(0x10_D000)
        var va: UInt32 = 0
        while va < domain.mappedEnd {
            guard let entry = l1Entry(memory, l3MFN: domain.l3MFN, va) else {
                XCTFail("va \(va) not mapped")
                return
            }
            XCTAssertEqual(entry.frame, UInt64(frames[Int(va >> 12)]), "va \(va)")
            let expected: PTEFlags = tables.contains(va) ? [.present, .accessed] : [.present, .writable, .accessed]
            XCTAssertEqual(entry.flags, expected, "va \(va)")
            va += 4096
        }
        // Nothing past the mapping, up to the end of the L2 that maps it.
        for index in PAE.l2Index(domain.mappedEnd)..<512 {
            let l2 = memory.load64(UInt64(domain.pageTables[1].mfn) << 12 + UInt64(index * 8))
            XCTAssertEqual(l2, 0, "slot 0 L2 entry \(index)")
        }
    }

    func testTableEntriesFlagsAndTheHypervisorSlot() throws {
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters())
        let domain = try built(result)
        let l3 = UInt64(domain.l3MFN) << 12
        let upper: PTEFlags = [.present, .writable, .accessed, .dirty, .user]
        XCTAssertEqual(memory.load64(l3), PageTableEntry(frame: UInt64(domain.pageTables[1].mfn), flags: upper).raw)
        XCTAssertEqual(memory.load64(l3 + 8), 0)
        XCTAssertEqual(memory.load64(l3 + 16), 0)
        XCTAssertEqual(memory.load64(l3 + 24), PageTableEntry(frame: UInt64(domain.pageTables[2].mfn), flags: upper).raw)
        for index in 4..<512 { XCTAssertEqual(memory.load64(l3 + UInt64(index * 8)), 0) }

        let slot0 = UInt64(domain.pageTables[1].mfn) << 12
        XCTAssertEqual(memory.load64(slot0), PageTableEntry(frame: UInt64(domain.pageTables[3].mfn), flags: upper).raw)
        XCTAssertEqual(memory.load64(slot0 + 8), PageTableEntry(frame: UInt64(domain.pageTables[4].mfn), flags: upper).raw)

        let slot3 = UInt64(domain.pageTables[2].mfn) << 12
        for index in 0..<428 { XCTAssertEqual(memory.load64(slot3 + UInt64(index * 8)), 0, "slot 3 L2 entry \(index)") }
        for index in 428..<512 {
            XCTAssertEqual(memory.load64(slot3 + UInt64(index * 8)), Self.hypervisorEntries[index - 428], "slot 3 L2 entry \(index)")
        }
    }

    func testMappingEndsOnA4MiBBoundaryWithPaddingAfterTheStack() throws {
        let (result, _) = build(ElfTestImage.standard().bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(domain.mappedEnd % (4 << 20), 0)
        XCTAssertGreaterThanOrEqual(domain.mappedEnd - domain.stackTop, 512 * 1024)
    }

    func testImageBssAndHypercallPage() throws {
        let frames = Self.frames()
        let image = ElfTestImage.standard()
        let (result, memory) = build(image.bytes(), parameters())
        _ = try built(result)
        let text = image.segments[0].data
        XCTAssertEqual(guestBytes(memory, frames, 0x10_0000, 0x1000), Array(text[0..<0x1000]))
        var stubs = [UInt8](repeating: 0, count: 4096)
        stubs.withUnsafeMutableBytes { HypercallPage.fill($0) }
        XCTAssertEqual(guestBytes(memory, frames, ElfTestImage.hypercallPage, 4096), stubs)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_2000, 0x180), image.segments[1].data)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_2180, 0x3000 - 0x180), [UInt8](repeating: 0, count: 0x3000 - 0x180), "bss")
    }

    func testGapsInTheImageAreZeroed() throws {
        let frames = Self.frames()
        var image = ElfTestImage.standard()
        image.segments[0].vaddr = 0x10_0100  // starts inside its page
        image.segments[0].data = Array(image.segments[0].data[0..<0x1000])
        image.entry = 0x10_0200
        image.notes = ElfTestImage.standardNotes().filter {
            $0.type != XenElfNote.entry.rawValue && $0.type != XenElfNote.hypercallPage.rawValue
        }
        let (result, memory) = build(image.bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(domain.imageStart, 0x10_0100)
        XCTAssertNil(domain.hypercallPagePFN)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_0000, 0x100), [UInt8](repeating: 0, count: 0x100))
        XCTAssertEqual(guestBytes(memory, frames, 0x10_1100, 0xF00), [UInt8](repeating: 0, count: 0xF00))
    }

    func testStackIsZeroedAndUnusedPagesAreUntouched() throws {
        let frames = Self.frames()
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(guestBytes(memory, frames, domain.stackTop - 4096, 4096), [UInt8](repeating: 0, count: 4096))
        // Below the image, the padding after the stack and the pages past the mapping are the caller's.
        for pfn in [0, 0xFF, Int(domain.stackTop >> 12), 0x3FF, 0x400, frames.count - 1] {
            XCTAssertEqual(memory.read(UInt64(frames[pfn]) << 12, 4096), [UInt8](repeating: 0xA5, count: 4096), "pfn \(pfn)")
        }
        XCTAssertEqual(memory.read(UInt64(Self.sharedInfoMFN) << 12, 4096), [UInt8](repeating: 0xA5, count: 4096))
    }

    func testEntryFallsBackToTheElfEntry() throws {
        var image = ElfTestImage.standard(replacing: .entry, with: nil)
        image.entry = 0x10_0800
        let (result, _) = build(image.bytes(), parameters())
        XCTAssertEqual(try built(result).entry, 0x10_0800)
    }

    // MARK: - Initrd, command line, domU

    func testInitrdIsCopiedRightAfterTheImage() throws {
        let frames = Self.frames()
        let initrd = ElfTestImage.pattern(10_000, seed: 0x33)
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters(), initrd: initrd)
        let domain = try built(result)
        XCTAssertEqual(domain.initrdVirtual, 0x10_5000)
        XCTAssertEqual(domain.initrdLength, 10_000)
        XCTAssertEqual(domain.p2mVirtual, 0x10_8000)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_5000, 10_000), initrd)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_5000 + 10_000, 0x3000 - 10_000), [UInt8](repeating: 0, count: 0x3000 - 10_000))
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 72), 0x10_5000, "mod_start")
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 76), 10_000, "mod_len")
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 68), 0x10_8000, "mfn_list")
    }

    /// Linux's MOD_START_PFN note: mod_start becomes the initrd's PFN and SIF_MOD_START_PFN is set;
    /// the initrd is still mapped where it was (as Xen's builder does).
    func testModStartPFNNoteGivesTheInitrdsPFN() throws {
        let frames = Self.frames()
        let initrd = ElfTestImage.pattern(10_000, seed: 0x33)
        let image = ElfTestImage.standard(replacing: .modStartPFN, with: ElfTestImage.numeric(.modStartPFN, 1))
        let (result, memory) = build(image.bytes(), parameters(), initrd: initrd)
        let domain = try built(result)
        XCTAssertEqual(domain.initrdVirtual, 0x10_5000)
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 72), 0x105, "mod_start is the PFN")
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 76), 10_000, "mod_len")
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 40) & StartInfoFlags.modStartPFN, StartInfoFlags.modStartPFN)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_5000, 10_000), initrd, "still mapped after the image")
        // Without an initrd the note changes nothing.
        let (plain, plainMemory) = build(image.bytes(), parameters())
        let none = try built(plain)
        XCTAssertEqual(guest32(plainMemory, frames, none.startInfoVirtual + 40) & StartInfoFlags.modStartPFN, 0)
        XCTAssertEqual(guest32(plainMemory, frames, none.startInfoVirtual + 72), 0)
    }

    func testReservedInitrdIsPlacedAndNamedLikeACopiedOneAndZeroed() throws {
        let frames = Self.frames()
        var p = parameters()
        p.initrdReserved = 10_000
        let (result, memory) = build(ElfTestImage.standard().bytes(), p)
        let domain = try built(result)
        let (copied, _) = build(ElfTestImage.standard().bytes(), parameters(), initrd: ElfTestImage.pattern(10_000, seed: 0x33))
        XCTAssertEqual(domain.layout, try built(copied).layout, "the same layout as an initrd of that length")
        XCTAssertEqual(domain.initrdVirtual, 0x10_5000)
        XCTAssertEqual(domain.initrdLength, 10_000)
        XCTAssertEqual(guestBytes(memory, frames, 0x10_5000, 0x3000), [UInt8](repeating: 0, count: 0x3000), "zeroed for the caller to fill")
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 72), 0x10_5000, "mod_start")
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 76), 10_000, "mod_len")
    }

    func testCommandLineIsTruncatedTo1023Bytes() throws {
        let frames = Self.frames()
        let long = String(repeating: "abcdefghij", count: 200)
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters(commandLine: long))
        let domain = try built(result)
        let line = guestBytes(memory, frames, domain.startInfoVirtual + 80, 1024)
        XCTAssertEqual(Array(line[0..<1023]), Array(Array(long.utf8)[0..<1023]))
        XCTAssertEqual(line[1023], 0)
        XCTAssertEqual(guest32(memory, frames, domain.startInfoVirtual + 1104), 0, "first_p2m_pfn untouched by the command line")
    }

    func testCommandLineStopsAtAnEmbeddedNul() throws {
        let frames = Self.frames()
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters(commandLine: "ab\u{0}cd"))
        let domain = try built(result)
        XCTAssertEqual(guestBytes(memory, frames, domain.startInfoVirtual + 80, 5), [0x61, 0x62, 0, 0, 0])
    }

    func testDomUGetsStoreAndConsolePages() throws {
        let frames = Self.frames()
        let (result, memory) = build(ElfTestImage.standard().bytes(), parameters(privileged: false, domU: true))
        let domain = try built(result)
        XCTAssertEqual(domain.storePFN, 0x108)
        XCTAssertEqual(domain.consolePFN, 0x109)
        XCTAssertEqual(domain.l3PFN, 0x10A)
        let info = domain.startInfoVirtual
        XCTAssertEqual(guest32(memory, frames, info + 40), 0, "no SIF flags")
        XCTAssertEqual(guest32(memory, frames, info + 44), frames[0x108], "store_mfn")
        XCTAssertEqual(guest32(memory, frames, info + 48), 1, "store_evtchn")
        XCTAssertEqual(guest32(memory, frames, info + 52), frames[0x109], "console mfn")
        XCTAssertEqual(guest32(memory, frames, info + 56), 2, "console evtchn")
        XCTAssertEqual(guest32(memory, frames, info + 60), 0x10_A000, "pt_base")
        XCTAssertEqual(guestBytes(memory, frames, 0x10_8000, 8192), [UInt8](repeating: 0, count: 8192))
        XCTAssertEqual(l1Entry(memory, l3MFN: domain.l3MFN, 0x10_8000)?.flags, [.present, .writable, .accessed])
        XCTAssertEqual(l1Entry(memory, l3MFN: domain.l3MFN, 0x10_A000)?.flags, [.present, .accessed])
    }

    /// On frames the allocator scrubbed (`framesAreZero`), the builder writes only what is not zero,
    /// in far fewer stores, and memory ends up byte for byte as after a full build onto the same
    /// zeroed frames: for dom0 and a domU, with and without an initrd.
    func testBuildOntoScrubbedFramesMatchesAFullBuild() throws {
        let initrd = ElfTestImage.pattern(10_000, seed: 0x44)
        for (privileged, withInitrd) in [(true, false), (false, false), (true, true), (false, true)] {
            var p = parameters(privileged: privileged, domU: !privileged)
            let zeroed = BuilderFakeMemory(pages: Self.machinePages, fill: 0)
            let (fullResult, full) = build(ElfTestImage.standard().bytes(), p, initrd: withInitrd ? initrd : nil, memory: zeroed)
            let domain = try built(fullResult)
            p.framesAreZero = true
            let (quickResult, quick) = build(ElfTestImage.standard().bytes(), p, initrd: withInitrd ? initrd : nil, memory: zeroed)
            XCTAssertEqual(try built(quickResult), domain)
            XCTAssertLessThan(quick.writes, full.writes / 2, "zero stores skipped")
            XCTAssertTrue(quick.bytes == full.bytes, "privileged \(privileged), initrd \(withInitrd)")
        }
    }

    func testLinuxStyleKernelAboveVirtBase() throws {
        // vaddr 0xC0100000, paddr 0x100000, VIRT_BASE 0xC0000000, PADDR_OFFSET 0.
        let base: UInt32 = 0xC000_0000
        let frames = Self.frames()
        var image = ElfTestImage.standard()
        image.entry = base + ElfTestImage.entryPoint
        for k in image.segments.indices {
            image.segments[k].paddr = image.segments[k].vaddr
            image.segments[k].vaddr += base
        }
        image.notes = ElfTestImage.standardNotes().filter { $0.type != XenElfNote.entry.rawValue }
        image.notes.removeAll { $0.type == XenElfNote.virtBase.rawValue || $0.type == XenElfNote.hypercallPage.rawValue }
        image.notes.append(ElfTestImage.numeric(.virtBase, base))
        image.notes.append(ElfTestImage.numeric(.hypercallPage, base + ElfTestImage.hypercallPage))
        let (result, memory) = build(image.bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(domain.imageStart, 0xC010_0000)
        XCTAssertEqual(domain.pageTables.map(\.level), [3, 2, 1, 1])
        XCTAssertEqual(domain.hypercallPagePFN, 0x101)
        XCTAssertEqual(domain.startInfoVirtual, 0xC010_7000)
        XCTAssertEqual(l1Entry(memory, l3MFN: domain.l3MFN, 0xC010_0000)?.frame, UInt64(frames[0x100]))
        XCTAssertNil(l1Entry(memory, l3MFN: domain.l3MFN, 0x10_0000), "nothing below virt_base")
        XCTAssertEqual(guestBytes(memory, frames, virtBase: base, 0xC010_2000, 0x180), image.segments[1].data)
        let slot3 = UInt64(domain.pageTables[1].mfn) << 12
        XCTAssertEqual(memory.load64(slot3 + 428 * 8), Self.hypervisorEntries[0])
        XCTAssertEqual(memory.load64(slot3), PageTableEntry(
            frame: UInt64(domain.pageTables[2].mfn), flags: [.present, .writable, .accessed, .dirty, .user]).raw)
    }

    func testOldStylePaddrOffset() throws {
        // Old kernels: p_paddr = p_vaddr = 0xC0100000 and PADDR_OFFSET = VIRT_BASE.
        let base: UInt32 = 0xC000_0000
        var image = ElfTestImage.standard()
        image.entry = base + ElfTestImage.entryPoint
        for k in image.segments.indices { image.segments[k].vaddr += base }
        image.notes = [
            ElfTestImage.string(.paeMode, "yes"), ElfTestImage.numeric(.virtBase, base), ElfTestImage.numeric(.paddrOffset, base),
            ElfTestImage.string(.loader, "generic"), ElfTestImage.string(.xenVersion, "xen-3.0"),
        ]
        let (result, _) = build(image.bytes(), parameters())
        let domain = try built(result)
        XCTAssertEqual(domain.imageStart, 0xC010_0000)
        XCTAssertEqual(domain.entry, 0xC010_0040)
    }

    // MARK: - Refusals: the exact error, and not one byte written

    func assertRefused(
        _ image: [UInt8], _ expected: BuildError, parameters: BuildParameters? = nil, initrd: [UInt8]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let (result, memory) = build(image, parameters ?? self.parameters(), initrd: initrd)
        XCTAssertEqual(result, .refused(expected), file: file, line: line)
        XCTAssertEqual(memory.writes, 0, "a refusal writes nothing", file: file, line: line)
        let pristine = BuilderFakeMemory(pages: Self.machinePages).bytes
        let same = memory.bytes.withUnsafeBytes { a in pristine.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
        XCTAssertTrue(same && memory.bytes.count == pristine.count, "memory untouched", file: file, line: line)
    }

    func testRefusesNonElf() {
        assertRefused(Array("#!/bin/sh\necho hello\n".utf8) + [UInt8](repeating: 0, count: 64), .notElf)
    }

    func testRefusesElf64() {
        var image = ElfTestImage.standard()
        image.elfClass = 2
        assertRefused(image.bytes(), .notElf32)
    }

    func testRefusesBigEndian() {
        var image = ElfTestImage.standard()
        image.dataEncoding = 2
        assertRefused(image.bytes(), .notLittleEndian)
    }

    func testRefusesNonI386() {
        var image = ElfTestImage.standard()
        image.machine = 40  // ARM
        assertRefused(image.bytes(), .notI386)
    }

    func testRefusesNonExecutable() {
        var image = ElfTestImage.standard()
        image.type = 3
        assertRefused(image.bytes(), .notExecutable)
    }

    func testRefusesBadProgramHeaders() {
        var bytes = ElfTestImage.standard().bytes()
        put32(&bytes, 28, UInt32(bytes.count))
        assertRefused(bytes, .badProgramHeaders)
    }

    func testRefusesNoLoadableSegment() {
        var image = ElfTestImage.standard()
        image.segments = []
        assertRefused(image.bytes(), .noLoadableSegment)
    }

    func testRefusesSegmentPastTheEndOfTheImage() {
        var bytes = ElfTestImage.standard().bytes()
        put32(&bytes, ElfTestImage.phdrOffset(0) + 16, UInt32(bytes.count))
        assertRefused(bytes, .segmentOutsideFile(index: 0))
    }

    func testRefusesFileSizeAboveMemorySize() {
        var image = ElfTestImage.standard()
        image.segments[1].memSize = 0x17F
        assertRefused(image.bytes(), .segmentFileLargerThanMemory(index: 1))
    }

    func testRefusesOverlappingSegments() {
        var image = ElfTestImage.standard()
        image.segments[1].vaddr = 0x10_1F00
        assertRefused(image.bytes(), .segmentsOverlap(first: 0, second: 1))
        image.segments.swapAt(0, 1)
        assertRefused(image.bytes(), .segmentsOverlap(first: 0, second: 1))
    }

    func testRefusesSegmentReachingTheHypervisor() {
        var image = ElfTestImage.standard()
        image.segments[1].vaddr = 0xF57F_F000
        assertRefused(image.bytes(), .segmentReachesHypervisor(index: 1))
        image.segments[1].vaddr = 0xFFFF_F000  // wraps past 4 GiB
        assertRefused(image.bytes(), .segmentReachesHypervisor(index: 1))
    }

    func testRefusesSegmentBelowVirtBase() {
        // Old-style p_paddr (= p_vaddr): the text at 0x100000 lies below a virt_base of 0x102000.
        var image = ElfTestImage.standard(replacing: .virtBase, with: ElfTestImage.numeric(.virtBase, 0x10_2000))
        image.notes.removeAll { $0.type == XenElfNote.paddrOffset.rawValue }
        image.notes.append(ElfTestImage.numeric(.paddrOffset, 0x10_2000))
        assertRefused(image.bytes(), .segmentBelowVirtBase(index: 0))
    }

    func testRefusesUnalignedVirtBase() {
        let image = ElfTestImage.standard(replacing: .virtBase, with: ElfTestImage.numeric(.virtBase, 0x800))
        assertRefused(image.bytes(), .virtBaseUnaligned(0x800))
    }

    func testRefusesImageWithoutXenNotes() {
        var image = ElfTestImage.standard()
        image.notes = []
        assertRefused(image.bytes(), .noXenNotes)
    }

    func testRefusesMalformedNote() {
        let image = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.Note(type: 1, desc: [1, 2, 3]))
        assertRefused(image.bytes(), .malformedNote(segment: 2))
    }

    func testRefusesNonPAEKernels() {
        assertRefused(ElfTestImage.standard(replacing: .paeMode, with: nil).bytes(), .paeModeMissing)
        let no = ElfTestImage.standard(replacing: .paeMode, with: ElfTestImage.string(.paeMode, "no"))
        assertRefused(no.bytes(), .paeModeUnsupported(Array("no".utf8)))
    }

    func testRefusesKernelRequiringALackingFeature() {
        let image = ElfTestImage.standard(
            replacing: .features, with: ElfTestImage.string(.features, "!writable_page_tables|!auto_translated_physmap"))
        assertRefused(image.bytes(), .requiredFeatureMissing(Array("auto_translated_physmap".utf8)))
        XCTAssertEqual(BuildError.requiredFeatureMissing([]).reason.description,
                       "the kernel requires a Xen feature this hypervisor does not provide.")
    }

    func testEntryMayLieInAnySegmentButNotOutsideTheImage() throws {
        // Linux's startup_xen is in .init.text, in its RW segment: Xen only asks for the image.
        let inData = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric(.entry, 0x10_2000))
        XCTAssertEqual(try built(build(inData.bytes(), parameters()).0).entry, 0x10_2000)
        let outside = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric(.entry, 0x50_0000))
        assertRefused(outside.bytes(), .entryOutsideImage(0x50_0000))
        let below = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric(.entry, 0xF_FFFF))
        assertRefused(below.bytes(), .entryOutsideImage(0xF_FFFF))
        let end = try built(build(ElfTestImage.standard().bytes(), parameters()).0).imageEnd
        let atEnd = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric(.entry, end))
        assertRefused(atEnd.bytes(), .entryOutsideImage(end))
        let lastByte = ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric(.entry, end - 1))
        XCTAssertEqual(try built(build(lastByte.bytes(), parameters()).0).entry, end - 1)
    }

    func testRefusesBadHypercallPage() {
        let unaligned = ElfTestImage.standard(replacing: .hypercallPage, with: ElfTestImage.numeric(.hypercallPage, 0x10_1800))
        assertRefused(unaligned.bytes(), .hypercallPageUnaligned(0x10_1800))
        let outside = ElfTestImage.standard(replacing: .hypercallPage, with: ElfTestImage.numeric(.hypercallPage, 0x10_5000))
        assertRefused(outside.bytes(), .hypercallPageOutsideImage(0x10_5000))
        let below = ElfTestImage.standard(replacing: .hypercallPage, with: ElfTestImage.numeric(.hypercallPage, 0xF_F000))
        assertRefused(below.bytes(), .hypercallPageOutsideImage(0xF_F000))
    }

    func testRefusesMappingReachingTheHypervisor() {
        var image = ElfTestImage.standard()
        image.segments[0].vaddr = 0xF540_0000
        image.segments[1].vaddr = 0xF540_2000
        image.entry = 0xF540_0040
        image.notes = ElfTestImage.standardNotes().filter {
            $0.type != XenElfNote.entry.rawValue && $0.type != XenElfNote.hypercallPage.rawValue
        }
        // The first guess ends at 0xF5800000; the 1964 L1s that needs push the stack to 0xF5BB9000.
        assertRefused(image.bytes(), .mappingReachesHypervisor(end: 0xF600_0000))
    }

    func testRefusesTooLittleMemory() {
        assertRefused(ElfTestImage.standard().bytes(), .notEnoughMemory(needed: 1024, available: 1000), parameters: parameters(frames: Self.frames(1000)))
    }

    func testRefusesWrongHypervisorEntries() {
        var bad = parameters()
        bad.hypervisorL2Entries = [0]
        assertRefused(ElfTestImage.standard().bytes(), .badHypervisorEntries(count: 1), parameters: bad)
    }

    func testRefusesSharedInfoAbove4GiB() {
        var bad = parameters()
        bad.sharedInfoMFN = 0x10_0000
        assertRefused(ElfTestImage.standard().bytes(), .sharedInfoNotAddressable(0x10_0000), parameters: bad)
    }

    func testAFailedWriteIsReported() {
        let frames = Self.frames()
        var memory = BuilderFakeMemory(pages: Self.machinePages)
        let startInfoMFN = UInt64(frames[0x107])
        memory.failing = (startInfoMFN << 12)..<(startInfoMFN << 12 + 4096)
        let (result, _) = build(ElfTestImage.standard().bytes(), parameters(), memory: memory)
        XCTAssertEqual(result, .refused(.writeFailed(pa: startInfoMFN << 12)))
    }

    func testEveryReasonIsASentence() {
        let errors: [BuildError] = [
            .notElf, .notElf32, .notLittleEndian, .notI386, .notExecutable, .badProgramHeaders, .noLoadableSegment,
            .segmentOutsideFile(index: 0), .segmentFileLargerThanMemory(index: 0), .segmentsOverlap(first: 0, second: 1),
            .segmentBelowVirtBase(index: 0), .segmentReachesHypervisor(index: 0), .noXenNotes, .malformedNote(segment: 0),
            .paeModeMissing, .paeModeUnsupported([]), .requiredFeatureMissing([]), .virtBaseUnaligned(0),
            .entryOutsideImage(0), .hypercallPageUnaligned(0), .hypercallPageOutsideImage(0),
            .mappingReachesHypervisor(end: 0), .notEnoughMemory(needed: 0, available: 0), .badHypervisorEntries(count: 0),
            .sharedInfoNotAddressable(0), .writeFailed(pa: 0), .badSectionHeaders, .sectionOutsideFile(index: 0),
            .malformedGuestInfo, .paddrOffsetWithoutVirtBase, .bsdSymtabMissing, .loaderUnsupported, .xenVersionUnsupported([]),
        ]
        for error in errors {
            let text = error.reason.description
            XCTAssertTrue(text.hasSuffix("."), text)
            XCTAssertGreaterThan(text.count, 30, text)
        }
        XCTAssertTrue(BuildError.paeModeMissing.reason.description.contains("non-PAE kernel cannot run"))
    }
}
