// SharedInfo.swift: the guest's window onto shared_info and its vcpu_info (upcall mask, the CR2
// of the last page fault, time), by PVABI offsets. Reads, the mask bit and clearing upcall_pending only; it never
// assumes where the page is mapped until the kernel says so.

import PVABI

public struct SharedInfoView {
    public let base: UnsafeMutableRawPointer
    public init(_ address: UInt32) { base = UnsafeMutableRawPointer(bitPattern: UInt(address))! }

    private var vcpu0: UnsafeMutableRawPointer { base.advanced(by: SharedInfo.vcpuInfoOffset) }

    /// CR2 of the last page fault the hypervisor bounced to this vCPU.
    public var cr2: UInt32 { vcpu0.load(fromByteOffset: VcpuInfo.cr2Offset, as: UInt32.self) }
    public var upcallMask: UInt8 {
        get { vcpu0.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) }
        nonmutating set { vcpu0.storeBytes(of: newValue, toByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) }
    }
    public var upcallPending: UInt8 { vcpu0.load(fromByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self) }
    /// Clears evtchn_upcall_pending, as a guest does before it looks for events.
    public func clearUpcallPending() { vcpu0.storeBytes(of: UInt8(0), toByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self) }
    public var timeVersion: UInt32 { vcpu0.load(fromByteOffset: VcpuInfo.timeOffset + VcpuTimeInfo.versionOffset, as: UInt32.self) }
}
