// MemoryPrimitives.swift: Swift's view of the NASM memory primitives (Boot/memory.asm, Boot/guestaccess.asm): filling
// copying and zeroing. Declarations only; a Swift loop must never stand in for them (it compiles to memset).

@_extern(c, "apus_fill") func apus_fill(_ dest: UnsafeMutableRawPointer, _ byte: Int32, _ count: Int) -> UnsafeMutableRawPointer
@_extern(c, "apus_zero_page") func apus_zero_page(_ page: UnsafeMutableRawPointer)
@_extern(c, "apus_copy") func apus_copy(_ dest: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) -> UnsafeMutableRawPointer
