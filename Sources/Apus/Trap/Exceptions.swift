// Exceptions.swift: what happens to the 32 CPU exceptions. A ring-0 fault at an instruction
// listed in the exception table resumes at its fixup; anything else in ring 0 is a hypervisor
// bug and panics, except a #DB, which only a guest's data breakpoint can raise in ring 0 (logged, then
// resumed as Xen does). It must never resume a ring-0 fault silently.

import ApusCore

/// What the last recovered exception looked like, for self-tests to compare with what they caused.
struct TrapRecord {
    var vector: UInt32 = 0
    var errorCode: UInt32 = 0
    var cr2: UInt32 = 0
    var eip: UInt32 = 0
    var resumedAt: UInt32 = 0
    var count: UInt32 = 0
}

enum Exceptions {
    static var symbols = Symbols()
    static var last = TrapRecord()

    static func handle(_ frame: UnsafeMutablePointer<TrapFrame>) {
        let vector = frame.pointee.vector
        let cr2 = vector == 14 ? cpu_read_cr2() : 0
        if frame.pointee.fromGuest {
            Panic.trap(frame, cr2: cr2, reason: "exception from a guest ring, and no domain runs yet")
        }
        if vector == 1 {
            // Only a guest's data breakpoint can fire here (see DebugRegisters.hypervisorTrap).
            DebugRegisters.hypervisorTrap(frame)
            return
        }
        if vector == 3 && TestHooks.takeExpectedBreakpoint() {
            record(frame, cr2: cr2, resumeAt: frame.pointee.eip)
            return
        }
        if let fixup = fixup(for: frame.pointee.eip) {
            record(frame, cr2: cr2, resumeAt: fixup)
            frame.pointee.eip = fixup
            return
        }
        Panic.trap(frame, cr2: cr2, reason: "unexpected exception in the hypervisor")
    }

    private static func record(_ frame: UnsafeMutablePointer<TrapFrame>, cr2: UInt32, resumeAt: UInt32) {
        last.vector = frame.pointee.vector
        last.errorCode = frame.pointee.errorCode
        last.cr2 = cr2
        last.eip = frame.pointee.eip
        last.resumedAt = resumeAt
        last.count &+= 1
    }

    /// The exception table: (faulting instruction, where to resume) pairs from `.apus_extable`.
    /// The table never changes after link, so the last pair found is remembered: a fault that
    /// repeats at one instruction (a probe in a loop) is not searched for again.
    static func fixup(for eip: UInt32) -> UInt32? {
        if eip == lastFixup.eip && lastFixup.resume != 0 { return lastFixup.resume }
        var entry = symbols.extableStart
        while entry + 8 <= symbols.extableEnd {
            let pair = pointer(to: UInt32.self, at: entry)
            if pair[0] == eip {
                lastFixup = (eip, pair[1])
                return pair[1]
            }
            entry += 8
        }
        return nil
    }
    private static var lastFixup: (eip: UInt32, resume: UInt32) = (0, 0)
}
