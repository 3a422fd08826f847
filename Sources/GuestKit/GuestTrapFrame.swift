// GuestTrapFrame.swift: what GuestKit/Asm/traps.asm leaves for the kernel's trap handler: the
// general registers, the vector and error code, then the Xen bounce frame the hypervisor built.
// It must stay in the stub's push order; the kernel edits it to choose where to resume.

public struct GuestTrapFrame {
    public var edi: UInt32, esi: UInt32, ebp: UInt32, espAtPushad: UInt32
    public var ebx: UInt32, edx: UInt32, ecx: UInt32, eax: UInt32
    public var vector: UInt32
    public var errorCode: UInt32
    public var eip: UInt32
    /// The interrupted CS; bits 16-23 hold the saved event upcall mask (Xen's bounce frame).
    public var csAndMask: UInt32
    public var eflags: UInt32
    public var esp: UInt32        // only when the trap came from ring 3
    public var ss: UInt32         // only when the trap came from ring 3

    public var cs: UInt32 { csAndMask & 0xFFFF }
    public var ring: UInt32 { csAndMask & 3 }
    public var savedUpcallMask: UInt32 { (csAndMask >> 16) & 0xFF }
}
