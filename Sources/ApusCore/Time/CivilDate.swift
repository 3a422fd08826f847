// CivilDate.swift: calendar dates (proleptic Gregorian, UTC) to and from seconds since the Unix
// epoch, for the wallclock the hypervisor reads from the RTC and guests print. Pure arithmetic;
// it refuses dates it cannot represent instead of guessing.

public struct CivilDate: Equatable, Sendable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year; self.month = month; self.day = day
        self.hour = hour; self.minute = minute; self.second = second
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(month m: Int, year y: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to this date (Howard Hinnant's days_from_civil).
    static func days(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = m > 2 ? m - 3 : m + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Seconds since the epoch, or nil for a field out of range or a date before 1970.
    public var secondsSinceEpoch: UInt64? {
        guard (1970...9999).contains(year), (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let d = CivilDate.days(year, month, day)
        return UInt64(d) * 86_400 + UInt64(hour * 3600 + minute * 60 + second)
    }

    /// The date of a number of seconds since the epoch.
    public init(secondsSinceEpoch s: UInt64) {
        let z = Int(s / 86_400) + 719468
        let era = z / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let rest = Int(s % 86_400)
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d,
                  hour: rest / 3600, minute: rest % 3600 / 60, second: rest % 60)
    }

    /// A value the RTC gives in BCD, as binary.
    public static func fromBCD(_ v: UInt8) -> Int { Int(v >> 4) * 10 + Int(v & 0xF) }
}
