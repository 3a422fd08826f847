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
        case .success(.address(let index, let value)):
            d.vcpu.debugAddresses[index] = value
            DebugRegisters.applyAddress(d, index: index)
        case .success(.status(let value)):
            d.vcpu.debugStatus = value
            DebugRegisters.applyStatus(d)
        case .success(.control(let value)):
            d.vcpu.debugControl = value
            DebugRegisters.applyControl(d)
        }
        return .ok
    }

    static func get(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        switch GetDebugRegRequest.decode(register: a.a1, cr4DE: hasDebuggingExtensions(d)) {
        case .failure(let refusal): return refusal.outcome
        case .success(.address(let index)): return .value(Int32(bitPattern: d.vcpu.debugAddresses[index]))
        case .success(.status): return .value(Int32(bitPattern: d.vcpu.debugStatus))
        case .success(.control): return .value(Int32(bitPattern: d.vcpu.debugControl))
        }
    }
}
