// Histogram.swift: what the fuzzer's calls answered (0, positive, each -errno) and why calls
// were skipped. Counting only; it never decides anything.

import ApusCore
import GuestKit
import PVABI

/// Why a generated call was not made: each reason is a call that would legitimately end the
/// fuzzer, freeze it, or take away its ability to report.
enum SkipReason: Int, CaseIterable {
    case shutdown, remoteShutdownSelf, pollWithoutNearTimeout, vcpuDownOnlyVCPU, iret
    case registerVCPUInfoOwnFrame, destroyOrPauseSelf, setVCPUContextSelf, kexec, platformSleepOrOffline
    case multicallEntryReplaced, avoided

    var text: StaticString {
        switch self {
        case .shutdown: return "sched_op shutdown with a valid reason, or a batch from memory it does not write holding shutdown, block or poll"
        case .remoteShutdownSelf: return "sched_op remote_shutdown of itself (ends the domain)"
        case .pollWithoutNearTimeout: return "sched_op poll without a near timeout (blocks for good)"
        case .vcpuDownOnlyVCPU: return "vcpu_op down of its only vCPU (freezes it)"
        case .iret: return "iret, alone or in a batch from memory it does not write (replaces its own frame)"
        case .registerVCPUInfoOwnFrame: return "vcpu_op register_vcpu_info on its own frame (moves its event state for good)"
        case .destroyOrPauseSelf: return "domctl destroy/pause of itself (dom0 only)"
        case .setVCPUContextSelf: return "domctl setvcpucontext of itself (dom0 only)"
        case .kexec: return "kexec_op exec (dom0 only, ends the machine)"
        case .platformSleepOrOffline: return "platform_op ACPI sleep or CPU offline (dom0 only)"
        case .multicallEntryReplaced: return "multicall entries replaced (a skipped call, or block, inside a batch)"
        case .avoided: return "avoided by the avoid= command-line list"
        }
    }
}

enum Histogram {
    static var zero: UInt32 = 0
    static var positive: UInt32 = 0
    /// negative[e] counts calls that returned -e, for e in 1..<128; [0] counts anything below -127.
    static var negative = [UInt32](repeating: 0, count: 128)
    static var skipped = [UInt32](repeating: 0, count: SkipReason.allCases.count)

    @inline(__always)
    static func record(_ rc: Int32) {
        if rc == 0 { zero &+= 1 } else if rc > 0 { positive &+= 1 } else if rc >= -127 { negative[Int(-rc)] &+= 1 } else { negative[0] &+= 1 }
    }

    static func skip(_ reason: SkipReason) { skipped[reason.rawValue] &+= 1 }

    static var totalSkipped: UInt32 { skipped.reduce(0, &+) }

    static func report<T>(_ console: GuestConsole<T>) {
        for r in SkipReason.allCases where skipped[r.rawValue] > 0 {
            console.print("fuzz: skipped \(skipped[r.rawValue]): \(r.text)")
        }
        console.print("fuzz: result 0: \(zero)")
        console.print("fuzz: result positive: \(positive)")
        for e in 1..<128 where negative[e] > 0 {
            if let error = XenError(rawValue: Int32(e)) {
                console.print("fuzz: result -\(error.name): \(negative[e])")
            } else {
                console.print("fuzz: result -\(Int32(e)) (no name): \(negative[e])")
            }
        }
        if negative[0] > 0 { console.print("fuzz: result below -127: \(negative[0])") }
    }
}
