// RunstateAreaUpdate.swift: how a vcpu_runstate_info reaches the area a guest registered, as Xen's
// update_runstate_area writes it: with vm_assist runstate_update_flag, state_entry_time carries
// XEN_RUNSTATE_UPDATE (bit 63) before the rest is written and loses it after, so a reader on another
// vCPU can tell a torn copy; without it, one plain copy. Pure: it writes only through the
// GuestMemoryAccess it is given, only inside `area`.

import PVABI

public enum RunstateAreaUpdate {
    /// XEN_RUNSTATE_UPDATE, in state_entry_time.
    public static let updateFlag: UInt64 = 1 << 63

    /// Writes `info` to `area` (VcpuRunstateInfoLayout.size bytes); false when the guest unmapped it.
    public static func write<M: GuestMemoryAccess>(_ info: GuestBytes<44>, to area: GuestRange, flagged: Bool, _ memory: inout M) -> Bool {
        guard flagged else { return memory.write(info, to: area) }
        guard let entry = area.field(VcpuRunstateInfoLayout.stateEntryTimeOffset, 8) else { return false }
        let time = info.u64(VcpuRunstateInfoLayout.stateEntryTimeOffset)
        var marked = info
        marked.set64(VcpuRunstateInfoLayout.stateEntryTimeOffset, time | updateFlag)
        return memory.write64(time | updateFlag, to: entry) && memory.write(marked, to: area) && memory.write64(time, to: entry)
    }
}
