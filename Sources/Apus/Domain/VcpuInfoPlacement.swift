// VcpuInfoPlacement.swift: VCPUOP_register_vcpu_info, acted on, for any vCPU of the domain. A guest moves
// a vCPU's vcpu_info out of shared_info into a page of its own (Linux: its per-CPU area): the hypervisor
// takes a writable type reference on that frame, maps it for good in that (domain, vCPU)'s own window
// (VcpuInfoWindows: a fixed 4 KiB window per pair, 16 MiB for 512 ids x 8 vCPUs), copies the old
// vcpu_info over, marks everything pending (as Xen), and from then on that vCPU's events, masks and time
// go there. It must never map a frame the domain does not own, and each frame's references go back when
// the domain is torn down.

import ApusCore
import PVABI

enum VcpuInfoPlacement {
    /// Moves `v`'s vcpu_info (a vCPU of `d`, which is the caller) to byte `offset` of frame `mfn` (the
    /// decoder checked that the 64 bytes fit in the page).
    static func register(_ d: Domain, _ v: VCPU, mfn: UInt32, offset: UInt32) -> HypercallOutcome {
        if let refusal = VcpuInfoWindows.refusal(alreadyPlaced: v.placedFrame != nil, targetIsCaller: v === d.vcpu,
                                                 targetIsDown: v.runState == .down) {
            return refusal.outcome
        }
        guard let window = VcpuInfoWindows.address(domain: d.id, vcpu: v.id),
              let slot = VcpuInfoWindows.index(domain: d.id, vcpu: v.id) else {
            return .refused(.ENOMEM, "register_vcpu_info: no window for this domain id and vCPU")
        }
        if let refusal = Machine.frames.getPageAndType(mfn, .writable, state: d.memory, memory: &Machine.memory) {
            return .refused(.EINVAL, refusal.reason)
        }
        var flags: PTEFlags = [.present, .writable, .accessed, .dirty]
        if HypervisorPaging.nxSupported { flags.insert(.noExecute) }
        HypervisorPaging.vcpuInfoL1[slot] = PageTableEntry(frame: UInt64(mfn), flags: flags).raw
        TLB.flush(page: window)
        let placed = UnsafeMutableRawPointer(bitPattern: UInt(window | offset))!
        _ = apus_copy(placed, v.info, VcpuInfo.size)
        d.place(v, at: placed)
        v.placedFrame = mfn
        // As Xen: everything is marked pending, so nothing raised before the move is lost (the
        // guest sees one spurious upcall and finds nothing).
        placed.storeBytes(of: UInt32.max, toByteOffset: VcpuInfo.evtchnPendingSelOffset, as: UInt32.self)
        placed.storeBytes(of: 1, toByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
        SystemTime.publish(d, v)
        // vcpu_mark_events_pending: a vCPU waiting for events is woken to see them.
        Events.wake(d, vcpu: v.id)
        Log.info("d\(d.id): vCPU \(v.id)'s vcpu_info moved to frame \(hex: mfn) + \(hex: offset) (register_vcpu_info)")
        return .ok
    }

    /// The domain is going: each placed vcpu_info's window closes and its frame's references go back.
    static func release(_ d: Domain) {
        for v in d.vcpus {
            guard let mfn = v.placedFrame, let slot = VcpuInfoWindows.index(domain: d.id, vcpu: v.id),
                  let window = VcpuInfoWindows.address(domain: d.id, vcpu: v.id) else { continue }
            d.place(v, at: nil)
            v.placedFrame = nil
            HypervisorPaging.vcpuInfoL1[slot] = 0
            TLB.flush(page: window)
            Machine.frames.putPageAndType(mfn, memory: &Machine.memory)
        }
    }
}
