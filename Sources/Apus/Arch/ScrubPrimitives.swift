// ScrubPrimitives.swift: Swift's view of the NASM routines domain building and idle scrubbing use: dword copies and
// zeroing (Boot/memory.asm) and the idle loop's interrupt window (Boot/idle.asm). Declarations only; a Swift loop
// must never stand in for them.

/// Copies `count` bytes by dwords, then the 0-3 left: a page is 1,024 moves, not memcpy's 4,096.
@_extern(c, "apus_copy_dwords") func apus_copy_dwords(_ dest: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int)
/// Zeroes `count` bytes by dwords, then the 0-3 left.
@_extern(c, "apus_zero_dwords") func apus_zero_dwords(_ dest: UnsafeMutableRawPointer, _ count: Int)
/// sti; nop; cli: an interrupt that waits is taken here, between two units of idle work, and nowhere else.
@_extern(c, "apus_interrupt_window") func apus_interrupt_window()
