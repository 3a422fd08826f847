// Symbols.swift: addresses the linker script and NASM define, read once from one table.
// Swift never declares data symbols; it must never write through these outside their owners.

struct Symbols {
    var imagePhysStart: UInt32 = 0
    var imagePhysEnd: UInt32 = 0
    var extableStart: UInt32 = 0
    var extableEnd: UInt32 = 0
    var bootStackBottom: UInt32 = 0
    var bootStackTop: UInt32 = 0
    var trapStubTable: UInt32 = 0
    var idlePDPT: UInt32 = 0
    var idleL2High: UInt32 = 0
    var gdt: UInt32 = 0
    var idt: UInt32 = 0
    var tss: UInt32 = 0
    var mapcacheL1: UInt32 = 0
    var textStart: UInt32 = 0
    var textEnd: UInt32 = 0
    var logRing: UInt32 = 0
    var returnFaultFrame: UInt32 = 0
    var fpuAreas: UInt32 = 0
    var vcpuInfoL1: UInt32 = 0

    static func read() -> Symbols {
        var raw = InlineArray<19, UInt32>(repeating: 0)
        var s = Symbols()
        withUnsafeMutableBytes(of: &raw) { apus_symbol_addresses($0.baseAddress!.assumingMemoryBound(to: UInt32.self)) }
        s.imagePhysStart = raw[0]; s.imagePhysEnd = raw[1]
        s.extableStart = raw[2]; s.extableEnd = raw[3]
        s.bootStackBottom = raw[4]; s.bootStackTop = raw[5]
        s.trapStubTable = raw[6]; s.idlePDPT = raw[7]; s.idleL2High = raw[8]
        s.gdt = raw[9]; s.idt = raw[10]; s.tss = raw[11]; s.mapcacheL1 = raw[12]
        s.textStart = raw[13]; s.textEnd = raw[14]; s.logRing = raw[15]; s.returnFaultFrame = raw[16]
        s.fpuAreas = raw[17]
        s.vcpuInfoL1 = raw[18]
        return s
    }
}

/// A pointer to hypervisor memory at a known virtual address.
@inline(__always)
func pointer<T>(to type: T.Type, at address: UInt32) -> UnsafeMutablePointer<T> {
    UnsafeMutablePointer<T>(bitPattern: UInt(address))!
}
