// SystemTime.swift: nanoseconds since boot from the TSC, with the same mul/shift scale guests
// get in vcpu_time_info (calibrated once against the PIT), so hypervisor and guests agree.
// Read-only arithmetic after calibration; it must never go backwards.

import ApusCore
import PVABI

enum SystemTime {
    static var tscAtBoot: UInt64 = 0
    static var tscKHz: UInt64 = 1_000_000
    static var scale = TimeScale(mul: 1 << 31, shift: 1)
    /// Nanoseconds to TSC ticks (nil when the TSC runs at 2^32 Hz or more: then a division).
    static var toTicks: TimeScale? = TimeScale(mul: 1 << 31, shift: 1)

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
        toTicks = TimeScale.nanosecondsToTicks(ticksPerSecond: tscKHz * 1000)
    }

    static func nanoseconds() -> UInt64 { at(tsc: cpu_rdtsc()) }

    static func at(tsc: UInt64) -> UInt64 { tsc > tscAtBoot ? scale.apply(tsc - tscAtBoot) : 0 }

    /// TSC ticks in `ns` nanoseconds (a slice length: at most a second).
    static func ticks(nanoseconds ns: UInt64) -> UInt64 {
        if let toTicks { return toTicks.apply(ns) }
        return ns * tscKHz / 1_000_000
    }

    /// Publishes the time record guests read (version odd while it changes).
    static func publish(_ d: Domain) { publish(d, d.vcpu) }

    /// Publishes vCPU `v`'s record (in its vcpu_info).
    static func publish(_ d: Domain, _ v: VCPU) {
        let tsc = cpu_rdtsc()
        publish(d, v, tsc: tsc, now: at(tsc: tsc))
    }

    /// At a switch to `d`: its record in vcpu_info needs no update. The scale never changes after
    /// calibration and the TSC is stable, so a record published once gives the guest the system time
    /// at any later TSC (within 2 ns below the hypervisor's, never ahead of it: a guest timer is not
    /// early). Only a registered second copy is written again, because it is written only while the
    /// domain's address space is loaded and the guest may have mapped it since the last write.
    static func switchedTo(_ d: Domain, tsc: UInt64, now: UInt64) {
        if d.vcpu.timeArea != nil || d.vcpu.timeVersion == 0 { publish(d, d.vcpu, tsc: tsc, now: now) }
    }

    /// Publishes the record for TSC value `tsc`, whose system time is `now`.
    static func publish(_ d: Domain, _ v: VCPU, tsc: UInt64, now: UInt64) {
        var record = VcpuTimeRecord(version: v.timeVersion, tscTimestamp: tsc, systemTimeNs: now, scale: scale,
                                    flags: VcpuTimeInfo.flagTSCStable)
        record.publish(to: v.info.advanced(by: VcpuInfo.timeOffset))
        v.timeVersion = record.version
        publishCopy(d, v, record)
    }

    /// The second copy a guest registered (vcpu_op register_vcpu_time_memory_area), written through
    /// the checked guest-memory path, and only while the domain's address space is the loaded one
    /// (its area is a virtual address of that space). A guest that unmapped it loses the update, as on Xen.
    private static func publishCopy(_ d: Domain, _ v: VCPU, _ record: VcpuTimeRecord) {
        guard let area = v.timeArea, Domains.isRunning(d) else { return }
        var memory = RunningGuestMemory()
        _ = memory.write(record.guestCopy, to: area)
    }
}
