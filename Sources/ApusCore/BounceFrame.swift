// The frame the hypervisor writes on a guest kernel stack to deliver an exception, event or failsafe callback, and the decision whether a guest trap is delivered at all.
// Pure arithmetic on register values: it must never write guest memory (the caller does, through checked accesses that crash the domain on a fault).
//
// The frame is what a CPU would push through an interrupt gate into ring 1, in Xen's x86_32
// form: from the lowest address up, [DS, ES, FS, GS] (failsafe only), [error code], EIP,
// CS with the saved event mask in bits 16-23, EFLAGS with IF standing for "events were
// unmasked", and, when the guest was in ring 2 or 3, its ESP and SS. When the guest was in
// ring 1 the frame goes on the stack it was using; otherwise on the kernel stack it gave
// stack_switch. The guest returns with the iret hypercall.

import PVABI

/// The words of a bounce frame and where they go.
public struct BounceFrame {
    /// EFLAGS.IF.
    public static let interruptFlag: UInt32 = 1 << 9
    /// Flags the CPU clears on entry through a gate: TF (8), NT (14), RF (16), VM (17).
    public static let clearedOnEntry: UInt32 = (1 << 8) | (1 << 14) | (1 << 16) | (1 << 17)

    /// Whether delivering to the guest kernel switches to its registered kernel stack (and
    /// the frame carries the interrupted ESP and SS): the guest was in ring 2 or 3.
    public static func switchesStack(interruptedRing: UInt32) -> Bool { interruptedRing & 2 != 0 }

    /// The CS slot: the selector in bits 0-15, the upcall mask the guest had before this
    /// delivery in bits 16-23. The iret hypercall restores the mask from EFLAGS.IF instead,
    /// but guests read this byte to learn whether events were masked.
    public static func csSlot(cs: UInt32, savedUpcallMask: UInt8) -> UInt32 {
        (cs & 0xFFFF) | UInt32(savedUpcallMask) << 16
    }

    /// The upcall mask a CS slot carries (what `csSlot` put in bits 16-23).
    public static func savedUpcallMask(csSlot: UInt32) -> UInt8 { UInt8(truncatingIfNeeded: csSlot >> 16) }

    /// The EFLAGS slot: the interrupted EFLAGS with IF replaced by "events were unmasked"
    /// (the guest never runs with the real IF clear, so the real bit says nothing).
    public static func eflagsSlot(eflags: UInt32, savedUpcallMask: UInt8) -> UInt32 {
        (eflags & ~interruptFlag) | (savedUpcallMask == 0 ? interruptFlag : 0)
    }

    /// The frame of an exception or event, from the lowest address upward.
    /// IN: the interrupted context; `errorCode` only for vectors that push one; the
    /// interrupted ring (1-3); the upcall mask before delivery.
    /// OUT: [errorCode?, eip, cs | mask << 16, eflags with IF = (mask == 0), esp?, ss?].
    public static func words(
        eip: UInt32, cs: UInt32, eflags: UInt32, errorCode: UInt32?,
        interruptedRing: UInt32, interruptedESP: UInt32, interruptedSS: UInt32,
        savedUpcallMask: UInt8
    ) -> FrameWords {
        var frame = FrameWords()
        if let errorCode { frame.append(errorCode) }
        frame.append(eip)
        frame.append(csSlot(cs: cs, savedUpcallMask: savedUpcallMask))
        frame.append(eflagsSlot(eflags: eflags, savedUpcallMask: savedUpcallMask))
        if switchesStack(interruptedRing: interruptedRing) {
            frame.append(interruptedESP)
            frame.append(interruptedSS & 0xFFFF)
        }
        return frame
    }

    /// The frame of the failsafe callback, entered when the hypervisor could not reload the
    /// guest's data segment registers on its way back: the four selectors it could not load,
    /// below an ordinary frame with no error code.
    /// OUT: [ds, es, fs, gs, eip, cs | mask << 16, eflags, esp?, ss?] from the lowest address.
    public static func failsafeWords(
        eip: UInt32, cs: UInt32, eflags: UInt32,
        interruptedRing: UInt32, interruptedESP: UInt32, interruptedSS: UInt32,
        savedUpcallMask: UInt8, ds: UInt32, es: UInt32, fs: UInt32, gs: UInt32
    ) -> FrameWords {
        var frame = FrameWords()
        for selector in [ds, es, fs, gs] { frame.append(selector & 0xFFFF) }
        let rest = words(eip: eip, cs: cs, eflags: eflags, errorCode: nil,
                         interruptedRing: interruptedRing, interruptedESP: interruptedESP, interruptedSS: interruptedSS,
                         savedUpcallMask: savedUpcallMask)
        for i in 0..<rest.count { frame.append(rest[i]) }
        return frame
    }

    /// Where the frame goes: `words.count` words below `top`, as one checked guest range (nil
    /// when that would wrap or reach the hypervisor area). The bytes are `words.withBytes`.
    public static func place(_ words: FrameWords, below top: UInt32) -> GuestRange? {
        guard let range = GuestRange(newStackPointer(kernelESP: top, count: words.count), count: UInt32(words.count) * 4),
              range.end == top else { return nil }
        return range
    }

    /// The stack the frame is written to: the interrupted SS:ESP when the guest was in ring 1,
    /// else the kernel stack registered with stack_switch.
    public static func stack(
        interruptedRing: UInt32, interruptedESP: UInt32, interruptedSS: UInt32,
        kernelSS: UInt32, kernelESP: UInt32
    ) -> (ss: UInt32, esp: UInt32) {
        switchesStack(interruptedRing: interruptedRing) ? (kernelSS, kernelESP) : (interruptedSS, interruptedESP)
    }

    /// Where the frame starts, and the ESP the handler is entered with: `count` words below
    /// the top of the stack chosen by `stack(...)`. Wraps like the CPU's ESP; the caller's
    /// checked writes catch a stack that is not mapped.
    public static func newStackPointer(kernelESP: UInt32, count: Int) -> UInt32 {
        kernelESP &- UInt32(truncatingIfNeeded: count &* 4)
    }

    /// The real EFLAGS the handler starts with: the interrupted flags without TF, NT, RF and VM,
    /// as a gate would leave them, and IF set (a guest always runs with interrupts on; its
    /// virtual IF is the upcall mask).
    public static func handlerEFLAGS(interrupted eflags: UInt32) -> UInt32 {
        (eflags & ~clearedOnEntry) | interruptFlag | 0x2
    }

    /// The upcall mask while the handler runs: set when the entry masks events (the event and
    /// NMI callbacks always; a trap whose trap_info has the mask flag; failsafe when registered
    /// with CALLBACKF_mask_events), otherwise unchanged.
    public static func upcallMaskOnEntry(saved: UInt8, masksEvents: Bool) -> UInt8 {
        masksEvents ? saved | 1 : saved
    }
}

/// A bounce frame built inside the TrapFrame it bounces: the CPU pushed [error code, EIP, CS,
/// EFLAGS, ESP, SS] in exactly the bounce frame's order, so rewriting the CS, EFLAGS and SS slots
/// there (and EIP, for a software interrupt) leaves the frame's words where they already are, to be
/// copied out in one piece: no words are assembled elsewhere first.
public enum InPlaceBounce {
    /// Byte offsets in TrapFrame (pinned by TrapFrameTests): the error code, the last slot (SS) and the end.
    public static let errorCodeOffset = 52
    public static let eipOffset = 56
    public static let eflagsEnd = 68
    public static let ssEnd = 76

    /// Rewrites the slots of `frame` into the words `BounceFrame.words` gives for the same context,
    /// with the error code the frame holds when `hasErrorCode`.
    /// OUT: where those words now lie in the frame: a byte offset and a count (12, 16, 20 or 24).
    @inline(__always)
    public static func build(_ frame: inout TrapFrame, hasErrorCode: Bool, eipAdvance: UInt32,
                             savedUpcallMask: UInt8) -> (offset: Int, count: UInt32) {
        let switches = BounceFrame.switchesStack(interruptedRing: frame.ring)
        frame.eip = frame.eip &+ eipAdvance
        frame.eflags = BounceFrame.eflagsSlot(eflags: frame.eflags, savedUpcallMask: savedUpcallMask)
        frame.cs = BounceFrame.csSlot(cs: frame.cs, savedUpcallMask: savedUpcallMask)
        if switches { frame.ss &= 0xFFFF }
        let offset = hasErrorCode ? errorCodeOffset : eipOffset
        let end = switches ? ssEnd : eflagsEnd
        return (offset, UInt32(truncatingIfNeeded: end &- offset))
    }

    /// Where a frame of `count` bytes goes: just below `top`, as one checked guest range (nil when
    /// it would wrap below 0 or reach the hypervisor area).
    /// As the slice of [0, top) that ends at `top`: one compare for the limit, one for `top >= count`.
    @inline(__always)
    public static func place(count: UInt32, below top: UInt32) -> GuestRange? {
        GuestRange(0, count: top)?.slice(at: top &- count, count: count)
    }
}

/// What to do with a trap taken while a guest was running.
public enum TrapBounceDecision: Equatable, Sendable {
    /// Deliver `vector` to the guest's registered handler, with the error code if it has one.
    case bounce(vector: UInt8, errorCode: UInt32?)
    /// The guest executed `int vector` and may: deliver `vector` with no error code and the
    /// saved EIP advanced by 2 past the instruction.
    case softwareInterrupt(vector: UInt8)
    /// The guest executed `int n` it may not use: deliver #GP with `errorCode` ((n << 3) | 2)
    /// to its #GP handler, as the CPU would.
    case generalProtection(errorCode: UInt32)
    /// The guest registered no handler for `vector`: crash the domain and say so.
    case noHandler(vector: UInt8)
}

/// Decides how a guest trap is delivered.
///
/// The hypervisor's IDT gives guests no direct entry (only the hypercall gate 0x82 with DPL 1,
/// #BP and #OF with DPL 3, and 0x80 when DirectTrapGate gives the running guest its own trap
/// gate, which never reaches here), so a guest's `int n` for any other vector raises #GP with
/// error code (n << 3) | 2 (bit 1: the fault names an IDT entry; bit 0 clear: software, not
/// an external event). The guest's virtual IDT then decides, with the DPL the guest gave the
/// vector, as the CPU would with a real gate.
public enum TrapBounce {
    /// #GP.
    public static let generalProtectionVector: UInt8 = 13
    /// Length of `int imm8` (cd ib): EIP advances past it for a software interrupt.
    public static let softwareInterruptLength: UInt32 = 2

    /// Whether `decide` answers for `vector` from the vector's own entry alone: `.bounce(vector, its
    /// error code)` when a handler is registered, else `.noHandler(vector)`. True for every vector but
    /// #GP, whose error code may name the software interrupt it stands for. (The trap path bounces
    /// these without calling `decide`; a host test holds the two equal.)
    public static func isDecidedByItsEntry(_ vector: UInt8) -> Bool { vector != generalProtectionVector }

    /// IN: the vector taken, its error code (nil for vectors without one), the ring the guest
    /// was in (1-3), and the guest's virtual IDT, looked up per vector.
    /// OUT: the delivery to make. Pure: looks at nothing else.
    public static func decide(
        vector: UInt8, errorCode: UInt32?, interruptedRing: UInt32,
        trapTable: (UInt8) -> TrapInfo
    ) -> TrapBounceDecision {
        if vector == generalProtectionVector, let errorCode, errorCode & 0x3 == 0x2 {
            let n = UInt8(truncatingIfNeeded: errorCode >> 3)
            let entry = trapTable(n)
            if UInt32(entry.dpl) >= interruptedRing {
                return entry.hasHandler ? .softwareInterrupt(vector: n) : .noHandler(vector: n)
            }
            return trapTable(generalProtectionVector).hasHandler
                ? .generalProtection(errorCode: errorCode)
                : .noHandler(vector: generalProtectionVector)
        }
        return trapTable(vector).hasHandler ? .bounce(vector: vector, errorCode: errorCode) : .noHandler(vector: vector)
    }
}

/// The words of one bounce frame (at most 9), in hypervisor storage: no allocation per trap.
public struct FrameWords: Equatable, Sendable, ExpressibleByArrayLiteral {
    public static let capacity = 9
    private var storage: InlineArray<9, UInt32> = [0, 0, 0, 0, 0, 0, 0, 0, 0]   // nine stores, no loop
    public private(set) var count = 0
    public init() {}
    public init(arrayLiteral words: UInt32...) { for w in words { append(w) } }

    mutating func append(_ word: UInt32) {
        guard count < Self.capacity else { return }
        storage[count] = word
        count += 1
    }

    public subscript(i: Int) -> UInt32 { storage[i] }

    /// The frame's bytes as they go on the guest stack (little-endian words, lowest first).
    /// Mutating only so that the bytes are read where they are, not from a copy.
    public mutating func withBytes<R>(_ body: (UnsafeRawPointer) -> R) -> R {
        withUnsafeMutableBytes(of: &storage) { body(UnsafeRawPointer($0.baseAddress!)) }
    }

    /// The words as an array, for tests and logs.
    public var array: [UInt32] { (0..<count).map { storage[$0] } }

    public static func == (a: FrameWords, b: FrameWords) -> Bool { a.array == b.array }
}
