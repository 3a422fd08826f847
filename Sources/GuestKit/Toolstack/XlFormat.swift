// XlFormat.swift: the toolstack's answers laid out as xl and xentop print them: `list` (Name ID Mem
// VCPUs State Time(s), xl's r b p s c d letters), `top` (xentop's columns), `list -l` (a domain's
// configuration as JSON, libxl's c_info / b_info names) and zero-padded clock fields. Pure: values in,
// bytes out; it never reads a domain or the hypervisor, and never traps on any value.

/// What `list`, `info` and `top` show of one domain (dom0's DomainInfo, reduced to plain values).
public struct DomainRow: Equatable, Sendable {
    public var id: UInt16
    public var name: [UInt8]
    public var pages: UInt64
    public var vcpus: UInt32
    public var running: Bool
    public var blocked: Bool
    public var paused: Bool
    public var shutdown: Bool
    public var crashed: Bool
    public var dying: Bool
    /// CPU time used, in nanoseconds.
    public var cpuTime: UInt64

    public init(id: UInt16, name: [UInt8], pages: UInt64, vcpus: UInt32 = 1, running: Bool = false, blocked: Bool = false,
                paused: Bool = false, shutdown: Bool = false, crashed: Bool = false, dying: Bool = false, cpuTime: UInt64 = 0) {
        self.id = id; self.name = name; self.pages = pages; self.vcpus = vcpus
        self.running = running; self.blocked = blocked; self.paused = paused
        self.shutdown = shutdown; self.crashed = crashed; self.dying = dying; self.cpuTime = cpuTime
    }

    /// xl's six state letters: r b p s c d, '-' for each that does not hold.
    public var stateLetters: [UInt8] {
        let flags = [running, blocked, paused, shutdown, crashed, dying]
        let letters = XlJSON.bytes("rbpscd")
        return (0..<6).map { flags[$0] ? letters[$0] : 45 }
    }
}

public enum XlFormat {
    /// xl list's header, tabs included: `Name` padded to 40, then ID, Mem, VCPUs, State, Time(s).
    public static var listHeader: [UInt8] { XlJSON.bytes("Name                                        ID   Mem VCPUs\tState\tTime(s)") }

    /// One `xl list` row: "%-40s %5d %5lu %5d     %6s  %8.1f" (memory in MiB, time in seconds).
    public static func listRow(_ r: DomainRow) -> [UInt8] {
        var out = left(Array(r.name.prefix(40)), 40)
        out += [32] + right(decimal(UInt64(r.id)), 5)
        out += [32] + right(decimal(r.pages >> 8), 5)
        out += [32] + right(decimal(UInt64(r.vcpus)), 5)
        out += XlJSON.bytes("     ") + r.stateLetters
        out += [32, 32] + right(tenths(r.cpuTime, per: 1_000_000_000), 8)
        return out
    }

    /// xentop's header, as far as Apus has the values (no network or block counters per domain),
    /// then the event counts Apus keeps.
    public static var topHeader: [UInt8] { XlJSON.bytes("      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS  EVTS_TX  EVTS_RX") }

    /// One xentop row. `cpuUsed` is the CPU time since the previous snapshot, `interval` that
    /// snapshot's age (both in ns); `totalPages` the machine's frames, for the memory shares.
    public static func topRow(_ r: DomainRow, cpuUsed: UInt64, interval: UInt64, totalPages: UInt64,
                              eventsSent: UInt64, eventsReceived: UInt64) -> [UInt8] {
        let kib = r.pages << 2
        var out = right(Array(r.name.prefix(10)), 10)
        out += [32] + right(r.stateLetters, 6)
        out += [32] + right(decimal(r.cpuTime / 1_000_000_000), 10)
        out += [32] + right(share(cpuUsed, of: interval), 6)
        out += [32] + right(decimal(kib), 10)
        out += [32] + right(share(r.pages, of: totalPages), 6)
        out += [32] + right(decimal(kib), 10)
        out += [32] + right(share(r.pages, of: totalPages), 9)
        out += [32] + right(decimal(UInt64(r.vcpus)), 5)
        out += [32] + right(decimal(eventsSent), 8)
        out += [32] + right(decimal(eventsReceived), 8)
        return out
    }

    /// A percentage with one decimal ("12.5"), 0.0 when the whole is zero; saturates, never traps.
    public static func share(_ part: UInt64, of whole: UInt64) -> [UInt8] {
        guard whole > 0 else { return XlJSON.bytes("0.0") }
        let (scaled, overflow) = part.multipliedReportingOverflow(by: 1000)
        let permille = overflow ? (part / whole).multipliedReportingOverflow(by: 1000).partialValue : scaled / whole
        return decimal(permille / 10) + [46, UInt8(48 + permille % 10)]
    }

    /// `value / per` with one decimal, truncated ("24.4").
    public static func tenths(_ value: UInt64, per: UInt64) -> [UInt8] {
        let t = value / (per / 10)
        return decimal(t / 10) + [46, UInt8(48 + t % 10)]
    }

    /// Two digits, zero-padded (a clock's minutes and seconds: 16:18:04).
    public static func twoDigits(_ value: UInt32) -> [UInt8] {
        let v = value % 100
        return [UInt8(48 + v / 10), UInt8(48 + v % 10)]
    }

    /// "YYYY-MM-DD hh:mm:ss", every field zero-padded.
    public static func dateTime(year: UInt32, month: UInt32, day: UInt32, hour: UInt32, minute: UInt32, second: UInt32) -> [UInt8] {
        var year4 = decimal(UInt64(year))
        while year4.count < 4 { year4.insert(48, at: 0) }
        return year4 + [45] + twoDigits(month) + [45] + twoDigits(day) + [32]
            + twoDigits(hour) + [58] + twoDigits(minute) + [58] + twoDigits(second)
    }

    public static func decimal(_ value: UInt64) -> [UInt8] {
        var digits: [UInt8] = []
        var v = value
        repeat { digits.append(UInt8(48 + v % 10)); v /= 10 } while v > 0
        return digits.reversed()
    }

    static func left(_ text: [UInt8], _ width: Int) -> [UInt8] {
        text.count >= width ? text : text + [UInt8](repeating: 32, count: width - text.count)
    }

    static func right(_ text: [UInt8], _ width: Int) -> [UInt8] {
        text.count >= width ? text : [UInt8](repeating: 32, count: width - text.count) + text
    }
}
