// RTC.swift: the CMOS real-time clock, read once at boot for the wallclock guests see in
// shared_info. It waits out an update in progress and reads twice until both reads agree;
// it never writes the RTC.

import ApusCore

enum RTC {
    private static func read(_ register: UInt8) -> UInt8 {
        port_out8(0x70, register)
        return port_in8(0x71)
    }

    private static func snapshot() -> [UInt8] {
        var spins = 0
        while read(0x0A) & 0x80 != 0 && spins < 100_000 { spins += 1 }    // update in progress
        return [read(0x00), read(0x02), read(0x04), read(0x07), read(0x08), read(0x09), read(0x32)]
    }

    /// The RTC's date and time (UTC, as QEMU and most firmware keep it), or nil if unreadable.
    static func now() -> CivilDate? {
        var a = snapshot()
        var b = snapshot()
        var tries = 0
        while a != b && tries < 5 { a = b; b = snapshot(); tries += 1 }
        let statusB = read(0x0B)
        let bcd = statusB & 0x04 == 0
        func v(_ x: UInt8) -> Int { bcd ? CivilDate.fromBCD(x) : Int(x) }
        var hour = v(b[2] & 0x7F)
        if statusB & 0x02 == 0 && b[2] & 0x80 != 0 { hour = (hour % 12) + 12 }   // 12-hour mode, PM
        let century = v(b[6])
        let year = (century >= 19 && century <= 29 ? century * 100 : 2000) + v(b[5])
        let date = CivilDate(year: year, month: v(b[4]), day: v(b[3]), hour: hour, minute: v(b[1]), second: v(b[0]))
        return date.secondsSinceEpoch == nil ? nil : date
    }
}

/// The wallclock at system time zero, published to every domain's shared_info.
enum WallTime {
    static var atBoot = WallClock(seconds: 0, nanoseconds: 0)
    /// How long reading the RTC took (it waits out an update, so it varies from boot to boot).
    static var readTicks: UInt64 = 0

    static func initialize() {
        let t0 = cpu_rdtsc()
        let read = RTC.now()
        readTicks = cpu_rdtsc() - t0
        guard let date = read, let seconds = date.secondsSinceEpoch else {
            Log.info("time: the RTC could not be read; the wallclock starts at the epoch")
            return
        }
        atBoot = WallClock.atSystemTimeZero(now: WallClock(seconds: seconds, nanoseconds: 0), systemTimeNs: SystemTime.nanoseconds())
        Log.info("time: wallclock \(UInt32(date.year), pad: 4)-\(UInt32(date.month), pad: 2)-\(UInt32(date.day), pad: 2) \(UInt32(date.hour), pad: 2):\(UInt32(date.minute), pad: 2):\(UInt32(date.second), pad: 2) UTC from the RTC")
    }
}
