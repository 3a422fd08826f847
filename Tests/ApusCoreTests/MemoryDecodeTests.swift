// MemoryDecodeTests.swift: the decoders of set_gdt, update_descriptor, the mmu_update/mmuext_op
// batch, update_va_mapping, multicall and console_io: each refusal with its errno and reason, the
// accepted shapes, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class MemoryDecodeTests: XCTestCase {
    func memory() -> FakeGuestMemory { .blank(seed: 7) }
    // MARK: set_gdt

    func testSetGDTReadsOneFrameNumberPerPage() {
        var m = memory()
        m.place32([0x100, 0x101, 0x102], at: 0x6000)
        var g = SetGDTRequest()
        XCTAssertNil(g.decode(HypercallArguments(0x6000, 513, 0, 0, 0), &m))
        XCTAssertEqual(g.frameCount, 2)
        XCTAssertEqual(g.entries, 513)
        XCTAssertEqual([g[0], g[1]], [0x100, 0x101])
        XCTAssertNil(g.decode(HypercallArguments(0xFFFF_FFF8, 0, 0, 0, 0), &m))   // no entries: no list is read
        XCTAssertEqual(g.frameCount, 0)
    }

    func testSetGDTRefusals() {
        var m = memory()
        var g = SetGDTRequest()
        // The pointer that stopped the hypervisor, and the count that did (Int(0x80000000) on i686).
        XCTAssertEqual(g.decode(HypercallArguments(0xFFFF_FFF8, 16, 0, 0, 0), &m)?.error, .EFAULT)
        XCTAssertEqual("\(g.decode(HypercallArguments(0xFFFF_FFF8, 16, 0, 0, 0), &m)!.reason)", "set_gdt frame list is not readable")
        XCTAssertEqual("\(g.decode(HypercallArguments(0x6000, 0x8000_0000, 0, 0, 0), &m)!.reason)", "set_gdt reaches the hypervisor's reserved GDT entries")
        XCTAssertEqual(g.decode(HypercallArguments(0x6000, 7169, 0, 0, 0), &m)?.error, .EINVAL)
        XCTAssertEqual(g.decode(HypercallArguments(0x9000, 16, 0, 0, 0), &m)?.error, .EFAULT)     // unmapped
        XCTAssertEqual(g.decode(HypercallArguments(0xF57F_FFFC, 1024, 0, 0, 0), &m)?.error, .EFAULT) // second frame past the limit
    }

    func testUpdateDescriptor() {
        let ok = try? UpdateDescriptorRequest.decode(HypercallArguments(0x0012_3458, 0, 0x1234, 0x00CF_9A00, 0)).get()
        XCTAssertEqual(ok?.frame, 0x123)
        XCTAssertEqual(ok?.index, 0x458 >> 3)
        XCTAssertEqual(ok?.descriptor, 0x00CF_9A00_0000_1234)
        XCTAssertEqual(refusal(UpdateDescriptorRequest.decode(HypercallArguments(0x1004, 0, 0, 0, 0)))?.1, "descriptor address is not 8-byte aligned")
        XCTAssertEqual(refusal(UpdateDescriptorRequest.decode(HypercallArguments(0, 0x1000, 0, 0, 0)))?.1, "descriptor address is beyond machine memory")
    }

    // MARK: mmu_update / mmuext_op

    func testBatchChecksInOrder() {
        func decode(_ a: HypercallArguments) -> Decoded<PageTableBatch> { PageTableBatch.decode(a, caller: 3, elementSize: 16) }
        XCTAssertEqual(refusal(decode(HypercallArguments(0x1000, 1, 0, 4, 0)))?.1, "page-table operations on another domain are not allowed")
        XCTAssertEqual(refusal(decode(HypercallArguments(0xFFFF_FFF0, 4097, 0, 3, 0)))?.1, "batch longer than 4096 requests")
        XCTAssertEqual(refusal(decode(HypercallArguments(0xFFFF_FFF0, 1, 0, 0x7FF0, 0)))?.1, "request list reaches into the hypervisor area")
        XCTAssertEqual(refusal(decode(HypercallArguments(0x1000, 1, 0xFFFF_FFFE, 3, 0)))?.1, "the done count is not writable guest memory")
        let batch = try? decode(HypercallArguments(0x1000, 300, 0x2000, 0x7FF0, 0)).get()
        XCTAssertEqual(batch?.list.count, 300)
        XCTAssertEqual(batch?.doneCount, GuestRange(0x2000, count: 4))
        XCTAssertNil(try? decode(HypercallArguments(0x1000, 300, 0, 3, 0)).get().doneCount)
    }

    func testBatchElementsDecodeFromTheirLayout() {
        var m = memory()
        m.place32([0x0012_3001, 0, 0x0045_6067, 0, 0x0012_3009, 0, 0, 0], at: 0x3000)
        let second: GuestBytes<16>? = m.read(GuestRange(0x3010, count: 16)!)
        let first: GuestBytes<16>? = m.read(GuestRange(0x3000, count: 16)!)
        XCTAssertEqual(PageTableBatch.mmuUpdate(second!), MMUUpdateRequest(ptr: 0x0012_3009, val: 0))
        XCTAssertEqual(PageTableBatch.mmuUpdate(first!), MMUUpdateRequest(ptr: 0x0012_3001, val: 0x0045_6067))
        m.place32([MMUExtCommand.setLDT.rawValue, 0x10000, 16], at: 0x4000)
        let op: GuestBytes<12>? = m.read(GuestRange(0x4000, count: 12)!)
        XCTAssertEqual(PageTableBatch.mmuextOp(op!), MMUExtRequest(cmd: MMUExtCommand.setLDT.rawValue, arg1: 0x10000, arg2: 16))
        XCTAssertEqual(UpdateVAMappingRequest.decode(HypercallArguments(0x8000, 0x1067, 0x8000_0000, 2, 0)),
                       UpdateVAMappingRequest(va: 0x8000, value: 0x8000_0000_0000_1067, flags: 2))
    }

    // MARK: multicall

    func testMulticall() {
        var m = memory()
        m.place32([17, 0xDEAD, 1, 2, 3, 4, 5, 6], at: 0x5000)
        let batch = try! MulticallBatch.decode(HypercallArguments(0x5000, 1, 0, 0, 0)).get()
        let entry = try! batch.entry(0, &m).get()
        XCTAssertEqual(entry.op, 17)
        XCTAssertEqual([entry.arguments.a1, entry.arguments.a5], [1, 5])
        XCTAssertEqual(entry.result, GuestRange(0x5004, count: 4))
        XCTAssertNil(try? batch.entry(1, &m).get())
        XCTAssertEqual(refusal(MulticallBatch.decode(HypercallArguments(0x5000, 1025, 0, 0, 0)))?.1, "multicall batch longer than 1024 entries")
        XCTAssertEqual(refusal(MulticallBatch.decode(HypercallArguments(0xFFFF_FFF8, 1, 0, 0, 0)))?.1, "multicall array reaches into the hypervisor area")
        let unmapped = try! MulticallBatch.decode(HypercallArguments(0x9000, 2, 0, 0, 0)).get()
        XCTAssertEqual(refusal(unmapped.entry(0, &m))?.1, "multicall entry is not readable guest memory")
    }

    // MARK: console_io

    func testConsoleIO() {
        XCTAssertEqual(try? ConsoleIORequest.decode(HypercallArguments(0, 5, 0x1000, 0, 0), privileged: false).get(), .write(GuestRange(0x1000, count: 5)!))
        XCTAssertEqual(try? ConsoleIORequest.decode(HypercallArguments(1, 5, 0x1000, 0, 0), privileged: true).get(), .read(GuestRange(0x1000, count: 5)!))
        XCTAssertEqual(refusal(ConsoleIORequest.decode(HypercallArguments(1, 5, 0x1000, 0, 0), privileged: false))?.1, "only dom0 reads the hypervisor console")
        XCTAssertEqual(refusal(ConsoleIORequest.decode(HypercallArguments(0, 16, 0xFFFF_FFF8, 0, 0), privileged: false))?.1, "console_io buffer reaches into the hypervisor area")
        XCTAssertEqual(refusal(ConsoleIORequest.decode(HypercallArguments(2, 0, 0, 0, 0), privileged: true))?.0, .ENOSYS)
    }

    // MARK: instruction fetch and bounce frames

    func testInstructionFetchStopsWhereTheGuestCannotRead() {
        var m = memory()
        m.place([0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2], at: 0x7FFC)       // across a page boundary
        let across = InstructionBytes.fetch(0x7FFC, &m)
        XCTAssertEqual(across.count, 15)
        XCTAssertTrue(across.starts(with: [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2]))
        m.place([0x89, 0x03], at: 0xAFFE)                                        // next page unmapped
        let cut = InstructionBytes.fetch(0xAFFE, &m)
        XCTAssertEqual(Array(cut), [0x89, 0x03])
        XCTAssertEqual(InstructionBytes.fetch(0xFFFF_FFFE, &m).count, 0)
        XCTAssertEqual(InstructionBytes.fetch(0xF57F_FFFE, &m).count, 0)      // unmapped page at the top of guest space
        m.place([0x90, 0x90], at: 0xF57F_FFFE)
        XCTAssertEqual(InstructionBytes.fetch(0xF57F_FFFE, &m).count, 2)      // never past HYPERVISOR_VIRT_START
        XCTAssertFalse(InstructionBytes.fetch(0xF57F_FFFE, &m).starts(with: [0x90, 0x90, 0x90]))
    }

    func testBounceFrameIsPlacedWhollyInGuestSpace() {
        var words: FrameWords = [1, 2, 3]
        let placed = BounceFrame.place(words, below: 0xC000_0000)
        XCTAssertEqual(placed, GuestRange(0xBFFF_FFF4, count: 12))
        XCTAssertEqual(words.withBytes { $0.load(fromByteOffset: 8, as: UInt32.self) }, 3)
        XCTAssertNil(BounceFrame.place(words, below: 8))                 // would wrap below 0
        XCTAssertNil(BounceFrame.place(words, below: 0xF580_0004))       // would end in the hypervisor area
        XCTAssertNotNil(BounceFrame.place(words, below: 0xF580_0000))
        XCTAssertNil(BounceFrame.place(words, below: 0xFFFF_FFFF))
    }

    // MARK: fuzzing

    func testFuzzedSetGDT() {
        var g = SetGDTRequest()
        let tally = DecoderFuzzing.run(seed: 2) { a, m in g.decode(a, &m)?.error.rawValue }
        XCTAssertGreaterThan(tally.refused[XenError.EFAULT.rawValue] ?? 0, 0)
    }

    func testFuzzedRegisterOnlyDecoders() {
        _ = DecoderFuzzing.run(seed: 10) { a, _ in errno(UpdateDescriptorRequest.decode(a)) }
        _ = DecoderFuzzing.run(seed: 14) { a, _ in _ = UpdateVAMappingRequest.decode(a); return nil }
        _ = DecoderFuzzing.run(seed: 18) { a, _ in errno(ConsoleIORequest.decode(a, privileged: a.a5 & 1 == 0)) }
    }

    func testFuzzedBatches() {
        _ = DecoderFuzzing.run(seed: 1) { a, m in
            switch PageTableBatch.decode(a, caller: UInt16(truncatingIfNeeded: a.a5 & 3), elementSize: MMUUpdateLayout.size) {
            case .failure(let r): return r.error.rawValue
            case .success(let b):
                var i: UInt32 = 0
                while let slot = b.list.element(i), i < 64, let raw: GuestBytes<16> = m.read(slot) { _ = PageTableBatch.mmuUpdate(raw); i += 1 }
                return nil
            }
        }
        _ = DecoderFuzzing.run(seed: 13) { a, m in
            switch MulticallBatch.decode(a) {
            case .failure(let r): return r.error.rawValue
            case .success(let b): return b.entries.count == 0 ? nil : errno(b.entry(b.entries.count - 1, &m))
            }
        }
    }

    func testFuzzedInstructionFetchAndBounceFrames() {
        _ = DecoderFuzzing.run(seed: 6) { a, m in
            let bytes = InstructionBytes.fetch(a.a1, &m)
            _ = StoreDecoder.decode(bytes, registers: StoreDecoder.Registers(eax: a.a2, ecx: a.a3, edx: a.a4, ebx: a.a5, esp: 0, ebp: 0, esi: 0, edi: 0))
            let words = BounceFrame.words(eip: a.a2, cs: a.a3, eflags: a.a4, errorCode: a.a5 & 1 == 0 ? a.a5 : nil,
                                          interruptedRing: a.a5 & 3, interruptedESP: a.a1, interruptedSS: a.a2, savedUpcallMask: 0)
            return BounceFrame.place(words, below: a.a1) == nil ? XenError.EFAULT.rawValue : nil
        }
    }
}
