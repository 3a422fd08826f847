// DecoderFuzzer.swift: libFuzzer's entry for everything in ApusCore that parses guest bytes: every
// hypercall decoder, the instruction fetch and store decoder of the ptwr emulator, the #GP emulator's
// privileged-instruction decoder and its ins/outs memory planner, VCPUOP_initialise's vcpu_guest_context, bounce-frame
// placement, the ELF and Xen-notes parsers of the domain builder, grant tables, dom0's xenstored core, the console and store rings' moves and the relay label, dom0's blkback and netback request decoders, dom0's HTTP request parser and JSON reader. An input is a selector byte,
// five argument registers and a guest-memory image (ImageMemory). A trap or a copy out is a finding.
// Built by `make fuzz` with `swiftc -sanitize=fuzzer`; never part of the hypervisor.

import ApusCore
import PVABI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 21 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    func word(_ i: Int) -> UInt32 { bytes.loadUnaligned(fromByteOffset: 1 + 4 * i, as: UInt32.self) }
    let a = HypercallArguments(word(0), word(1), word(2), word(3), word(4))
    let image = UnsafeRawBufferPointer(rebasing: bytes[21...])
    var m = ImageMemory(image: image)
    DecoderTarget.run(bytes[0], a, &m, image)
    return 0
}

enum DecoderTarget {
    static let count: UInt8 = 33

    static func run(_ selector: UInt8, _ a: HypercallArguments, _ m: inout ImageMemory, _ image: UnsafeRawBufferPointer) {
        switch selector % count {
        case 0: _ = SchedOpRequest.decode(a, &m)
        case 1: var g = SetGDTRequest(); _ = g.decode(a, &m)
        case 2: _ = UpdateDescriptorRequest.decode(a)
        case 3: var t = TrapTableRequest(); _ = t.decode(list: a.a1, &m)
        case 4: _ = SetCallbacksRequest.decode(a)
        case 5: _ = CallbackOpRequest.decode(a, &m)
        case 6: _ = StackSwitchRequest.decode(a)
        case 7:
            _ = IretRequest.decode(esp: a.a1, ss: a.a2, &m)
            var frame = TrapFrame()
            frame.esp = a.a1; frame.ss = a.a2; frame.cs = a.a3
            _ = withUnsafeMutablePointer(to: &frame) { IretInPlace.apply($0, &m) }
        case 8:
            if case .success(let b) = MulticallBatch.decode(a), b.entries.count > 0 {
                _ = b.entry(a.a3 % b.entries.count, &m)
            }
        case 9: _ = ConsoleIORequest.decode(a, privileged: a.a5 & 1 == 0)
        case 10:
            if case .success(let b) = PageTableBatch.decode(a, caller: UInt16(truncatingIfNeeded: a.a5), elementSize: MMUUpdateLayout.size) {
                var i: UInt32 = 0
                while let slot = b.list.element(i), i < 64, let raw: GuestBytes<16> = m.read(slot) { _ = PageTableBatch.mmuUpdate(raw); i += 1 }
            }
        case 11:
            if case .success(let b) = PageTableBatch.decode(a, caller: UInt16(truncatingIfNeeded: a.a5), elementSize: MMUExtOpLayout.size),
               let slot = b.list.element(0), let op: GuestBytes<12> = m.read(slot) {
                _ = PageTableBatch.mmuextOp(op)
            }
        case 12: _ = UpdateVAMappingRequest.decode(a)
        case 13:
            _ = EventChannelRequest.decode(a, &m)
            // The FIFO ABI's commands and their rules over what was decoded.
            if let op = EventChannelOp(rawValue: 11 + a.a1 % 3), case .success(let r) = FifoEventRequest.decode(op, a.a2, &m) {
                var setup = FifoSetup()
                setup.abi = a.a5 & 1 == 0 ? .twoLevel : .fifo
                setup.controlBlocks = UInt64(a.a4)
                setup.arrayPages = a.a5 >> 24
                switch r {
                case .initControl(_, let offset, let vcpu, _):
                    _ = FifoControlRules.initControl(setup, vcpu: vcpu, vcpus: a.a3 % 130, offset: offset, frame: .ownWritableRAM)
                case .expandArray: _ = FifoControlRules.expandArray(setup, portLimit: a.a3, frame: .ownWritableRAM)
                case .setPriority(let port, let priority): _ = FifoControlRules.setPriority(setup, port: port, priority: priority, portLimit: a.a3)
                }
            }
        case 14: _ = SysctlRequest.decode(a, &m)
        case 15: _ = DomctlRequest.decode(a, &m)
        case 16: _ = MemoryOpRequest.decode(a, &m)
        case 17: _ = XenVersionRequest.decode(a, &m)
        case 18:
            _ = VcpuOpRequest.decode(a, vcpus: Int(a.a5 % 9), &m)
            // VCPUOP_initialise's vcpu_guest_context: the image as its 2800 bytes, then the rules.
            if case .success(let c) = VcpuContextDecode.decode(image) {
                _ = VcpuContextRules.refusal(c)
            }
        case 19: _ = VMAssistRequest.decode(a, &m)
        case 20: _ = SetTimerOpRequest.decode(a, &m)
        case 21:
            let fetched = InstructionBytes.fetch(a.a1, &m)
            _ = StoreDecoder.decode(fetched, registers: StoreDecoder.Registers(eax: a.a2, ecx: a.a3, edx: a.a4, ebx: a.a5))
        case 22:
            let words = BounceFrame.words(eip: a.a2, cs: a.a3, eflags: a.a4, errorCode: a.a5 & 1 == 0 ? a.a5 : nil,
                                          interruptedRing: a.a5 & 3, interruptedESP: a.a1, interruptedSS: a.a2, savedUpcallMask: 0)
            _ = BounceFrame.place(words, below: a.a1)
        case 23:
            // The domain builder's parsers: the image is an ELF file from dom0 (or GRUB).
            // XenNotes.parse walks PT_NOTE, then the section table's SHT_NOTE, then __xen_guest.
            if let elf = try? ElfImage(image) {
                if let notes = try? XenNotes.parse(elf) { _ = try? XenNotes.check(notes) }
                if let symbols = try? BsdSymbolTable.plan(elf, after: a.a1) { _ = symbols.header(elf) }
            }
        case 24:
            // grant_table_op's decoder and the grant-table core over a fake shared memory.
            GrantFuzz.run(a, &m, image)
        case 27: _ = PhysdevOpRequest.decode(a, privileged: a.a5 & 1 == 0, &m)
        case 28: _ = PlatformOpRequest.decode(a, privileged: a.a5 & 1 == 0, &m)
        case 29:
            _ = SetDebugRegRequest.decode(register: a.a1, value: a.a2, cr4DE: a.a3 & 1 == 0)
            _ = GetDebugRegRequest.decode(register: a.a1, cr4DE: a.a3 & 1 == 0)
            _ = SetDebugRegRequest.mergedDR6(stored: a.a4, hardware: a.a5)
        case 26:
            // The shared rings' moves and the console line sanitiser (dom0), the relay label (hypervisor).
            RingFuzz.run(a, image)
        case 31:
            // dom0's backends: blkif and netif requests, ring indexes, the xenbus handshake, the bridge.
            BackendFuzz.run(a, image)
        case 30:
            // The #GP emulator's decoder (port I/O, control-register moves): over the raw image, over
            // a slice that does not start at 0, and over what InstructionFetch gives it from a guest EIP.
            let raw = Array(image)
            PrivilegedInstructionFuzz.check(raw)
            let skip = Int(a.a2 % 16)
            if skip <= raw.count { PrivilegedInstructionFuzz.check(raw[skip...]) }
            PrivilegedInstructionFuzz.check(InstructionBytes.fetch(a.a1, &m))
            // The ins/outs memory planner: any registers and any descriptor.
            PrivilegedInstructionFuzz.checkPlan(a)
            // The 4gb_segments assist: the faulting instruction's memory operand, and the flip of any
            // descriptor at that offset.
            PrivilegedInstructionFuzz.checkSegmentFixup(raw, a)
            if skip <= raw.count { PrivilegedInstructionFuzz.checkSegmentFixup(raw[skip...], a) }
        case 32:
            // dom0's HTTP API server: the request parser, its routes, the JSON reader (issue #15).
            HttpFuzz.run(a.a1, a.a2, image)
        default:
            // dom0's xenstored: the image is what a guest put on its store ring.
            StoreFuzz.run(image, chunking: a.a1)
        }
    }
}

/// The decoder's contract beyond not trapping: a decoded instruction lies inside the bytes given.
enum PrivilegedInstructionFuzz {
    static func check<C: RandomAccessCollection>(_ bytes: C) where C.Element == UInt8, C.Index == Int {
        guard let (instruction, length) = PrivilegedInstruction.decode(bytes) else { return }
        precondition(length >= 1 && length <= bytes.count, "decode claimed \(length) bytes of \(bytes.count)")
        switch instruction {
        case .portIn(let size, _), .portOut(let size, _):
            precondition(size == 1 || size == 2 || size == 4, "port access of \(size) bytes")
        case .readControl(let cr, let reg), .writeControl(let cr, let reg):
            precondition(cr <= 4 && reg <= 7, "control register \(cr), register \(reg)")
        case .clearInterrupts, .setInterrupts:
            precondition(length <= 2, "cli/sti of \(length) bytes")
        case .readDebug(let dr, let reg), .writeDebug(let dr, let reg):
            precondition(dr <= 7 && reg <= 7 && length == 3, "debug register \(dr), register \(reg), \(length) bytes")
        case .clearTaskSwitched, .writeBackInvalidate, .readMSR, .writeMSR:
            precondition(length == 2, "two-byte instruction of \(length) bytes")
        case .stringIn(let size, _), .stringOut(let size, _, _):
            precondition((size == 1 || size == 2 || size == 4) && length <= PrivilegedInstruction.maximumLength, "ins/outs of \(size) bytes, \(length) long")
        }
    }

    /// SegmentedOperand and FourGBSegments' contract: an operand lies inside the bytes given (at most
    /// 15), and a flip is a descriptor the check accepts unchanged, its offset valid, below the hypervisor.
    static func checkSegmentFixup<C: RandomAccessCollection>(_ bytes: C, _ a: HypercallArguments) where C.Element == UInt8, C.Index == Int {
        let registers = [a.a1, a.a2, a.a3, a.a4, a.a5, a.a1 ^ a.a2, a.a3 ^ a.a4, a.a5 &+ a.a1]
        guard let op = SegmentedOperand.decode(bytes, register: { registers[Int($0 & 7)] }) else { return }
        precondition(op.length >= 1 && op.length <= min(15, bytes.count), "operand of \(op.length) bytes of \(bytes.count)")
        let raw = UInt64(a.a3) << 32 | UInt64(a.a4)
        guard let flipped = FourGBSegments.flip(raw, offset: op.offset) else { return }
        precondition(DescriptorCheck.check(flipped) == .accept(flipped), "a flip the check rewrites or refuses")
        let d = SegmentDescriptor(raw: flipped)
        let growsDown = d.type & 0x4 != 0
        precondition(growsDown ? op.offset > d.limitBytes : op.offset <= d.limitBytes, "the offset is not valid after the flip")
        precondition(d.base &+ op.offset < DescriptorCheck.segmentMaxAddr, "a flip reaching the hypervisor")
    }

    /// StringPortTransfer's contract: a chunk is at most maxIterations elements, its span lies below the
    /// hypervisor and every element inside it, and ECX and the offset move by exactly what it covers.
    static func checkPlan(_ a: HypercallArguments) {
        let size: UInt8 = [1, 2, 4, 1][Int(a.a5 & 3)]
        let rep = a.a5 & 4 != 0
        let descending = a.a5 & 8 != 0
        let write = a.a5 & 16 != 0
        let descriptor = a.a5 & 32 != 0 ? nil : SegmentDescriptor(raw: UInt64(a.a3) << 32 | UInt64(a.a4))
        switch StringPortTransfer.plan(size: size, rep: rep, count: a.a1, descending: descending, offset: a.a2,
                                       descriptor: descriptor, write: write, maxIterations: (a.a5 >> 8) & 0x3FF) {
        case .nothing, .generalProtection: break
        case .transfer(let t):
            precondition(t.iterations >= 1 && t.iterations <= max(1, (a.a5 >> 8) & 0x3FF) && t.span.end <= GuestRange.limit)
            precondition(UInt64(t.span.count) == UInt64(t.iterations) * UInt64(size))
            for i in [0, t.iterations - 1] {
                guard let e = t.element(i) else { preconditionFailure("element \(i) outside its span") }
                precondition(e.start >= t.span.start && e.end <= t.span.end)
            }
            precondition(t.element(t.iterations) == nil)
            precondition(!rep || t.countAfter == a.a1 - t.iterations)
            precondition(t.offset(after: t.iterations, from: a.a2) == t.offsetAfter)
        }
    }
}
