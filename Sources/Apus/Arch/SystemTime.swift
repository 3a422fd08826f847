// SystemTime.swift: nanoseconds since boot from the TSC, calibrated once against the PIT.
// Read-only arithmetic after calibration; it must never go backwards.

enum SystemTime {
    static var tscAtBoot: UInt64 = 0
    static var tscKHz: UInt64 = 1_000_000

    /// Counts TSC cycles over `ticks` PIT periods with interrupts on (halting in between).
    static func calibrate(ticks: UInt64 = 10) {
        let start = PIT.ticks
        while PIT.ticks == start { cpu_halt() }
        let t0 = cpu_rdtsc()
        let first = PIT.ticks
        while PIT.ticks - first < ticks { cpu_halt() }
        let t1 = cpu_rdtsc()
        let ms = ticks * 1000 / UInt64(PIT.hz)
        tscKHz = max(1, (t1 - t0) / ms)
        tscAtBoot = t0
    }

    static func nanoseconds() -> UInt64 {
        let delta = cpu_rdtsc() &- tscAtBoot
        return delta / tscKHz * 1_000_000 + (delta % tscKHz) * 1_000_000 / tscKHz
    }
}
