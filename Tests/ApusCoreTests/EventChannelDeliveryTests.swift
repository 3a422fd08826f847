// Tests of 2-level event delivery through shared_info: pending, mask, the per-VCPU selector and upcall flags, unmask re-raise, and the real-page seam.
// Offsets are checked against literal byte positions from xen.h (pending at 2048, mask at 2176, pending_sel at vcpu_info + 4), never derived from the code under test.

import XCTest
import PVABI
@testable import ApusCore

/// A fake shared_info: 4 KiB of words, recording every write.
struct FakeSharedInfo: SharedInfoBits {
    var words = [UInt32](repeating: 0, count: 1024)
    var writes = 0

    func testBit(_ bit: Int, ofWordAt offset: Int) -> Bool {
        precondition(offset % 4 == 0)
        return words[offset / 4] & (1 << UInt32(bit)) != 0
    }

    mutating func testAndSetBit(_ bit: Int, ofWordAt offset: Int) -> Bool {
        let was = testBit(bit, ofWordAt: offset)
        words[offset / 4] |= 1 << UInt32(bit)
        writes += 1
        return was
    }

    mutating func testAndClearBit(_ bit: Int, ofWordAt offset: Int) -> Bool {
        let was = testBit(bit, ofWordAt: offset)
        words[offset / 4] &= ~(1 << UInt32(bit))
        writes += 1
        return was
    }

    func byte(at offset: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: words[offset / 4] >> UInt32((offset % 4) * 8))
    }

    /// Guest-side writes.
    mutating func setByte(_ offset: Int, _ value: UInt8) {
        let shift = UInt32((offset % 4) * 8)
        words[offset / 4] = words[offset / 4] & ~(0xFF << shift) | UInt32(value) << shift
    }
    func word(_ offset: Int) -> UInt32 { words[offset / 4] }
    mutating func setWord(_ offset: Int, _ value: UInt32) { words[offset / 4] = value }
}

final class EventChannelDeliveryTests: XCTestCase {
    func testMarkPendingSetsPendingSelectorAndUpcall() {
        var page = FakeSharedInfo()
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 37, vcpu: 0), "first event: kick the VCPU")
        XCTAssertEqual(page.word(2048 + 4), 1 << 5, "port 37 is bit 5 of pending word 1")
        XCTAssertEqual(page.word(4), 1 << 1, "selector bit 1 of vcpu 0")
        XCTAssertEqual(page.byte(at: 0), 1, "evtchn_upcall_pending")
        XCTAssertTrue(TwoLevelEvents.isPending(page, port: 37))
        XCTAssertTrue(TwoLevelEvents.isSelected(page, port: 37, vcpu: 0))
        XCTAssertTrue(TwoLevelEvents.upcallPending(page, vcpu: 0))
    }

    func testAlreadyPendingPortChangesNothing() {
        var page = FakeSharedInfo()
        TwoLevelEvents.markPending(&page, port: 3, vcpu: 0)
        // The guest cleared its upcall flag and selector but not yet the port: no new upcall.
        page.setByte(0, 0)
        page.setWord(4, 0)
        let words = page.words
        XCTAssertFalse(TwoLevelEvents.markPending(&page, port: 3, vcpu: 0))
        XCTAssertEqual(page.words, words)
    }

    func testSecondPortInSameWordNeedsNoUpcall() {
        var page = FakeSharedInfo()
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 1, vcpu: 0))
        XCTAssertFalse(TwoLevelEvents.markPending(&page, port: 2, vcpu: 0), "selector bit already set")
        XCTAssertEqual(page.word(2048), 0b110)
    }

    func testPortInAnotherWordWhileUpcallPendingDoesNotKickAgain() {
        var page = FakeSharedInfo()
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 1, vcpu: 0))
        XCTAssertFalse(TwoLevelEvents.markPending(&page, port: 64, vcpu: 0), "upcall already pending")
        XCTAssertEqual(page.word(4), 0b101, "but its selector bit is set")
    }

    func testMaskedPortIsPendingWithoutSelectorOrUpcall() {
        var page = FakeSharedInfo()
        TwoLevelEvents.mask(&page, port: 40)
        XCTAssertEqual(page.word(2176 + 4), 1 << 8, "mask bitmap at 2176")
        XCTAssertFalse(TwoLevelEvents.markPending(&page, port: 40, vcpu: 0))
        XCTAssertTrue(TwoLevelEvents.isPending(page, port: 40))
        XCTAssertEqual(page.word(4), 0)
        XCTAssertEqual(page.byte(at: 0), 0)
        // Unmask re-raises it.
        XCTAssertTrue(TwoLevelEvents.unmask(&page, port: 40, vcpu: 0))
        XCTAssertFalse(TwoLevelEvents.isMasked(page, port: 40))
        XCTAssertEqual(page.word(4), 1 << 1)
        XCTAssertEqual(page.byte(at: 0), 1)
    }

    func testUnmaskOfUnpendingOrUnmaskedPortRaisesNothing() {
        var page = FakeSharedInfo()
        TwoLevelEvents.mask(&page, port: 9)
        XCTAssertFalse(TwoLevelEvents.unmask(&page, port: 9, vcpu: 0), "masked but not pending")
        XCTAssertEqual(page.word(4), 0)
        // Pending and never masked: the guest saw it already; unmask adds nothing.
        TwoLevelEvents.markPending(&page, port: 10, vcpu: 0)
        page.setByte(0, 0)
        page.setWord(4, 0)
        XCTAssertFalse(TwoLevelEvents.unmask(&page, port: 10, vcpu: 0))
        XCTAssertEqual(page.word(4), 0)
    }

    func testOtherVCPUsSelectorAndUpcall() {
        var page = FakeSharedInfo()
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 1000, vcpu: 3))
        XCTAssertEqual(page.word(3 * 64 + 4), 1 << 31, "port 1000 is in word 31")
        XCTAssertEqual(page.byte(at: 3 * 64), 1)
        XCTAssertEqual(page.word(4), 0, "VCPU 0 untouched")
        XCTAssertEqual(page.byte(at: 0), 0)
    }

    func testNeedsDeliveryHonoursUpcallMask() {
        var page = FakeSharedInfo()
        page.setByte(1, 1)   // evtchn_upcall_mask, as at boot
        TwoLevelEvents.markPending(&page, port: 5, vcpu: 0)
        XCTAssertFalse(TwoLevelEvents.needsDelivery(page, vcpu: 0))
        page.setByte(1, 0)
        XCTAssertTrue(TwoLevelEvents.needsDelivery(page, vcpu: 0))
        XCTAssertEqual(page.byte(at: 1), 0, "upcall_pending is bit 0 of the word; the mask byte is separate")
    }

    func testClearPending() {
        var page = FakeSharedInfo()
        TwoLevelEvents.markPending(&page, port: 33, vcpu: 0)
        TwoLevelEvents.clearPending(&page, port: 33)
        XCTAssertFalse(TwoLevelEvents.isPending(page, port: 33))
    }

    /// The guest's scan loop, as Linux's 2-level handler does it, finds exactly the ports marked.
    func testGuestScanFindsEveryUnmaskedPendingPort() {
        var page = FakeSharedInfo()
        var rng = SplitMix64(state: 42)
        var marked = Set<UInt32>()
        for _ in 0..<200 {
            let port = UInt32(rng.next() % 1024)
            if rng.next() % 4 == 0 { TwoLevelEvents.mask(&page, port: port) }
            TwoLevelEvents.markPending(&page, port: port, vcpu: 0)
            marked.insert(port)
        }
        // Masks are only ever added here, so a port unmasked now was unmasked when marked.
        let expected = marked.filter { !TwoLevelEvents.isMasked(page, port: $0) }
        XCTAssertLessThan(expected.count, marked.count, "some ports are masked")
        XCTAssertEqual(page.byte(at: 0), 1)
        page.setByte(0, 0)
        let selector = page.word(4)
        page.setWord(4, 0)
        var found = Set<UInt32>()
        for word in 0..<32 where selector & (1 << UInt32(word)) != 0 {
            let bits = page.word(2048 + word * 4) & ~page.word(2176 + word * 4)
            for bit in 0..<32 where bits & (1 << UInt32(bit)) != 0 { found.insert(UInt32(word * 32 + bit)) }
        }
        XCTAssertEqual(found, expected)
    }

    /// The same rules through SharedInfoPage over real memory, at the PVABI offsets.
    func testSharedInfoPageOverRealMemory() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        var page = SharedInfoPage(raw)
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 65, vcpu: 1))
        XCTAssertEqual(raw.load(fromByteOffset: 2048 + 8, as: UInt32.self), 1 << 1)
        XCTAssertEqual(raw.load(fromByteOffset: 64 + 4, as: UInt32.self), 1 << 2)
        XCTAssertEqual(raw.load(fromByteOffset: 64, as: UInt8.self), 1)
        raw.storeBytes(of: 1 << 1, toByteOffset: 2176 + 8, as: UInt32.self)   // guest masks port 65
        XCTAssertTrue(TwoLevelEvents.isMasked(page, port: 65))
        XCTAssertFalse(page.testAndSetBit(3, ofWordAt: 2048))
        XCTAssertTrue(page.testAndClearBit(3, ofWordAt: 2048))
        XCTAssertFalse(page.testBit(3, ofWordAt: 2048))
    }

    /// After register_vcpu_info, vCPU 0's selector, upcall flag and mask live in the guest's page:
    /// delivery writes there and reads the mask there; shared_info's own vcpu_info 0 is left alone.
    func testMovedVcpuInfoTakesVCPU0sWords() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        let moved = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { raw.deallocate(); moved.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        moved.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        var table: [UnsafeMutableRawPointer?] = [moved, nil]
        var page = SharedInfoPage(raw, moved: &table, count: 2)
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 70, vcpu: 0))
        XCTAssertEqual(raw.load(fromByteOffset: 2048 + 8, as: UInt32.self), 1 << 6, "the pending bitmap stays in shared_info")
        XCTAssertEqual(moved.load(fromByteOffset: 4, as: UInt32.self), 1 << 2, "the selector is in the moved vcpu_info")
        XCTAssertEqual(moved.load(fromByteOffset: 0, as: UInt8.self), 1, "so is upcall_pending")
        XCTAssertEqual(raw.load(fromByteOffset: 0, as: UInt64.self), 0, "shared_info's vcpu_info 0 is untouched")
        XCTAssertTrue(TwoLevelEvents.needsDelivery(page, vcpu: 0))
        moved.storeBytes(of: 1, toByteOffset: 1, as: UInt8.self)            // the guest masks upcalls in its own copy
        XCTAssertFalse(TwoLevelEvents.needsDelivery(page, vcpu: 0))
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 65, vcpu: 1), "vCPU 1's vcpu_info is still shared_info's")
        XCTAssertEqual(raw.load(fromByteOffset: 64, as: UInt8.self), 1)
    }

    /// Every vCPU's vcpu_info can move, each to its own page: vCPU 2's selector and upcall flag go to
    /// its page only, vCPU 1's (still in shared_info) stay there, and a vCPU beyond the table reads shared_info.
    func testEachVCPUsMovedVcpuInfoTakesItsOwnWords() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        let two = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        let three = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { raw.deallocate(); two.deallocate(); three.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        two.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        three.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        var table: [UnsafeMutableRawPointer?] = [nil, nil, two, three]
        var page = SharedInfoPage(raw, moved: &table, count: 4)
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 33, vcpu: 2))
        XCTAssertEqual(two.load(fromByteOffset: 4, as: UInt32.self), 1 << 1, "vCPU 2's selector is in its page")
        XCTAssertEqual(two.load(fromByteOffset: 0, as: UInt8.self), 1, "so is its upcall_pending")
        XCTAssertEqual(three.load(fromByteOffset: 0, as: UInt64.self), 0, "vCPU 3's page is untouched")
        XCTAssertEqual(raw.load(fromByteOffset: SharedInfo.vcpuInfoOffset(vcpu: 2), as: UInt64.self), 0, "shared_info's vcpu_info 2 is untouched")
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 64, vcpu: 1))
        XCTAssertEqual(raw.load(fromByteOffset: SharedInfo.vcpuInfoOffset(vcpu: 1) + 4, as: UInt32.self), 1 << 2, "vCPU 1's is still shared_info's")
        three.storeBytes(of: 1, toByteOffset: 1, as: UInt8.self)
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 100, vcpu: 3))
        XCTAssertFalse(TwoLevelEvents.needsDelivery(page, vcpu: 3), "vCPU 3's mask is read in its page")
        XCTAssertTrue(TwoLevelEvents.needsDelivery(page, vcpu: 2))
        XCTAssertTrue(TwoLevelEvents.markPending(&page, port: 200, vcpu: 5))
        XCTAssertEqual(raw.load(fromByteOffset: SharedInfo.vcpuInfoOffset(vcpu: 5), as: UInt8.self), 1, "beyond the table: shared_info")
    }

    /// The send path's two halves (setPending over shared_info's base, then raisePending over the whole
    /// page) do exactly what markPending does, over a random walk of marks, guest clears and masks, with
    /// vCPU 0's vcpu_info moved to a page of its own.
    func testSplitMarkPendingMatchesMarkPending() {
        func page() -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer) {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
            let moved = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
            moved.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
            return (raw, moved)
        }
        let (raw1, moved1) = page(), (raw2, moved2) = page()
        defer { raw1.deallocate(); moved1.deallocate(); raw2.deallocate(); moved2.deallocate() }
        var table1: [UnsafeMutableRawPointer?] = [moved1]
        var table2: [UnsafeMutableRawPointer?] = [moved2]
        var whole = SharedInfoPage(raw1, moved: &table1, count: 1)
        var split = SharedInfoPage(raw2, moved: &table2, count: 1)
        var rng = SplitMix64(state: 0x5917_A11F)
        var kicks = 0
        for _ in 0..<20_000 {
            let port = UInt32(rng.below(96)), vcpu = UInt32(rng.below(3))
            switch rng.below(6) {
            case 0:   // the guest clears a pending bit, a selector word or an upcall flag
                let (offset, bit) = [(2048 + Int(port / 32) * 4, Int(port % 32)),
                                     (SharedInfo.vcpuInfoOffset(vcpu: Int(vcpu)) + 4, Int(port / 32)),
                                     (SharedInfo.vcpuInfoOffset(vcpu: Int(vcpu)), 0)][rng.below(3)]
                _ = whole.testAndClearBit(bit, ofWordAt: offset)
                _ = split.testAndClearBit(bit, ofWordAt: offset)
            case 1:   // the guest flips a mask bit
                if rng.chance(2) { TwoLevelEvents.mask(&whole, port: port); TwoLevelEvents.mask(&split, port: port) }
                else { _ = whole.testAndClearBit(Int(port % 32), ofWordAt: 2176 + Int(port / 32) * 4)
                       _ = split.testAndClearBit(Int(port % 32), ofWordAt: 2176 + Int(port / 32) * 4) }
            default:
                let expected = TwoLevelEvents.markPending(&whole, port: port, vcpu: vcpu)
                var bitmap = SharedInfoPage(raw2)
                let got = TwoLevelEvents.setPending(&bitmap, port: port) && TwoLevelEvents.raisePending(&split, port: port, vcpu: vcpu)
                XCTAssertEqual(got, expected, "port \(port) vcpu \(vcpu)")
                if expected { kicks += 1 }
            }
            XCTAssertTrue(memcmp(raw1, raw2, 4096) == 0 && memcmp(moved1, moved2, 64) == 0, "the pages differ after port \(port)")
        }
        XCTAssertGreaterThan(kicks, 100)
    }

    /// The system and delivery together: dom2 sends to dom1 over a channel, dom1 has it masked, then unmasks.
    func testSendThenDeliverThenUnmask() throws {
        var system = EventChannelSystem(domainCapacity: 3)
        system.addDomain(1, privileged: false)
        system.addDomain(2, privileged: false)
        var pages = [FakeSharedInfo(), FakeSharedInfo(), FakeSharedInfo()]
        let p2 = try system.allocUnbound(caller: 2, domain: SpecialDomainID.selfID, remote: 1)
        let bound = try system.bindInterdomain(caller: 1, remoteDomain: 2, remotePort: p2)
        TwoLevelEvents.markPending(&pages[Int(bound.pending.domain)], port: bound.pending.port, vcpu: bound.pending.vcpu)
        XCTAssertTrue(TwoLevelEvents.isPending(pages[1], port: bound.localPort), "bind sets the new port pending")
        TwoLevelEvents.clearPending(&pages[1], port: bound.localPort)
        pages[1].setByte(0, 0)
        pages[1].setWord(4, 0)

        TwoLevelEvents.mask(&pages[1], port: bound.localPort)
        let target = try XCTUnwrap(try system.send(caller: 2, port: p2))
        XCTAssertFalse(TwoLevelEvents.markPending(&pages[Int(target.domain)], port: target.port, vcpu: target.vcpu))
        let vcpu = try system.unmaskVCPU(caller: 1, port: bound.localPort)
        XCTAssertTrue(TwoLevelEvents.unmask(&pages[1], port: bound.localPort, vcpu: vcpu))
        XCTAssertTrue(TwoLevelEvents.needsDelivery(pages[1], vcpu: 0))
        XCTAssertEqual(pages[2].words, FakeSharedInfo().words, "the sender's page is untouched")
    }

    /// EVTCHNOP_unmask by vCPU 0 of a loopback port bind_vcpu moved to vCPU 2 (its vcpu_info moved to a
    /// page of its own), masked while a send made it pending: as Xen's evtchn_2l_unmask the port is
    /// raised for vCPU 2 (its selector and upcall flag, in its page) and the answer says kick it, which
    /// the hypervisor acts on by waking vCPU 2 (a vCPU blocked in SCHEDOP_block takes the upcall).
    /// Nothing is raised for vCPU 0, whose vcpu_info (shared_info's) stays untouched.
    func testUnmaskRaisesThePortsOwnVCPUAfterBindVCPU() throws {
        var system = EventChannelSystem(domainCapacity: 2)
        system.addDomain(1, privileged: false, vcpus: 4)
        let a = try system.allocUnbound(caller: 1, domain: SpecialDomainID.selfID, remote: SpecialDomainID.selfID)
        let bound = try system.bindInterdomain(caller: 1, remoteDomain: SpecialDomainID.selfID, remotePort: a)
        XCTAssertThrowsError(try system.bindVCPU(caller: 1, port: a, vcpu: 4), "no vCPU 4: ENOENT") { error in
            XCTAssertEqual((error as? EventChannelRefusal)?.error, .ENOENT)
        }
        try system.bindVCPU(caller: 1, port: a, vcpu: 2)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        let two = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { raw.deallocate(); two.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        two.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        var table: [UnsafeMutableRawPointer?] = [nil, nil, two, nil]
        var page = SharedInfoPage(raw, moved: &table, count: 4)
        TwoLevelEvents.mask(&page, port: a)
        let target = try XCTUnwrap(try system.send(caller: 1, port: bound.localPort))
        XCTAssertEqual(target.vcpu, 2, "the send is for the vCPU bind_vcpu chose")
        XCTAssertFalse(TwoLevelEvents.markPending(&page, port: target.port, vcpu: target.vcpu), "masked: no kick")
        XCTAssertEqual(two.load(fromByteOffset: 0, as: UInt64.self), 0, "nothing raised while masked")
        let vcpu = try system.unmaskVCPU(caller: 1, port: a)
        XCTAssertEqual(vcpu, 2)
        XCTAssertTrue(TwoLevelEvents.unmask(&page, port: a, vcpu: vcpu), "unmask of a pending port: kick its vCPU")
        XCTAssertEqual(two.load(fromByteOffset: 4, as: UInt32.self), 1 << (a / 32), "vCPU 2's selector, in its page")
        XCTAssertEqual(two.load(fromByteOffset: 0, as: UInt8.self), 1, "vCPU 2's upcall flag, in its page")
        XCTAssertEqual(raw.load(fromByteOffset: 0, as: UInt64.self), 0, "vCPU 0's vcpu_info is untouched")
        XCTAssertFalse(TwoLevelEvents.unmask(&page, port: a, vcpu: vcpu), "unmasked already: nothing more")
    }

    /// EVTCHNOP_reset as Xen's evtchn_reset: every port in use is closed and, as evtchn_free does for
    /// each, its pending bit cleared; mask bits and the pending bit of a port that was free stay.
    func testResetClosesPortsAndClearsTheirPendingBits() throws {
        var system = EventChannelSystem(domainCapacity: 3)
        system.addDomain(0, privileged: true)
        system.addDomain(1, privileged: false)
        var page = FakeSharedInfo()
        let unbound = try system.allocUnbound(caller: 1, domain: SpecialDomainID.selfID, remote: 0)
        let virq = try system.bindVirq(caller: 1, virq: Virq.timer, vcpu: 0)
        let peer = try system.allocUnbound(caller: 0, domain: SpecialDomainID.selfID, remote: 1)
        let bound = try system.bindInterdomain(caller: 1, remoteDomain: 0, remotePort: peer)
        for port in [unbound, virq, bound.localPort] { _ = TwoLevelEvents.markPending(&page, port: port, vcpu: 0) }
        TwoLevelEvents.mask(&page, port: virq)
        // A bit the guest left set on a port nobody bound: Xen frees no port there, so it stays.
        let free: UInt32 = 40
        _ = page.testAndSetBit(Int(free % 32), ofWordAt: 2048 + Int(free / 32) * 4)

        let closed = try system.reset(caller: 0, domain: 1)
        XCTAssertEqual(closed, [unbound, virq, bound.localPort])
        for port in closed { TwoLevelEvents.clearPending(&page, port: port) }
        for port in closed { XCTAssertFalse(TwoLevelEvents.isPending(page, port: port), "port \(port) still pending after reset") }
        XCTAssertTrue(TwoLevelEvents.isPending(page, port: free))
        XCTAssertTrue(TwoLevelEvents.isMasked(page, port: virq), "reset leaves the mask bitmap as the guest set it")
        XCTAssertEqual(system.table(1)?.portsInUse, 0)
        XCTAssertEqual(system.state(domain: 0, port: peer), .unbound(remote: 1))
        // Nothing left to close: a second reset closes nothing.
        XCTAssertEqual(try system.reset(caller: 1, domain: SpecialDomainID.selfID), [])
    }
}
