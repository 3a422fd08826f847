// HypercallArguments.swift: the five argument registers of a hypercall (EBX, ECX, EDX, ESI, EDI) as
// the guest left them. Only decoders read them; they are numbers, never addresses to dereference.

public struct HypercallArguments: Sendable {
    public var a1: UInt32, a2: UInt32, a3: UInt32, a4: UInt32, a5: UInt32
    public init(_ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) {
        self.a1 = a1; self.a2 = a2; self.a3 = a3; self.a4 = a4; self.a5 = a5
    }
    public init(_ f: TrapFrame) { self.init(f.ebx, f.ecx, f.edx, f.esi, f.edi) }
    /// Two registers as one 64-bit value, low word first (32-bit guests split u64 arguments so).
    public static func joined(_ low: UInt32, _ high: UInt32) -> UInt64 { UInt64(low) | UInt64(high) << 32 }
}
