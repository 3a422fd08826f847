// MemoryPrimitives.swift: Swift's view of the NASM memory primitives (Boot/memory.asm, Boot/guestaccess.asm): filling
// copying and zeroing. Declarations only; a Swift loop must never stand in for them (it compiles to memset).

import ApusCore

@_extern(c, "apus_fill") func apus_fill(_ dest: UnsafeMutableRawPointer, _ byte: Int32, _ count: Int) -> UnsafeMutableRawPointer
@_extern(c, "apus_zero_page") func apus_zero_page(_ page: UnsafeMutableRawPointer)
@_extern(c, "apus_copy") func apus_copy(_ dest: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) -> UnsafeMutableRawPointer
@_extern(c, "apus_copy_frame") func apus_copy_frame(_ dest: UnsafeMutableRawPointer, _ source: UnsafeRawPointer)

/// A whole trap frame (a switch saves the leaving guest's and loads the next one's) with the unrolled
/// copy: a struct assignment is a call to memmove, whose rep movsd counts each of its 19 rounds.
@inline(__always)
func copyFrame(_ dest: UnsafeMutablePointer<TrapFrame>, _ source: UnsafePointer<TrapFrame>) {
    precondition(MemoryLayout<TrapFrame>.size == 76, "apus_copy_frame moves 19 dwords")
    apus_copy_frame(UnsafeMutableRawPointer(dest), UnsafeRawPointer(source))
}
