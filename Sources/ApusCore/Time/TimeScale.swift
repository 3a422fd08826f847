// The arithmetic of Xen's pvclock: the (mul, shift) scale a guest uses to turn TSC deltas into nanoseconds, its reverse, the vcpu_time_info record and the wallclock split.
// Integer arithmetic on values and on a caller's mapping only: it must never read the TSC or any clock, and never use 128-bit multiplies (i686 has no helper for them).

import PVABI

/// A rate conversion in pvclock form: out = (in << shift) * mul >> 32, where a negative shift
/// shifts right instead and mul is a 32.32 fraction in [0.5, 1).
public struct TimeScale: Equatable, Sendable {
    /// tsc_to_system_mul.
    public var mul: UInt32
    /// tsc_shift.
    public var shift: Int8

    public init(mul: UInt32, shift: Int8) {
        self.mul = mul
        self.shift = shift
    }

    /// The scale from a counter of `ticksPerSecond` to nanoseconds, computed as Xen's
    /// set_time_scale does, so a guest sees the same mul and shift it would under Xen.
    /// Nil when `ticksPerSecond` is 0.
    public init?(ticksPerSecond: UInt64) {
        self.init(from: ticksPerSecond, to: 1_000_000_000)
    }

    /// The scale from a count at `from` per second to a count at `to` per second: `from` is
    /// halved or doubled into (to, 2·to], counting the steps in `shift`, then
    /// mul = to · 2^32 / from'. Halving drops low bits of very fast clocks (a relative error
    /// below 2^-31). Nil when either rate is 0 or `to` does not fit in 32 bits.
    public init?(from: UInt64, to: UInt64) {
        guard from > 0, to > 0, to <= UInt64(UInt32.max) else { return nil }
        var scaled = from
        var shift = 0
        while scaled > 2 * to {
            scaled >>= 1
            shift -= 1
        }
        while scaled <= to {
            scaled <<= 1
            shift += 1
        }
        // to < scaled, so the quotient is below 2^32.
        self.init(mul: UInt32((to << 32) / scaled), shift: Int8(shift))
    }

    /// The scale back from nanoseconds to ticks of a `ticksPerSecond` counter (to program a
    /// timer in TSC units). Nil when the rate is 0 or 2^32 per second or more.
    public static func nanosecondsToTicks(ticksPerSecond: UInt64) -> TimeScale? {
        TimeScale(from: 1_000_000_000, to: ticksPerSecond)
    }

    /// Applies the scale to `delta` exactly as a guest's pvclock code does: shift, then the
    /// high 64 bits of the 96-bit product with mul, computed from two 32×32 multiplies.
    /// Inline: a switch converts the TSC twice (block or preemption, and the woken domain's runstate),
    /// and as a call each paid some 15 instructions of argument pushes, frame and return.
    @inline(__always)
    public func apply(_ delta: UInt64) -> UInt64 {
        let shifted: UInt64
        if shift >= 0 {
            shifted = delta << UInt64(shift)
        } else {
            shifted = delta >> UInt64(-Int(shift))
        }
        let low = (shifted & 0xFFFF_FFFF) &* UInt64(mul)
        let high = (shifted >> 32) &* UInt64(mul)
        return high &+ (low >> 32)
    }

    /// Nanoseconds in `ticks` of a `ticksPerSecond` counter, rounded down, with no scale error
    /// (for reference and calibration, not hot paths: two 64-bit divisions).
    public static func exactNanoseconds(ticks: UInt64, ticksPerSecond: UInt64) -> UInt64 {
        precondition(ticksPerSecond > 0 && ticksPerSecond <= 18_000_000_000, "counter rate out of range")
        return ticks / ticksPerSecond * 1_000_000_000 + (ticks % ticksPerSecond) * 1_000_000_000 / ticksPerSecond
    }

    /// Ticks of a `ticksPerSecond` counter in `nanoseconds`, rounded down, with no scale error.
    public static func exactTicks(nanoseconds: UInt64, ticksPerSecond: UInt64) -> UInt64 {
        precondition(ticksPerSecond > 0 && ticksPerSecond <= 18_000_000_000, "counter rate out of range")
        return nanoseconds / 1_000_000_000 * ticksPerSecond + (nanoseconds % 1_000_000_000) * ticksPerSecond / 1_000_000_000
    }
}

/// The contents of one vcpu_time_info: what the hypervisor publishes and a guest reads.
public struct VcpuTimeRecord: Equatable, Sendable {
    /// Update counter: odd while an update is in progress.
    public var version: UInt32
    /// TSC at the moment `systemTimeNs` was taken.
    public var tscTimestamp: UInt64
    /// Nanoseconds since boot at `tscTimestamp`.
    public var systemTimeNs: UInt64
    public var scale: TimeScale
    /// XEN_PVCLOCK_* flags.
    public var flags: UInt8

    public init(version: UInt32 = 0, tscTimestamp: UInt64, systemTimeNs: UInt64, scale: TimeScale, flags: UInt8 = 0) {
        self.version = version
        self.tscTimestamp = tscTimestamp
        self.systemTimeNs = systemTimeNs
        self.scale = scale
        self.flags = flags
    }

    /// The guest's formula: system time at TSC value `tsc`.
    public func systemTime(atTSC tsc: UInt64) -> UInt64 {
        systemTimeNs &+ scale.apply(tsc &- tscTimestamp)
    }

    /// Writes the record into the vcpu_time_info at `info`, bumping the version to odd before
    /// the fields and to even after them, and stores the new even version in `self`. On one
    /// CPU the guest cannot observe the middle; the odd version is for SMP readers.
    public mutating func publish(to info: UnsafeMutableRawPointer) {
        let old = info.load(fromByteOffset: VcpuTimeInfo.versionOffset, as: UInt32.self)
        info.storeBytes(of: old &+ 1, toByteOffset: VcpuTimeInfo.versionOffset, as: UInt32.self)
        info.storeBytes(of: tscTimestamp, toByteOffset: VcpuTimeInfo.tscTimestampOffset, as: UInt64.self)
        info.storeBytes(of: systemTimeNs, toByteOffset: VcpuTimeInfo.systemTimeOffset, as: UInt64.self)
        info.storeBytes(of: scale.mul, toByteOffset: VcpuTimeInfo.tscToSystemMulOffset, as: UInt32.self)
        info.storeBytes(of: scale.shift, toByteOffset: VcpuTimeInfo.tscShiftOffset, as: Int8.self)
        info.storeBytes(of: flags, toByteOffset: VcpuTimeInfo.flagsOffset, as: UInt8.self)
        version = old &+ 2
        info.storeBytes(of: version, toByteOffset: VcpuTimeInfo.versionOffset, as: UInt32.self)
    }

    /// Reads a vcpu_time_info as a guest does: version, fields, version again; nil when the
    /// version is odd or changed (the guest then retries).
    public static func guestRead(from info: UnsafeRawPointer) -> VcpuTimeRecord? {
        let before = info.load(fromByteOffset: VcpuTimeInfo.versionOffset, as: UInt32.self)
        guard before & 1 == 0 else { return nil }
        let record = VcpuTimeRecord(
            version: before,
            tscTimestamp: info.loadUnaligned(fromByteOffset: VcpuTimeInfo.tscTimestampOffset, as: UInt64.self),
            systemTimeNs: info.loadUnaligned(fromByteOffset: VcpuTimeInfo.systemTimeOffset, as: UInt64.self),
            scale: TimeScale(mul: info.load(fromByteOffset: VcpuTimeInfo.tscToSystemMulOffset, as: UInt32.self),
                             shift: info.load(fromByteOffset: VcpuTimeInfo.tscShiftOffset, as: Int8.self)),
            flags: info.load(fromByteOffset: VcpuTimeInfo.flagsOffset, as: UInt8.self))
        let after = info.load(fromByteOffset: VcpuTimeInfo.versionOffset, as: UInt32.self)
        return after == before ? record : nil
    }

    /// A guest's system time at `tsc` from the vcpu_time_info at `info`; nil while an update
    /// is in progress.
    public static func guestSystemTime(from info: UnsafeRawPointer, tsc: UInt64) -> UInt64? {
        guestRead(from: info)?.systemTime(atTSC: tsc)
    }
}

/// A wallclock instant: seconds since 1970-01-01 00:00 UTC and nanoseconds below a second.
public struct WallClock: Equatable, Sendable {
    public var seconds: UInt64
    /// Always below 1_000_000_000.
    public var nanoseconds: UInt32

    /// Normalises nanoseconds of a second or more into seconds.
    public init(seconds: UInt64, nanoseconds: UInt64) {
        self.seconds = seconds + nanoseconds / 1_000_000_000
        self.nanoseconds = UInt32(nanoseconds % 1_000_000_000)
    }

    public init(nanosecondsSinceEpoch ns: UInt64) {
        self.init(seconds: ns / 1_000_000_000, nanoseconds: ns % 1_000_000_000)
    }

    /// The x86_32 shared_info fields: wc_sec holds the low 32 bits of the seconds, wc_sec_hi
    /// (in arch_shared_info) the high 32, wc_nsec the nanoseconds.
    public var wcSec: UInt32 { UInt32(truncatingIfNeeded: seconds) }
    public var wcSecHi: UInt32 { UInt32(truncatingIfNeeded: seconds >> 32) }
    public var wcNsec: UInt32 { nanoseconds }

    /// Rebuilds the instant from the three shared_info fields.
    public init(wcSec: UInt32, wcSecHi: UInt32, wcNsec: UInt32) {
        self.init(seconds: UInt64(wcSecHi) << 32 | UInt64(wcSec), nanoseconds: UInt64(wcNsec))
    }

    /// This instant plus `ns` nanoseconds: what a guest computes as "now" from the boot
    /// wallclock and its system time.
    public func adding(nanoseconds ns: UInt64) -> WallClock {
        WallClock(seconds: seconds + ns / 1_000_000_000, nanoseconds: UInt64(nanoseconds) + ns % 1_000_000_000)
    }

    /// The wallclock at system time 0 (what shared_info publishes), given the wallclock `now`
    /// and the system time at that moment. Clamped at the epoch.
    public static func atSystemTimeZero(now: WallClock, systemTimeNs: UInt64) -> WallClock {
        let back = WallClock(nanosecondsSinceEpoch: systemTimeNs)
        if now.seconds < back.seconds || (now.seconds == back.seconds && now.nanoseconds < back.nanoseconds) {
            return WallClock(seconds: 0, nanoseconds: 0)
        }
        if now.nanoseconds >= back.nanoseconds {
            return WallClock(seconds: now.seconds - back.seconds, nanoseconds: UInt64(now.nanoseconds - back.nanoseconds))
        }
        return WallClock(seconds: now.seconds - back.seconds - 1,
                         nanoseconds: UInt64(now.nanoseconds) + 1_000_000_000 - UInt64(back.nanoseconds))
    }

    /// Writes the instant into shared_info's wallclock fields with the wc_version protocol.
    public func publish(toSharedInfo page: UnsafeMutableRawPointer) {
        let old = page.load(fromByteOffset: SharedInfo.wcVersionOffset, as: UInt32.self)
        page.storeBytes(of: old &+ 1, toByteOffset: SharedInfo.wcVersionOffset, as: UInt32.self)
        page.storeBytes(of: wcSec, toByteOffset: SharedInfo.wcSecOffset, as: UInt32.self)
        page.storeBytes(of: wcNsec, toByteOffset: SharedInfo.wcNsecOffset, as: UInt32.self)
        page.storeBytes(of: wcSecHi, toByteOffset: SharedInfo.wcSecHiOffset, as: UInt32.self)
        page.storeBytes(of: old &+ 2, toByteOffset: SharedInfo.wcVersionOffset, as: UInt32.self)
    }
}
