// DebugRegHypercalls.swift: set_debugreg (8) and get_debugreg (9) acted on: the vCPU's debug registers
// are stored and, for the running domain, loaded at once. ApusCore's SetDebugRegRequest and
// GetDebugRegRequest decode and refuse; this file only stores what they accepted.

import ApusCore
import PVABI

enum DebugRegHypercalls {
    /// The guest's own CR4.DE (set through the emulated mov to CR4): DR4/DR5 stop aliasing DR6/DR7.
    static func hasDebuggingExtensions(_ d: Domain) -> Bool {
        (d.vcpu.guestCR4 ?? 0) & DebugRegisterBits.cr4DebuggingExtensions != 0
    }

    static func set(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        switch SetDebugRegRequest.decode(register: a.a1, value: a.a2, cr4DE: hasDebuggingExtensions(d)) {
        case .failure(let refusal): return refusal.outcome
        case .success(let request): store(request, d)
        }
        return .ok
    }

    static func get(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        switch GetDebugRegRequest.decode(register: a.a1, cr4DE: hasDebuggingExtensions(d)) {
        case .failure(let refusal): return refusal.outcome
        case .success(let request): return .value(Int32(bitPattern: value(request, d)))
        }
    }

    /// Stores what the decoder accepted (set_debugreg, or an emulated mov to DRn) and loads it at once
    /// for the running domain.
    static func store(_ request: SetDebugRegRequest, _ d: Domain) {
        switch request {
        case .address(let index, let value):
            d.vcpu.debugAddresses[index] = value
            DebugRegisters.applyAddress(d, index: index)
        case .status(let value):
            d.vcpu.debugStatus = value
            DebugRegisters.applyStatus(d)
        case .control(let value):
            d.vcpu.debugControl = value
            DebugRegisters.applyControl(d)
        }
    }

    /// The register get_debugreg (or an emulated mov from DRn) reads.
    static func value(_ request: GetDebugRegRequest, _ d: Domain) -> UInt32 {
        switch request {
        case .address(let index): return d.vcpu.debugAddresses[index]
        case .status: return d.vcpu.debugStatus
        case .control: return d.vcpu.debugControl
        }
    }
}
