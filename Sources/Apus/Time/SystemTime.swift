// SystemTime.swift: nanoseconds since boot from the TSC, with the same mul/shift scale guests
// get in vcpu_time_info (calibrated once against the PIT), so hypervisor and guests agree.
// Read-only arithmetic after calibration; it must never go backwards.

import ApusCore
import PVABI

enum SystemTime {
    static var tscAtBoot: UInt64 = 0
    static var tscKHz: UInt64 = 1_000_000
    static var scale = TimeScale(mul: 1 << 31, shift: 1)

    /// Counts TSC cycles over `ticks` PIT periods with interrupts on (halting in between).
    static func calibrate(ticks: UInt64 = UInt64(PIT.hz / 100)) {
        let start = PIT.ticks
        while PIT.ticks == start { cpu_halt() }
        let t0 = cpu_rdtsc()
        let first = PIT.ticks
        while PIT.ticks - first < ticks { cpu_halt() }
        let t1 = cpu_rdtsc()
        let ms = ticks * 1000 / UInt64(PIT.hz)
        tscKHz = max(1, (t1 - t0) / ms)
        tscAtBoot = t0
        if let s = TimeScale(ticksPerSecond: tscKHz * 1000) { scale = s }
    }

    static func nanoseconds() -> UInt64 { at(tsc: cpu_rdtsc()) }

    static func at(tsc: UInt64) -> UInt64 { tsc > tscAtBoot ? scale.apply(tsc - tscAtBoot) : 0 }

    /// Publishes the time record guests read (version odd while it changes).
    static func publish(_ d: Domain) {
        let tsc = cpu_rdtsc()
        var record = VcpuTimeRecord(version: d.timeVersion, tscTimestamp: tsc, systemTimeNs: at(tsc: tsc), scale: scale,
                                    flags: VcpuTimeInfo.flagTSCStable)
        record.publish(to: d.vcpuInfo.advanced(by: VcpuInfo.timeOffset))
        d.timeVersion = record.version
        publishCopy(d, record)
    }

    /// The second copy a guest registered (vcpu_op register_vcpu_time_memory_area), written through
    /// the checked guest-memory path, and only while the domain's address space is the loaded one
    /// (its area is a virtual address of that space). A guest that unmapped it loses the update, as on Xen.
    private static func publishCopy(_ d: Domain, _ record: VcpuTimeRecord) {
        guard let area = d.vcpu.timeArea, Domains.current === d else { return }
        var memory = RunningGuestMemory()
        _ = memory.write(record.guestCopy, to: area)
    }
}
