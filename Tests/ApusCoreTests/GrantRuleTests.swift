// GrantRuleTests.swift: every grant-table rule with a case it allows and a case it refuses (with the GNTST code and the
// reason), and a check that each refusal left the core, the shared entries and the frame references unchanged.

import XCTest
import PVABI
@testable import ApusCore

final class GrantRuleTests: XCTestCase {
    var g = GrantSystem(domainCapacity: 8)
    var mem = FakeGrantMemory()
    var ft = FakeFrameTable()
    let va: UInt64 = 0x40_0000

    override func setUp() {
        g.addDomain(0, privileged: true)
        g.addDomain(1, privileged: false)
        g.addDomain(2, privileged: false, maxFrames: 4)
        ft.give(0x100...0x1FF, to: 1)
        ft.give(0x200...0x2FF, to: 2)
        for d: UInt16 in [0, 1, 2] { XCTAssertNoThrow(try g.setupTable(caller: d, domain: SpecialDomainID.selfID, frames: 1, &mem)) }
    }

    /// `body` must throw `expected`, and leave the core, the entries and the frame table as they were.
    func assertRefused(_ expected: GrantError, _ body: () throws(GrantError) -> Void, file: StaticString = #filePath, line: UInt = #line) {
        let (g0, t0, f0, r0) = (g, mem.tables, ft.refs, mem.allocated)
        do throws(GrantError) {
            try body()
            XCTFail("accepted; expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
            XCTAssertFalse("\(error.reason)".isEmpty, file: file, line: line)
        }
        XCTAssertEqual(g, g0, "the core changed", file: file, line: line)
        XCTAssertEqual(mem.tables, t0, "an entry changed", file: file, line: line)
        XCTAssertEqual(ft.refs, f0, "a frame reference changed", file: file, line: line)
        XCTAssertEqual(mem.allocated, r0, "table frames changed", file: file, line: line)
    }

    func map(_ caller: UInt16, _ granter: UInt16, _ ref: UInt32, readonly: Bool = false, at addr: UInt64? = nil) throws(GrantError) -> GrantMapResult {
        try g.map(caller: caller, granter: granter, ref: ref, flags: GrantMapFlags.hostMap | (readonly ? GrantMapFlags.readonly : 0),
                  hostAddress: addr ?? va, &mem, &ft)
    }

    func testEveryRefusalHasAStatusAndASentence() {
        let all: [GrantError] = [.noSuchDomain, .domainDying, .notPrivileged, .tooManyFrames, .noTableFrame, .refBeyondTable,
            .notPermitAccess, .grantedToAnother, .readonlyGrant, .noHostMap, .pteAddressMap, .badHostAddress, .frameNotGranters,
            .handlesExhausted, .pinOverflow, .badHandle, .wrongHostAddress, .wrongDeviceAddress, .copyPastPage, .copyFrameNotOwn,
            .copyFrameNotOwned]
        XCTAssertEqual(Set(all.map { "\($0.reason)" }).count, all.count, "every reason is its own sentence")
        for e in all {
            XCTAssertNotEqual(e.status, .okay)
            XCTAssertTrue("\(e.reason)".hasSuffix("."), "\(e)")
        }
    }

    // MARK: setup_table, query_size, versions

    func testSetupGrowsToTheMaximumAndNoFurther() throws {
        let d = try g.setupTable(caller: 2, domain: SpecialDomainID.selfID, frames: 4, &mem)
        XCTAssertEqual(d, 2)
        XCTAssertEqual(g.table(2)!.frames.count, 4)
        XCTAssertEqual(g.table(2)!.active.count, 2048)
        XCTAssertNotNil(g.tableFrame(2, 3))
        XCTAssertNil(g.tableFrame(2, 4))
        assertRefused(.tooManyFrames) { () throws(GrantError) in _ = try g.setupTable(caller: 2, domain: 2, frames: 5, &mem) }
        // A smaller request never shrinks the table.
        _ = try g.setupTable(caller: 2, domain: 2, frames: 1, &mem)
        XCTAssertEqual(g.table(2)!.frames.count, 4)
        XCTAssertEqual(try g.querySize(caller: 2, domain: SpecialDomainID.selfID).frames, 4)
        XCTAssertEqual(try g.querySize(caller: 2, domain: SpecialDomainID.selfID).maxFrames, 4)
        XCTAssertEqual(try g.querySize(caller: 1, domain: 1).maxFrames, 32)
    }

    func testSetupGivesBackWhatItTookWhenMemoryRunsOut() {
        mem.framesLeft = 2
        assertRefused(.noTableFrame) { () throws(GrantError) in _ = try g.setupTable(caller: 1, domain: 1, frames: 4, &mem) }
        XCTAssertEqual(mem.freed.count, 2)
        XCTAssertEqual(mem.framesLeft, 2)
    }

    func testOnlyAPrivilegedDomainManagesAnother() throws {
        _ = try g.setupTable(caller: 0, domain: 1, frames: 2, &mem)
        XCTAssertEqual(try g.querySize(caller: 0, domain: 1).frames, 2)
        assertRefused(.notPrivileged) { () throws(GrantError) in _ = try g.setupTable(caller: 1, domain: 2, frames: 1, &mem) }
        assertRefused(.notPrivileged) { () throws(GrantError) in _ = try g.querySize(caller: 1, domain: 0) }
        assertRefused(.noSuchDomain) { () throws(GrantError) in _ = try g.querySize(caller: 0, domain: 5) }
        assertRefused(.noSuchDomain) { () throws(GrantError) in _ = try g.querySize(caller: 7, domain: SpecialDomainID.selfID) }
        XCTAssertEqual(GrantError.notPrivileged.status, .permissionDenied)
        XCTAssertEqual(GrantError.noSuchDomain.status, .badDomain)
    }

    func testVersions() {
        XCTAssertEqual(try g.setVersion(caller: 1, version: 1), 1)
        XCTAssertThrowsError(try g.setVersion(caller: 1, version: 2)) { XCTAssertEqual(($0 as! Refusal).error, .ENOSYS) }
        XCTAssertThrowsError(try g.setVersion(caller: 1, version: 3)) { XCTAssertEqual(($0 as! Refusal).error, .EINVAL) }
        XCTAssertEqual(try g.getVersion(caller: 1, domain: SpecialDomainID.selfID), 1)
        XCTAssertEqual(try g.getVersion(caller: 0, domain: 2), 1)
        XCTAssertThrowsError(try g.getVersion(caller: 1, domain: 2)) { XCTAssertEqual(($0 as! Refusal).error, .EPERM) }
        XCTAssertThrowsError(try g.getVersion(caller: 0, domain: 6)) { XCTAssertEqual(($0 as! Refusal).error, .ESRCH) }
    }

    // MARK: map

    func testMapHonoursOnlyPermitAccessForTheMapper() throws {
        mem.grant(g, 1, ref: 5, to: 2, frame: 0x105)
        mem.grant(g, 1, ref: 6, to: 0, frame: 0x106)
        mem.grant(g, 1, ref: 7, to: 2, frame: 0x107, type: GrantEntryFlags.acceptTransfer)
        assertRefused(.grantedToAnother) { () throws(GrantError) in _ = try map(2, 1, 6) }
        assertRefused(.notPermitAccess) { () throws(GrantError) in _ = try map(2, 1, 7) }
        assertRefused(.notPermitAccess) { () throws(GrantError) in _ = try map(2, 1, 8) }
        assertRefused(.refBeyondTable) { () throws(GrantError) in _ = try map(2, 1, 512) }
        assertRefused(.noSuchDomain) { () throws(GrantError) in _ = try map(2, 6, 5) }
        let r = try map(2, 1, 5)
        XCTAssertEqual(r.frame, 0x105)
        XCTAssertTrue(r.writable)
        XCTAssertEqual(mem.flags(g, 1, ref: 5), GrantEntryFlags.permitAccess | GrantEntryFlags.reading | GrantEntryFlags.writing)
        XCTAssertEqual(ft.refs[0x105], 1)
        XCTAssertEqual(ft.writableRefs[0x105], 1)
        XCTAssertEqual(g.mapping(2, handle: r.handle)?.hostAddress, UInt32(va))
    }

    func testReadonlyGrantNeverGivesAWritableMapping() throws {
        mem.grant(g, 1, ref: 3, to: 2, frame: 0x103, readonly: true)
        assertRefused(.readonlyGrant) { () throws(GrantError) in _ = try map(2, 1, 3) }
        let r = try map(2, 1, 3, readonly: true)
        XCTAssertFalse(r.writable)
        XCTAssertEqual(mem.flags(g, 1, ref: 3) & (GrantEntryFlags.reading | GrantEntryFlags.writing), GrantEntryFlags.reading)
        XCTAssertNil(ft.writableRefs[0x103])
    }

    func testMapFlagsAndAddresses() throws {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        assertRefused(.noHostMap) { () throws(GrantError) in _ = try g.map(caller: 2, granter: 1, ref: 1, flags: GrantMapFlags.deviceMap, hostAddress: va, &mem, &ft) }
        assertRefused(.pteAddressMap) { () throws(GrantError) in
            _ = try g.map(caller: 2, granter: 1, ref: 1, flags: GrantMapFlags.hostMap | GrantMapFlags.containsPTE, hostAddress: va, &mem, &ft) }
        for bad: UInt64 in [0, va + 8, 0xF580_0000, 0x1_0000_0000] {
            assertRefused(.badHostAddress) { () throws(GrantError) in _ = try map(2, 1, 1, at: bad) }
        }
        let r = try g.map(caller: 2, granter: 1, ref: 1, flags: GrantMapFlags.hostMap | GrantMapFlags.deviceMap | GrantMapFlags.applicationMap,
                          hostAddress: 0xF57F_F000, &mem, &ft)
        XCTAssertEqual(r.deviceAddress, 0x101 << 12)
        XCTAssertEqual(g.mapping(2, handle: r.handle)?.application, true)
    }

    func testAFrameTheGranterDoesNotOwnOrAPageTableIsRefused() throws {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x201)
        assertRefused(.frameNotGranters) { () throws(GrantError) in _ = try map(2, 1, 1) }
        mem.grant(g, 1, ref: 2, to: 2, frame: 0x102)
        ft.pageTables.insert(0x102)
        assertRefused(.frameNotGranters) { () throws(GrantError) in _ = try map(2, 1, 2) }
        XCTAssertNoThrow(try map(2, 1, 2, readonly: true))
    }

    func testPinsCountPerGrantAndFlagsFollowTheLastMap() throws {
        mem.grant(g, 1, ref: 9, to: 2, frame: 0x109)
        let a = try map(2, 1, 9)
        let b = try map(2, 1, 9, readonly: true, at: va + 0x1000)
        XCTAssertNotEqual(a.handle, b.handle)
        XCTAssertEqual(g.table(1)!.active[9], .mapped(mapper: 2, frame: 0x109, maps: 2, writableMaps: 1))
        // The granter rewriting the entry while mapped does not move the mapping's frame.
        mem.grant(g, 1, ref: 9, to: 2, frame: 0x10A)
        let c = try map(2, 1, 9, readonly: true, at: va + 0x2000)
        XCTAssertEqual(c.frame, 0x109)
        _ = try g.unmap(caller: 2, handle: a.handle, hostAddress: va, deviceAddress: 0, &mem, &ft)
        XCTAssertEqual(mem.flags(g, 1, ref: 9) & (GrantEntryFlags.reading | GrantEntryFlags.writing), GrantEntryFlags.reading)
        _ = try g.unmap(caller: 2, handle: b.handle, hostAddress: va + 0x1000, deviceAddress: 0, &mem, &ft)
        XCTAssertEqual(mem.flags(g, 1, ref: 9) & GrantEntryFlags.reading, GrantEntryFlags.reading)
        _ = try g.unmap(caller: 2, handle: c.handle, hostAddress: va + 0x2000, deviceAddress: 0, &mem, &ft)
        XCTAssertEqual(mem.flags(g, 1, ref: 9) & (GrantEntryFlags.reading | GrantEntryFlags.writing), 0)
        XCTAssertEqual(g.table(1)!.active[9], .idle)
        XCTAssertNil(ft.refs[0x109])
    }

    func testHandlesAreBounded() throws {
        g = GrantSystem(domainCapacity: 4)
        g.addDomain(1, privileged: false)
        g.addDomain(2, privileged: false, maxHandles: 2)
        _ = try g.setupTable(caller: 1, domain: 1, frames: 1, &mem)
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        _ = try map(2, 1, 1)
        _ = try map(2, 1, 1, at: va + 0x1000)
        assertRefused(.handlesExhausted) { () throws(GrantError) in _ = try map(2, 1, 1, at: va + 0x2000) }
    }

    // MARK: unmap

    func testUnmapNeedsTheHandleAndTheSameAddress() throws {
        mem.grant(g, 1, ref: 4, to: 2, frame: 0x104)
        let r = try g.map(caller: 2, granter: 1, ref: 4, flags: GrantMapFlags.hostMap | GrantMapFlags.deviceMap, hostAddress: va, &mem, &ft)
        assertRefused(.badHandle) { () throws(GrantError) in _ = try g.unmap(caller: 2, handle: r.handle + 1, hostAddress: va, deviceAddress: 0, &mem, &ft) }
        assertRefused(.badHandle) { () throws(GrantError) in _ = try g.unmap(caller: 1, handle: r.handle, hostAddress: va, deviceAddress: 0, &mem, &ft) }
        assertRefused(.wrongHostAddress) { () throws(GrantError) in _ = try g.unmap(caller: 2, handle: r.handle, hostAddress: va + 0x1000, deviceAddress: 0, &mem, &ft) }
        assertRefused(.wrongDeviceAddress) { () throws(GrantError) in _ = try g.unmap(caller: 2, handle: r.handle, hostAddress: va, deviceAddress: 0x1000, &mem, &ft) }
        let m = try g.unmap(caller: 2, handle: r.handle, hostAddress: va, deviceAddress: 0x104 << 12, &mem, &ft)
        XCTAssertEqual(m.frame, 0x104)
        assertRefused(.badHandle) { () throws(GrantError) in _ = try g.unmap(caller: 2, handle: r.handle, hostAddress: va, deviceAddress: 0, &mem, &ft) }
        XCTAssertEqual(GrantError.badHandle.status, .badHandle)
    }

    // MARK: copy

    func side(_ grant: Bool, _ x: UInt32, _ d: UInt16, _ off: UInt16) -> GrantCopySide { GrantCopySide(isGrant: grant, refOrFrame: x, domain: d, offset: off) }

    func testCopyBothDirectionsGrantOrFrameOnEitherSide() throws {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        mem.grant(g, 1, ref: 2, to: 2, frame: 0x102, readonly: true)
        mem.pages[0x101] = (0..<4096).map { UInt8(truncatingIfNeeded: $0) }
        // From a grant into the caller's own frame.
        try g.copy(caller: 2, source: side(true, 1, 1, 16), dest: side(false, 0x200, SpecialDomainID.selfID, 0), length: 32, &mem, &ft)
        XCTAssertEqual(Array(mem.page(0x200)[0..<32]), (16..<48).map { UInt8($0) })
        // From the caller's frame into a grant, and grant to grant.
        try g.copy(caller: 2, source: side(false, 0x200, 2, 0), dest: side(true, 1, 1, 4064), length: 32, &mem, &ft)
        XCTAssertEqual(mem.page(0x101)[4064], 16)
        try g.copy(caller: 2, source: side(true, 2, 1, 0), dest: side(true, 1, 1, 0), length: 4096, &mem, &ft)
        XCTAssertEqual(mem.copies, 3)
        XCTAssertTrue(ft.refs.isEmpty, "copy leaves no reference behind")
        XCTAssertEqual(mem.flags(g, 1, ref: 1), GrantEntryFlags.permitAccess)
    }

    func testCopyRefusals() {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        mem.grant(g, 1, ref: 2, to: 2, frame: 0x102, readonly: true)
        mem.grant(g, 1, ref: 3, to: 0, frame: 0x103)
        let own = side(false, 0x200, 2, 0)
        assertRefused(.copyPastPage) { () throws(GrantError) in try g.copy(caller: 2, source: side(true, 1, 1, 4000), dest: own, length: 97, &mem, &ft) }
        assertRefused(.copyPastPage) { () throws(GrantError) in try g.copy(caller: 2, source: side(true, 1, 1, 0), dest: side(false, 0x200, 2, 1), length: 4096, &mem, &ft) }
        assertRefused(.readonlyGrant) { () throws(GrantError) in try g.copy(caller: 2, source: own, dest: side(true, 2, 1, 0), length: 8, &mem, &ft) }
        assertRefused(.grantedToAnother) { () throws(GrantError) in try g.copy(caller: 2, source: side(true, 3, 1, 0), dest: own, length: 8, &mem, &ft) }
        assertRefused(.copyFrameNotOwn) { () throws(GrantError) in try g.copy(caller: 2, source: side(false, 0x101, 1, 0), dest: own, length: 8, &mem, &ft) }
        assertRefused(.copyFrameNotOwned) { () throws(GrantError) in try g.copy(caller: 2, source: side(false, 0x101, 2, 0), dest: own, length: 8, &mem, &ft) }
        // The source reference is given back when the destination is refused.
        assertRefused(.copyFrameNotOwned) { () throws(GrantError) in try g.copy(caller: 2, source: side(true, 1, 1, 0), dest: side(false, 0x105, 2, 0), length: 8, &mem, &ft) }
        assertRefused(.noSuchDomain) { () throws(GrantError) in
            try g.copy(caller: 2, source: side(true, 1, 6, 0), dest: own, length: 8, &mem, &ft) }
        XCTAssertEqual(GrantError.copyPastPage.status, .badCopyArg)
        XCTAssertEqual(GrantError.copyFrameNotOwn.status, .permissionDenied)
        XCTAssertEqual(GrantError.copyFrameNotOwned.status, .badPage)
    }

    // MARK: destroy

    func testDestroyedGranterKeepsMappedFramesUntilTheLastUnmap() throws {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        let r = try map(2, 1, 1)
        let tableFrame = g.tableFrame(1, 0)!
        g.destroyDomain(1, &mem, &ft)
        ft.destroy(1)
        XCTAssertEqual(g.table(1)?.life, .dying)
        XCTAssertEqual(g.dyingTables, 1)
        XCTAssertFalse(ft.freed.contains(0x101), "a mapped frame was freed under its mapper")
        XCTAssertTrue(ft.freed.contains(0x102))
        XCTAssertNotNil(mem.allocated[tableFrame])
        XCTAssertFalse(g.addDomain(1, privileged: false), "a dying table keeps its id")
        // No new use of a dying domain's grants.
        assertRefused(.domainDying) { () throws(GrantError) in _ = try map(2, 1, 1, at: va + 0x1000) }
        _ = try g.unmap(caller: 2, handle: r.handle, hostAddress: va, deviceAddress: 0, &mem, &ft)
        XCTAssertNil(g.table(1))
        XCTAssertEqual(g.dyingTables, 0)
        XCTAssertTrue(ft.freed.contains(0x101))
        XCTAssertNil(mem.allocated[tableFrame])
    }

    func testDestroyedMapperReleasesEverythingItHeld() throws {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        mem.grant(g, 1, ref: 2, to: 2, frame: 0x102)
        _ = try map(2, 1, 1)
        _ = try map(2, 1, 2, readonly: true, at: va + 0x1000)
        g.destroyDomain(2, &mem, &ft)
        XCTAssertNil(g.table(2))
        XCTAssertTrue(ft.refs.isEmpty)
        XCTAssertEqual(mem.flags(g, 1, ref: 1), GrantEntryFlags.permitAccess)
        XCTAssertEqual(g.table(1)!.active[1], .idle)
        XCTAssertEqual(g.table(1)!.pins, 0)
        XCTAssertTrue(g.addDomain(2, privileged: false))
    }

    func testTwoDomainsMappingEachOtherBothDestroyedLeakNothing() throws {
        mem.grant(g, 1, ref: 1, to: 2, frame: 0x101)
        mem.grant(g, 2, ref: 1, to: 1, frame: 0x201)
        _ = try map(2, 1, 1)
        _ = try map(1, 2, 1)
        g.destroyDomain(1, &mem, &ft); ft.destroy(1)
        XCTAssertEqual(g.table(1)?.life, .dying)
        g.destroyDomain(2, &mem, &ft); ft.destroy(2)
        XCTAssertNil(g.table(1))
        XCTAssertNil(g.table(2))
        XCTAssertTrue(ft.refs.isEmpty)
        XCTAssertTrue(ft.owner.isEmpty, "every frame of both domains was freed")
        XCTAssertEqual(Set(mem.allocated.values), [0])
    }
}
