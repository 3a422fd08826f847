// MemoryOpDecodeTests.swift: memory_op's decoder: the reservation queries' domid, the memory map's OUT
// ranges, each refusal with its errno and reason, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class MemoryOpDecodeTests: XCTestCase {
    func memory() -> FakeGuestMemory { .blank(seed: 12) }

    func decode(_ command: UInt32, _ arg: UInt32, _ m: inout FakeGuestMemory) -> Decoded<MemoryOpRequest> {
        MemoryOpRequest.decode(HypercallArguments(command, arg, 0, 0, 0), &m)
    }

    func testEachCommand() {
        var m = memory()
        guard case .maximumRAMPage? = accepted(decode(MemoryOpCommand.maximumRAMPage.rawValue, 0xFFFF_FFFF, &m)) else { return XCTFail() }
        m.place([0xF0, 0x7F, 0xEE, 0xEE], at: 0x2000)
        guard case .currentReservation(SpecialDomainID.selfID)? = accepted(decode(MemoryOpCommand.currentReservation.rawValue, 0x2000, &m)) else { return XCTFail() }
        guard case .maximumReservation(SpecialDomainID.selfID)? = accepted(decode(MemoryOpCommand.maximumReservation.rawValue, 0x2000, &m)) else { return XCTFail() }
        m.place32([4, 0x5000], at: 0x3000)
        guard case .memoryMap(let first, let count)? = accepted(decode(MemoryOpCommand.memoryMap.rawValue, 0x3000, &m)) else { return XCTFail() }
        XCTAssertEqual(first, GuestRange(0x5000, count: UInt32(E820EntryLayout.size)))
        XCTAssertEqual(count, GuestRange(0x3000 + UInt32(XenMemoryMapLayout.nrEntriesOffset), count: 4))
        m.place32([0, 0x5000], at: 0x3100)
        guard case .memoryMap(nil, let none)? = accepted(decode(MemoryOpCommand.memoryMap.rawValue, 0x3100, &m)) else {
            return XCTFail("a buffer with room for no entry gets none, as on Xen")
        }
        XCTAssertEqual(none, GuestRange(0x3100, count: 4))
        XCTAssertEqual(m.copiesOut, 0)
    }

    func testMachphysMapping() {
        var m = memory()
        guard case .machphysMapping(let out)? = accepted(decode(MemoryOpCommand.machphysMapping.rawValue, 0x4000, &m)) else { return XCTFail() }
        XCTAssertEqual(out, GuestRange(0x4000, count: 12))
        XCTAssertEqual(MemoryOpCommand.machphysMapping.rawValue, 12)
        let bytes = MachphysMapping.bytes
        XCTAssertEqual(bytes.count, 12)
        XCTAssertEqual(bytes.u32(0), 0xF580_0000, "v_start: MACH2PHYS_VIRT_START")
        XCTAssertEqual(bytes.u32(4), 0xF680_0000, "v_end: the end of the 16 MiB read-only M2P")
        XCTAssertEqual(bytes.u32(8), 0x3F_FFFF, "max_mfn: MACH2PHYS_NR_ENTRIES - 1")
        for va: UInt32 in [0xFFFF_FFF8, GuestRange.limit - 11] {
            assertRefused(decode(MemoryOpCommand.machphysMapping.rawValue, va, &m), .EFAULT, "xen_machphys_mapping is not writable guest memory")
        }
        XCTAssertNotNil(accepted(decode(MemoryOpCommand.machphysMapping.rawValue, GuestRange.limit - 12, &m)))
        XCTAssertEqual(m.copiesOut, 0, "the decoder never writes")
    }

    func testRefusals() {
        var m = memory()
        assertRefused(decode(64, 0, &m), .ENOSYS, "unknown memory_op command")
        for c in [MemoryOpCommand.increaseReservation, .decreaseReservation, .machphysMFNList, .populatePhysmap, .machineMemoryMap] {
            assertRefused(decode(c.rawValue, 0x2000, &m), .ENOSYS, "this memory_op command is not implemented")
        }
        for va: UInt32 in [0xFFFF_FFFF, GuestRange.limit - 1, 0x9000] {
            assertRefused(decode(MemoryOpCommand.currentReservation.rawValue, va, &m), .EFAULT, "domid is not readable guest memory")
            assertRefused(decode(MemoryOpCommand.memoryMap.rawValue, va, &m), .EFAULT, "xen_memory_map is not readable guest memory")
        }
        m.place32([1, GuestRange.limit - 19], at: 0x3000)
        assertRefused(decode(MemoryOpCommand.memoryMap.rawValue, 0x3000, &m), .EFAULT, "the memory map buffer is not writable guest memory")
        m.place32([1, GuestRange.limit - 20], at: 0x3000)
        XCTAssertNotNil(accepted(decode(MemoryOpCommand.memoryMap.rawValue, 0x3000, &m)), "an entry ending at the limit is guest memory")
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 12, firstArgument: { $0.below(UInt32(13)) }) { a, m in
            switch MemoryOpRequest.decode(a, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        for e in [XenError.EFAULT, .ENOSYS] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
