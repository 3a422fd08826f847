// DMAPages.swift: pages of dom0's own memory that devices read and write by machine address (virtqueue
// rings, request headers, data buffers): page-aligned bss (Asm/devices.asm) handed out one page at a
// time, zeroed, with the machine address the device is told. A page never spans two frames; a buffer
// must fit in its page, and a page is never handed out twice.

import ApusCore
import GuestKit

@_extern(c, "dom0_dma_base") func dom0_dma_base() -> UInt32
@_extern(c, "dom0_dma_count") func dom0_dma_count() -> UInt32
@_extern(c, "dom0_zero_page") func dom0_zero_page(_ address: UInt32)
@_extern(c, "dom0_copy_bytes") func dom0_copy_bytes(_ to: UInt32, _ from: UInt32, _ count: UInt32)

/// One DMA page: where dom0 sees it and where the device does.
struct DMAPage {
    let address: UInt32
    let machine: UInt64

    var bytes: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(address))! }
}

enum DMAPages {
    static var next: UInt32 = 0

    /// A zeroed page, or nil when all are taken.
    static func take() -> DMAPage? {
        guard next < dom0_dma_count() else { return nil }
        let address = dom0_dma_base() + next * 4096
        next += 1
        dom0_zero_page(address)
        return DMAPage(address: address, machine: OwnPageTables.machineAddress(of: address))
    }
}

/// A split virtqueue's memory in one DMA page: plain loads and stores, with a call the compiler
/// cannot see through as the barrier (x86 keeps stores in order; the device is coherent).
struct DMAQueueMemory: VirtqueueMemory {
    let page: DMAPage
    var byteCount: Int { 4096 }

    func load16(_ offset: Int) -> UInt16 { page.bytes.load(fromByteOffset: offset, as: UInt16.self) }
    func load32(_ offset: Int) -> UInt32 { page.bytes.load(fromByteOffset: offset, as: UInt32.self) }
    mutating func store16(_ offset: Int, _ value: UInt16) { page.bytes.storeBytes(of: value, toByteOffset: offset, as: UInt16.self) }
    mutating func store32(_ offset: Int, _ value: UInt32) { page.bytes.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    mutating func store64(_ offset: Int, _ value: UInt64) { page.bytes.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }
    mutating func barrier() { dom0_compiler_barrier() }
}
