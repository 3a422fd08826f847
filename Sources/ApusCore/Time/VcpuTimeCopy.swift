// VcpuTimeCopy.swift: a vcpu_time_info record as the bytes of the second copy a guest registers with
// vcpu_op register_vcpu_time_memory_area (Xen keeps it in step with the one in vcpu_info). Pure: it
// builds bytes and must never write guest memory itself (the hypervisor's checked path does).

import PVABI

extension VcpuTimeRecord {
    /// The 32 bytes of vcpu_time_info, with this record's (even, settled) version: on one CPU the
    /// guest never runs while the copy is written, so no odd version need be shown first.
    public var guestCopy: GuestBytes<32> {
        var out = GuestBytes<32>(count: VcpuTimeInfo.size)
        out.set32(VcpuTimeInfo.versionOffset, version)
        out.set64(VcpuTimeInfo.tscTimestampOffset, tscTimestamp)
        out.set64(VcpuTimeInfo.systemTimeOffset, systemTimeNs)
        out.set32(VcpuTimeInfo.tscToSystemMulOffset, scale.mul)
        out.set8(VcpuTimeInfo.tscShiftOffset, UInt8(bitPattern: scale.shift))
        out.set8(VcpuTimeInfo.flagsOffset, flags)
        return out
    }
}
