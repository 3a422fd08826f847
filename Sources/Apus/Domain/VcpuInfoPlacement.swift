// VcpuInfoPlacement.swift: VCPUOP_register_vcpu_info, acted on. A guest moves its vcpu_info out of
// shared_info into a page of its own (Linux puts it in its per-CPU area): the hypervisor takes a
// writable type reference on that frame, maps it for good in the domain's window, copies the old
// vcpu_info over, and from then on events, masks and time go there. It must never map a frame the
// domain does not own, and the frame's references go back when the domain is torn down.

import ApusCore
import PVABI

enum VcpuInfoPlacement {
    /// Moves `d`'s vcpu_info to byte `offset` of its frame `mfn` (the decoder checked that the
    /// 64 bytes fit in the page).
    static func register(_ d: Domain, mfn: UInt32, offset: UInt32) -> HypercallOutcome {
        guard d.placedVcpuInfo == nil else {
            return .refused(.EINVAL, "vcpu_info was already moved (it can be placed once per vCPU, as on Xen)")
        }
        if let refusal = Machine.frames.getPageAndType(mfn, .writable, state: d.memory, memory: &Machine.memory) {
            return .refused(.EINVAL, refusal.reason)
        }
        let window = AddressMap.vcpuInfoWindowsStart + UInt32(d.id) << 12
        var flags: PTEFlags = [.present, .writable, .accessed, .dirty]
        if HypervisorPaging.nxSupported { flags.insert(.noExecute) }
        HypervisorPaging.vcpuInfoL1[Int(d.id)] = PageTableEntry(frame: UInt64(mfn), flags: flags).raw
        TLB.flush(page: window)
        let placed = UnsafeMutableRawPointer(bitPattern: UInt(window | offset))!
        _ = apus_copy(placed, d.vcpus[0].info, VcpuInfo.size)
        d.placedVcpuInfo = placed
        d.placedVcpuInfoFrame = mfn
        // As Xen: everything is marked pending, so nothing raised before the move is lost (the
        // guest sees one spurious upcall and finds nothing).
        placed.storeBytes(of: 1, toByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
        placed.storeBytes(of: UInt32.max, toByteOffset: VcpuInfo.evtchnPendingSelOffset, as: UInt32.self)
        SystemTime.publish(d, d.vcpus[0])
        Log.info("d\(d.id): vcpu_info moved to frame \(hex: mfn) + \(hex: offset) (register_vcpu_info)")
        return .ok
    }

    /// The domain is going: its window closes and the frame's references go back.
    static func release(_ d: Domain) {
        guard let mfn = d.placedVcpuInfoFrame else { return }
        HypervisorPaging.vcpuInfoL1[Int(d.id)] = 0
        TLB.flush(page: AddressMap.vcpuInfoWindowsStart + UInt32(d.id) << 12)
        d.placedVcpuInfo = nil
        d.placedVcpuInfoFrame = nil
        Machine.frames.putPageAndType(mfn, memory: &Machine.memory)
    }
}
