// GuestMSRPolicy.swift: the model-specific registers a 32-bit PV kernel's rdmsr and wrmsr reach, as
// Xen 4.17's read_msr/write_msr and guest_rdmsr/guest_wrmsr answer a PV guest on an Intel-like CPU:
// the TSC, the APIC base (Linux reads it), EFER and PAT as the guest may see them, no performance
// capabilities, CPUID faulting (PLATFORM_INFO says it is offered, MISC_FEATURES_ENABLES turns it
// on), the vendor's performance counters as Xen shows them with its vPMU off (read 0, writes dropped)
// and, on AMD, DE_CFG (LFENCE serialising; writes dropped); MISC_ENABLE and UCODE_REV forwarded from the CPU
// (MISC_ENABLE filtered as Xen's guest_misc_enable, a #GP where the CPU has none). Every other MSR, and every write that would change what the guest may not change, is a #GP,
// as on Xen since 4.15. Pure: the actor hands in the native values it needs and stores what a write
// returns; this file never reads or writes an MSR.

import PVABI

/// MSR numbers the policy knows.
public enum GuestMSR {
    public static let tsc: UInt32 = 0x10
    public static let apicBase: UInt32 = 0x1B
    public static let platformInfo: UInt32 = 0xCE
    public static let miscFeaturesEnables: UInt32 = 0x140
    public static let pat: UInt32 = 0x277
    public static let perfCapabilities: UInt32 = 0x345
    public static let efer: UInt32 = 0xC000_0080
    /// The microcode revision (Intel's UCODE_REV, AMD's PATCHLEVEL: one number).
    public static let ucodeRev: UInt32 = 0x8B
    public static let miscEnable: UInt32 = 0x1A0

    /// MISC_ENABLE as Xen's guest_misc_enable shows it: no performance monitoring and no MONITOR/MWAIT,
    /// BTS and PEBS unavailable, xTPR messages off.
    public static func guestMiscEnable(_ native: UInt64) -> UInt64 {
        native & ~(1 << 7 | 1 << 18) | 1 << 11 | 1 << 12 | 1 << 23
    }

    /// APIC_BASE as Xen shows vCPU 0: enabled, BSP, at the default address.
    public static let apicBaseValue: UInt64 = 0xFEE0_0000 | 1 << 11 | 1 << 8
    /// XEN_MSR_PAT: the PAT Xen programs and shows.
    public static let patValue: UInt64 = 0x0005_0100_0704_06
    /// PLATFORM_INFO bit 31: CPUID faulting is offered (Xen offers it to every PV guest, in software).
    public static let platformInfoCPUIDFaulting: UInt64 = 1 << 31
    /// MISC_FEATURES_ENABLES bit 0: CPUID faulting on.
    public static let cpuidFaultingEnable: UInt64 = 1
    /// EFER bits a 32-bit PV guest may see: NXE (LME, LMA, SCE and SVME are hidden, as guest_efer does).
    public static let visibleEFER: UInt64 = 1 << 11
    /// AMD's DE_CFG and the value Xen shows (LFENCE is serialising).
    public static let amdDECfg: UInt32 = 0xC001_1029
    public static let amdDECfgValue: UInt64 = 1 << 1
    /// The vendor's performance counters Xen's vPMU answers (off: read 0, writes dropped): Intel's
    /// P6 PERFCTR0-7 and EVNTSEL0-3, AMD's K7 EVNTSEL0-3 and PERFCTR0-3.
    public static func isPerformanceCounter(_ msr: UInt32, amd: Bool) -> Bool {
        amd ? (0xC001_0000...0xC001_0007).contains(msr) : (0xC1...0xC8).contains(msr) || (0x186...0x189).contains(msr)
    }
}

/// What the policy needs of the vCPU and the CPU.
public struct GuestMSRState: Equatable, Sendable {
    /// The CPU's TSC now, and its EFER.
    public var nativeTSC: UInt64
    public var nativeEFER: UInt64
    /// The guest's MISC_FEATURES_ENABLES.cpuid_faulting.
    public var cpuidFaulting: Bool
    /// The CPU is AMD's (cpuid 0: AuthenticAMD): its MSRs, not Intel's.
    public var amd: Bool
    /// The CPU's MISC_ENABLE and UCODE_REV: nil where its rdmsr faults (the actor reads them only for those MSRs).
    public var nativeMiscEnable: UInt64?
    public var nativeUcodeRev: UInt64?
    public init(nativeTSC: UInt64, nativeEFER: UInt64, cpuidFaulting: Bool, amd: Bool = false,
                nativeMiscEnable: UInt64? = nil, nativeUcodeRev: UInt64? = nil) {
        self.nativeTSC = nativeTSC; self.nativeEFER = nativeEFER; self.cpuidFaulting = cpuidFaulting; self.amd = amd
        self.nativeMiscEnable = nativeMiscEnable; self.nativeUcodeRev = nativeUcodeRev
    }
}

/// A write the policy accepted: what changes (nothing, or the vCPU's CPUID faulting).
public enum GuestMSRWrite: Equatable, Sendable {
    /// Accepted, nothing changes: EFER written back as read (Linux does), a write Xen drops.
    case unchanged
    case setCPUIDFaulting(Bool)
}

public enum GuestMSRPolicy {
    /// rdmsr: the value, or a refusal (the #GP the guest gets) with its reason.
    public static func read(_ msr: UInt32, _ s: GuestMSRState) -> Decoded<UInt64> {
        switch msr {
        case GuestMSR.tsc: return .success(s.nativeTSC)
        case GuestMSR.apicBase: return .success(GuestMSR.apicBaseValue)
        case GuestMSR.platformInfo: return .success(GuestMSR.platformInfoCPUIDFaulting)
        case GuestMSR.miscFeaturesEnables: return .success(s.cpuidFaulting ? GuestMSR.cpuidFaultingEnable : 0)
        case GuestMSR.pat: return .success(GuestMSR.patValue)
        case GuestMSR.perfCapabilities: return .success(0)
        case GuestMSR.efer: return .success(s.nativeEFER & GuestMSR.visibleEFER)
        case GuestMSR.amdDECfg where s.amd: return .success(GuestMSR.amdDECfgValue)
        case GuestMSR.miscEnable:
            guard let native = s.nativeMiscEnable else { return .failure(Refusal(.EPERM, "rdmsr: this CPU has no MISC_ENABLE")) }
            return .success(GuestMSR.guestMiscEnable(native))
        case GuestMSR.ucodeRev:
            guard let native = s.nativeUcodeRev else { return .failure(Refusal(.EPERM, "rdmsr: this CPU has no UCODE_REV")) }
            return .success(native)
        case _ where GuestMSR.isPerformanceCounter(msr, amd: s.amd): return .success(0)
        default: return .failure(Refusal(.EPERM, "rdmsr: an MSR Xen does not show a PV guest"))
        }
    }

    /// wrmsr of `value` (EDX:EAX).
    public static func write(_ msr: UInt32, _ value: UInt64, _ s: GuestMSRState) -> Decoded<GuestMSRWrite> {
        switch msr {
        case GuestMSR.miscFeaturesEnables:
            guard value & ~GuestMSR.cpuidFaultingEnable == 0 else {
                return .failure(Refusal(.EPERM, "wrmsr: MISC_FEATURES_ENABLES bits other than CPUID faulting"))
            }
            return .success(.setCPUIDFaulting(value & GuestMSR.cpuidFaultingEnable != 0))
        case GuestMSR.efer:
            guard value == s.nativeEFER & GuestMSR.visibleEFER else {
                return .failure(Refusal(.EPERM, "wrmsr: EFER may only be written with the value it reads"))
            }
            return .success(.unchanged)
        case GuestMSR.amdDECfg where s.amd:
            return .success(.unchanged)                 // dropped, as Xen does (OpenBSD writes it)
        case GuestMSR.miscEnable:
            // Xen's write_msr: a #GP where the CPU has none, else dropped (logged by Xen when it differs).
            guard s.nativeMiscEnable != nil else { return .failure(Refusal(.EPERM, "wrmsr: this CPU has no MISC_ENABLE")) }
            return .success(.unchanged)
        case GuestMSR.ucodeRev:
            // Intel asks the OS to write 0 before reading the revision: that write alone, on Intel.
            guard !s.amd, value == 0 else { return .failure(Refusal(.EPERM, "wrmsr: UCODE_REV takes only Intel's write of 0")) }
            return .success(.unchanged)
        case _ where GuestMSR.isPerformanceCounter(msr, amd: s.amd):
            return .success(.unchanged)                 // the vPMU is off: dropped
        default:
            if case .success = read(msr, s) { return .failure(Refusal(.EPERM, "wrmsr: an MSR a PV guest may only read")) }
            return .failure(Refusal(.EPERM, "wrmsr: an MSR Xen does not show a PV guest"))
        }
    }
}
