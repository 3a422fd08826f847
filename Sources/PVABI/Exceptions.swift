// The x86 exception facts a PV guest and the hypervisor must agree on: which vectors push an
// error code, and the vector of the hypercall gate. Defined here once; Scripts/gen-abi-inc.py
// copies them into build/gen/abi.inc for NASM. Never restate these numbers anywhere else.

/// x86 exception vectors, as the Intel SDM numbers them (vol. 3A, table 6-1).
public enum ExceptionVector {
    /// Vectors for which the CPU pushes an error code below EIP: #DF 8, #TS 10, #NP 11, #SS 12,
    /// #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30 (Intel SDM vol. 3A, 6.13 "Error Code" and
    /// table 6-1; AMD APM vol. 2, 8.2 for #VC and #SX). Xen bounces these to a PV guest with
    /// the error code on its kernel stack (TRAP_HAVE_EC in xen/arch/x86/traps.c), so a guest
    /// trap stub that pushes a dummy for any of them misaligns the frame.
    /// Sorted ascending; assembly stubs are generated from this list.
    public static let withErrorCode: [UInt32] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]

    /// Whether the CPU (and a Xen bounce) pushes an error code for `vector`.
    /// The same list as a bit per vector, so the trap path tests one bit instead of searching
    /// (a host test checks that the two agree).
    public static let errorCodeMask: UInt32 = 0x6022_7D00

    public static func pushesErrorCode(_ vector: UInt32) -> Bool { vector < 32 && (errorCodeMask >> vector) & 1 != 0 }
}

extension Hypercall {
    /// The software interrupt a 32-bit PV kernel enters the hypervisor with: `int $0x82`
    /// (HYPERCALL_VECTOR in Xen's asm/irq-vectors.h; the pv32 hypercall page stubs are
    /// `cd 82`). The IDT gate has DPL 1: ring 1 only.
    public static let trapVector: UInt32 = 0x82

    /// Apus's own gate for the iret hypercall (23), DPL 1 like 0x82: the hypercall page's iret
    /// slot enters through it, straight to the iret path with no hypercall table (the EAX it
    /// arrives with is the guest's, restored from its frame). `int $0x82` with EAX = 23 does the
    /// same through the table. A guest kernel can no longer use `int $0x83` for itself from ring 1.
    public static let iretTrapVector: UInt32 = 0x83

    /// event_channel_op (Hypercall.eventChannelOp) and EVTCHNOP_send (EventChannelOp.send) as
    /// plain literals, for Boot/traps.asm's hypercall stub (gen-abi-inc.py copies `static let`
    /// literals only): it sends that one command to its own Swift entry, past the table. A host
    /// test ties each to its enum case.
    public static let eventChannelOpNumber: UInt32 = 32
    public static let eventChannelSendCommand: UInt32 = 4

    /// update_va_mapping (Hypercall.updateVAMapping) as a plain literal, for the same stub: its
    /// table of entries by number sends it to its own Swift entry, past the hypercall table.
    public static let updateVAMappingNumber: UInt32 = 14
}
