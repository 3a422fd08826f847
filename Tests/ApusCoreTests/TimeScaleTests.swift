// Tests of the pvclock arithmetic: Xen's mul/shift for several TSC rates, a guest's computation against exact nanoseconds over an hour, the reverse scale, the vcpu_time_info protocol and the wallclock split.
// Ground truth is exact integer division (TimeScale.exactNanoseconds is checked against hand values first); known Xen values are literals.

import XCTest
import PVABI
@testable import ApusCore

private let rates: [UInt64] = [1_000_000_000, 2_400_000_000, 33_000_000, 3_579_545, 2_893_437_121, 4_000_000_000, 14_318_180]

final class TimeScaleTests: XCTestCase {
    func testExactReference() {
        XCTAssertEqual(TimeScale.exactNanoseconds(ticks: 2_400_000_000, ticksPerSecond: 2_400_000_000), 1_000_000_000)
        XCTAssertEqual(TimeScale.exactNanoseconds(ticks: 3, ticksPerSecond: 2_400_000_000), 1)   // 1.25 ns
        XCTAssertEqual(TimeScale.exactNanoseconds(ticks: 33, ticksPerSecond: 33_000_000), 1_000)
        XCTAssertEqual(TimeScale.exactTicks(nanoseconds: 1_000, ticksPerSecond: 33_000_000), 33)
        XCTAssertEqual(TimeScale.exactTicks(nanoseconds: 3_600 * 1_000_000_000, ticksPerSecond: 2_400_000_000), 8_640_000_000_000)
    }

    func testKnownScalesMatchXen() {
        // set_time_scale by hand: 1 GHz doubles once to 2e9 (shift 1), mul = 1e9 * 2^32 / 2e9 = 2^31.
        XCTAssertEqual(TimeScale(ticksPerSecond: 1_000_000_000), TimeScale(mul: 0x8000_0000, shift: 1))
        // 2.4 GHz halves once to 1.2e9 (shift -1), mul = floor(2^32 / 1.2) = 3579139413.
        XCTAssertEqual(TimeScale(ticksPerSecond: 2_400_000_000), TimeScale(mul: 3_579_139_413, shift: -1))
        // 33 MHz doubles five times to 1.056e9 (shift 5), mul = floor(1e9 * 2^32 / 1.056e9) = 4067203878.
        XCTAssertEqual(TimeScale(ticksPerSecond: 33_000_000), TimeScale(mul: 4_067_203_878, shift: 5))
        XCTAssertNil(TimeScale(ticksPerSecond: 0))
        XCTAssertNil(TimeScale(from: 1, to: 1 << 32))
    }

    func testMulAndShiftRanges() {
        for hz in rates + [1, 1_000, 999_999_999, 1_000_000_001, 2_000_000_000, 2_000_000_001, 20_000_000_000] {
            let scale = TimeScale(ticksPerSecond: hz)!
            XCTAssertGreaterThanOrEqual(scale.mul, 0x8000_0000, "mul is a fraction in [1/2, 1) at \(hz) Hz")
            XCTAssertGreaterThanOrEqual(scale.shift, -32, "\(hz) Hz")
            XCTAssertLessThanOrEqual(scale.shift, 32, "\(hz) Hz")
            // One second of ticks is one second of nanoseconds, to within the scale's rounding.
            let oneSecond = Double(scale.apply(hz))
            XCTAssertEqual(oneSecond, 1e9, accuracy: 1e9 * 1e-6 + 2, "\(hz) Hz")
        }
    }

    func testGuestTracksTrueTimeWithinOnePPMOverAnHour() {
        for hz in rates {
            let scale = TimeScale(ticksPerSecond: hz)!
            let bootTSC: UInt64 = 123_456_789
            let record = VcpuTimeRecord(tscTimestamp: bootTSC, systemTimeNs: 0, scale: scale)
            let hourTicks = TimeScale.exactTicks(nanoseconds: 3_600_000_000_000, ticksPerSecond: hz)
            var rng = SplitMix64(state: hz)
            var samples: [UInt64] = [0, 1, hz, hourTicks]
            for _ in 0..<2_000 { samples.append(rng.next() % (hourTicks + 1)) }
            for delta in samples {
                let truth = Double(TimeScale.exactNanoseconds(ticks: delta, ticksPerSecond: hz))
                let guest = Double(record.systemTime(atTSC: bootTSC + delta))
                XCTAssertEqual(guest, truth, accuracy: truth * 1e-6 + 2 * 1e9 / Double(hz) + 1, "\(hz) Hz at \(delta) ticks")
            }
        }
    }

    func testRepublishingEverySecondStaysExactAndMonotonic() {
        // The hypervisor refreshes (tsc_timestamp, system_time) from exact arithmetic each second;
        // a guest reading between refreshes never sees time go backwards across a refresh.
        for hz in [UInt64(1_000_000_000), 2_400_000_000, 33_000_000] {
            let scale = TimeScale(ticksPerSecond: hz)!
            var last: UInt64 = 0
            var tsc: UInt64 = 0
            for second in 0..<3_600 as Range<UInt64> {
                let record = VcpuTimeRecord(tscTimestamp: tsc, systemTimeNs: TimeScale.exactNanoseconds(ticks: tsc, ticksPerSecond: hz), scale: scale)
                for step in [UInt64(0), hz / 3, hz / 2, hz - 1] {
                    let now = record.systemTime(atTSC: tsc + step)
                    XCTAssertGreaterThanOrEqual(now, last, "\(hz) Hz second \(second)")
                    last = now
                }
                tsc += hz
            }
        }
    }

    func testReverseScale() {
        for hz in [UInt64(1_000_000_000), 2_400_000_000, 33_000_000, 3_579_545, 4_000_000_000] {
            let back = TimeScale.nanosecondsToTicks(ticksPerSecond: hz)!
            XCTAssertGreaterThanOrEqual(back.mul, 0x8000_0000)
            for ns in [UInt64(1_000), 1_000_000, 1_000_000_000, 3_600_000_000_000] {
                let truth = Double(TimeScale.exactTicks(nanoseconds: ns, ticksPerSecond: hz))
                XCTAssertEqual(Double(back.apply(ns)), truth, accuracy: truth * 1e-6 + 16, "\(hz) Hz, \(ns) ns")
            }
        }
        XCTAssertNil(TimeScale.nanosecondsToTicks(ticksPerSecond: 5_000_000_000), "beyond 32 bits")
    }

    func testApplyUsesTheFull96BitProduct() {
        let scale = TimeScale(mul: 0xFFFF_FFFF, shift: 0)
        let delta: UInt64 = 0x1234_5678_9ABC_DEF0
        let wide = delta.multipliedFullWidth(by: UInt64(scale.mul))
        let expected = wide.high << 32 | wide.low >> 32
        XCTAssertEqual(scale.apply(delta), expected)
        XCTAssertEqual(TimeScale(mul: 0x8000_0000, shift: -3).apply(80), 5)
    }

    func testPublishAndGuestRead() throws {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        let info = raw + SharedInfo.vcpuInfoOffset(vcpu: 0) + VcpuInfo.timeOffset
        var record = VcpuTimeRecord(tscTimestamp: 0x1_0000_0001, systemTimeNs: 5_000_000_000,
                                    scale: TimeScale(ticksPerSecond: 2_400_000_000)!, flags: VcpuTimeInfo.flagTSCStable)
        record.publish(to: info)
        XCTAssertEqual(record.version, 2)
        XCTAssertEqual(raw.load(fromByteOffset: 32, as: UInt32.self), 2, "version at vcpu_info + 32")
        XCTAssertEqual(raw.load(fromByteOffset: 32 + 8, as: UInt64.self), 0x1_0000_0001)
        XCTAssertEqual(raw.load(fromByteOffset: 32 + 16, as: UInt64.self), 5_000_000_000)
        XCTAssertEqual(raw.load(fromByteOffset: 32 + 24, as: UInt32.self), 3_579_139_413)
        XCTAssertEqual(raw.load(fromByteOffset: 32 + 28, as: Int8.self), -1)
        XCTAssertEqual(raw.load(fromByteOffset: 32 + 29, as: UInt8.self), 1)
        XCTAssertEqual(VcpuTimeRecord.guestRead(from: info), record)
        // One second later, less the scale's rounding down (never more than a nanosecond or two here).
        let later = try XCTUnwrap(VcpuTimeRecord.guestSystemTime(from: info, tsc: 0x1_0000_0001 + 2_400_000_000))
        XCTAssertEqual(Double(later), 6e9, accuracy: 2)
        // Mid-update the guest retries.
        info.storeBytes(of: UInt32(3), toByteOffset: 0, as: UInt32.self)
        XCTAssertNil(VcpuTimeRecord.guestRead(from: info))
        record.publish(to: info)
        XCTAssertEqual(record.version, 5)
    }

    func testWallclockSplit() {
        let boot = WallClock(nanosecondsSinceEpoch: 1_700_000_000_123_456_789)
        XCTAssertEqual(boot.seconds, 1_700_000_000)
        XCTAssertEqual(boot.nanoseconds, 123_456_789)
        XCTAssertEqual(boot.wcSec, 1_700_000_000)
        XCTAssertEqual(boot.wcSecHi, 0)
        XCTAssertEqual(boot.wcNsec, 123_456_789)
        let far = WallClock(seconds: 0x1_0000_0005, nanoseconds: 7)
        XCTAssertEqual(far.wcSec, 5)
        XCTAssertEqual(far.wcSecHi, 1)
        XCTAssertEqual(WallClock(wcSec: 5, wcSecHi: 1, wcNsec: 7), far)
        XCTAssertEqual(WallClock(seconds: 1, nanoseconds: 2_500_000_000), WallClock(seconds: 3, nanoseconds: 500_000_000))

        // now = boot wallclock + system time, both ways.
        let now = WallClock(seconds: 1_700_000_100, nanoseconds: 100_000_000)
        let system: UInt64 = 99_900_000_000 + 500_000_000
        let zero = WallClock.atSystemTimeZero(now: now, systemTimeNs: system)
        XCTAssertEqual(zero, WallClock(seconds: 1_699_999_999, nanoseconds: 700_000_000))
        XCTAssertEqual(zero.adding(nanoseconds: system), now)
        XCTAssertEqual(WallClock.atSystemTimeZero(now: WallClock(seconds: 1, nanoseconds: 0), systemTimeNs: 2_000_000_000),
                       WallClock(seconds: 0, nanoseconds: 0))

        let raw = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        far.publish(toSharedInfo: raw)
        XCTAssertEqual(raw.load(fromByteOffset: 2304, as: UInt32.self), 2, "wc_version")
        XCTAssertEqual(raw.load(fromByteOffset: 2308, as: UInt32.self), 5, "wc_sec")
        XCTAssertEqual(raw.load(fromByteOffset: 2312, as: UInt32.self), 7, "wc_nsec")
        XCTAssertEqual(raw.load(fromByteOffset: 2340, as: UInt32.self), 1, "wc_sec_hi")
    }
}
