// DeviceEntryTests.swift: L1 entries that map device memory in the paging core: accepted only for
// a frame that is neither the table's RAM nor the firmware's, inside the domain's ranges, uncached;
// they hold no reference (a later change or teardown must not touch a record); the fast paths keep
// PCD; DOMID_IO requests are checked and made uncached (DeviceMemoryRule.deviceRequest).

import XCTest
import PVABI
@testable import ApusCore

final class DeviceEntryTests: XCTestCase {
    /// A device frame beyond the machine's 96 frames, and one the firmware lists as RAM although
    /// the frame table does not cover it.
    let mmio: UInt32 = 0xFEBF0
    let ramBeyondTable: UInt32 = 0x200
    let pcd = PTEFlags.cacheDisable.rawValue

    func machine(given: [FrameNumberRange]) -> (PagingMachine, UInt32) {
        let m = PagingMachine()
        m.frames.deviceMemory = DeviceMemoryRule(firmwareMap: [
            MemoryRegion(start: 0x4000, length: 92 * 4096, kind: .available)!,
            MemoryRegion(start: UInt64(ramBeyondTable) << 12, length: 0x10_0000, kind: .available)!,
        ])
        m.states[1]!.deviceFrames = DeviceFrameSet(FrameNumberRanges(given))!
        let space = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 1, space.l1))
        return (m, space.l1)
    }

    func testGivenUncachedDeviceFrameIsMappedWithoutReferences() {
        let (m, l1) = machine(given: [FrameNumberRange(first: 0xFEB00, last: 0xFEBFF)!])
        let before = m.snapshot()
        XCTAssertNil(m.set(1, l1, 7, PTE.make(mmio, PTE.p | PTE.rw | pcd)))
        XCTAssertEqual(m.snapshot(), before, "a device entry touches no frame record")
        // Same frame, PCD cleared: the fast paths must not let it through.
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(mmio, PTE.p | PTE.rw)), .deviceMemoryCached)
        XCTAssertEqual(m.memory.entry(l1, 7), PTE.make(mmio, PTE.p | PTE.rw | pcd))
        // Replaced by a RAM mapping, then cleared: only the RAM frame's counts move, and back.
        XCTAssertNil(m.set(1, l1, 7, PTE.make(m.f(1, 8), PTE.p)))
        XCTAssertNil(m.set(1, l1, 7, 0))
        XCTAssertEqual(m.snapshot(), before)
        // Revalidation (unpin, pin again) accepts the device entry as it is.
        XCTAssertNil(m.set(1, l1, 9, PTE.make(mmio, PTE.p | pcd)))
        XCTAssertNil(m.unpin(1, l1))
        XCTAssertNil(m.pin(1, 1, l1))
        m.teardown(1)
        m.assertDomainClean(1)
    }

    func testRefusals() {
        let (m, l1) = machine(given: [FrameNumberRange(first: 0xFEB00, last: 0xFEBFF)!])
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(mmio, PTE.p)), .deviceMemoryCached)
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(0xFEC00, PTE.p | pcd)), .hypervisorFrame, "the I/O APIC")
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(0xFD000, PTE.p | pcd)), .deviceMemoryNotGiven)
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(0xFD000, PTE.p | pcd))?.error, .EPERM)
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(ramBeyondTable + 3, PTE.p | pcd)), .frameBeyondMemory, "RAM by the firmware")
        // Not RAM in the table (frames 0-3) but RAM by the firmware map? Frames 0-3 are below the
        // map's first RAM frame here, and not given: refused.
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(2, PTE.p | pcd)), .deviceMemoryNotGiven)
        // Without the firmware map nothing is device memory.
        m.frames.deviceMemory = nil
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(mmio, PTE.p | pcd)), .frameBeyondMemory)
        XCTAssertEqual(m.memory.entry(l1, 7), 0, "nothing written on refusal")
    }

    func testDomainWithoutRangesMapsNoDeviceMemory() {
        let (m, l1) = machine(given: [])
        XCTAssertEqual(m.set(1, l1, 7, PTE.make(mmio, PTE.p | pcd)), .deviceMemoryNotGiven)
    }

    func testDeviceRequests() {
        let rule = DeviceMemoryRule(firmwareMap: [MemoryRegion(start: 0, length: 0x1000_0000, kind: .available)!])
        let given = DeviceFrameSet(FrameNumberRanges([FrameNumberRange(first: 0xFE000, last: 0xFEFFF)!]))!
        let entry = PTE.make(0xFE001, PTE.p | PTE.rw | (1 << 7))
        guard case .success(let r) = rule.deviceRequest(MMUUpdateRequest(ptr: 0x5008, val: entry), permitted: given) else { return XCTFail() }
        XCTAssertEqual(r.ptr, 0x5008)
        XCTAssertEqual(r.val, PTE.make(0xFE001, PTE.p | PTE.rw | pcd | PTEFlags.writeThrough.rawValue), "uncached, PAT cleared")
        XCTAssertEqual(try? rule.deviceRequest(MMUUpdateRequest(ptr: 0x5008, val: 0), permitted: given).get(),
                       MMUUpdateRequest(ptr: 0x5008, val: 0), "clearing an entry is always allowed")
        func refused(_ ptr: UInt64, _ val: UInt64) -> DeviceMappingRefusal? {
            if case .failure(let f) = rule.deviceRequest(MMUUpdateRequest(ptr: ptr, val: val), permitted: given) { return f }
            return nil
        }
        XCTAssertEqual(refused(0x5009, PTE.make(0xFE001, PTE.p)), .notAnEntry, "MMU_MACHPHYS_UPDATE")
        XCTAssertEqual(refused(0x5009, PTE.make(0xFE001, PTE.p))?.error, .EINVAL)
        XCTAssertEqual(refused(0x5008, PTE.make(0x100, PTE.p)), .frame(.ram))
        XCTAssertEqual(refused(0x5008, PTE.make(0x100, PTE.p))?.error, .EPERM)
        XCTAssertEqual(refused(0x5008, PTE.make(0xFEE00, PTE.p)), .frame(.hypervisorDevice))
        XCTAssertEqual(refused(0x5008, PTE.make(0xFF000, PTE.p)), .frame(.notGiven))
        XCTAssertEqual(refused(0x500A, 1 << 44 | PTE.p), .frame(.ram), "a frame past 32 bits")
    }

    func testDeviceFrameSetMirrorsRanges() {
        var rng = SplitMix64(seed: 0xDE71CE)
        for _ in 0..<200 {
            var ranges = FrameNumberRanges()
            for _ in 0..<Int(rng.next() % 10) {
                let first = UInt32(rng.next() % 4096)
                _ = ranges.add(FrameNumberRange(first: first, last: first + UInt32(rng.next() % 64))!)
            }
            guard let set = DeviceFrameSet(ranges) else {
                XCTAssertGreaterThan(ranges.ranges.count, DeviceFrameSet.capacity)
                continue
            }
            for _ in 0..<200 {
                let f = UInt32(rng.next() % 4200)
                XCTAssertEqual(set.contains(f), ranges.contains(f), "frame \(f)")
            }
        }
    }
}
