// ImageMemory.swift: the guest memory a fuzz input describes: its bytes mapped at 0x1000 and again
// ending exactly at HYPERVISOR_VIRT_START, everything else unmapped. Fuzzing only; a decoder that
// copies anything out to it is a bug, and the fuzzer stops on it.

import ApusCore
import PVABI

struct ImageMemory: GuestMemoryAccess {
    let image: UnsafeRawBufferPointer
    static let lowBase: UInt32 = 0x1000

    var highBase: UInt32 { XenLayout.hypervisorVirtStart &- UInt32(image.count) }

    /// Where guest address `va` lies in the image, if it is mapped.
    func offset(_ va: UInt32) -> Int? {
        let n = UInt32(image.count)
        if va >= Self.lowBase && va &- Self.lowBase < n { return Int(va &- Self.lowBase) }
        if va >= highBase && va &- highBase < n { return Int(va &- highBase) }
        return nil
    }

    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool {
        precondition(UInt64(range.start) + UInt64(range.count) <= UInt64(GuestRange.limit), "a range past the limit reached the copy")
        var i: UInt32 = 0
        while i < range.count {
            guard let o = offset(range.start &+ i) else { return false }
            destination.storeBytes(of: image[o], toByteOffset: Int(i), as: UInt8.self)
            i &+= 1
        }
        return true
    }

    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool {
        fatalError("a decoder copied \(range.count) bytes out to the guest: decoders must never act")
    }
}
