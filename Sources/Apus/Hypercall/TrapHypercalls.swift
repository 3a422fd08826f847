// TrapHypercalls.swift: how a guest kernel tells the hypervisor where its handlers are and how it
// returns from them: set_trap_table (0), set_callbacks (4), callback_op (30), stack_switch (3),
// fpu_taskswitch (5) and iret (23). ApusCore's decoders read and check everything first; this file
// only installs what they accepted.

import ApusCore
import PVABI

enum TrapHypercalls {
    static func setTrapTable(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        var table = TrapTableRequest()
        if let refusal = table.decode(list: a.a1, &memory) { return refusal.outcome }
        if table.clears {
            for v in 0..<256 { d.vcpu.trapTable[v] = TrapInfo.empty(vector: UInt8(v)) }
        }
        var touchesSystemCall = table.clears
        for i in 0..<table.count {
            d.vcpu.trapTable[Int(table[i].vector)] = table[i]
            if table[i].vector == DirectTrapGate.vector { touchesSystemCall = true }
        }
        if touchesSystemCall { SystemCallGate.refresh(d) }
        return .ok
    }

    static func setCallbacks(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        switch SetCallbacksRequest.decode(a) {
        case .failure(let r): return r.outcome
        case .success(let request):
            d.vcpu.eventCallback = GuestCallback(request.event)
            d.vcpu.failsafeCallback = GuestCallback(request.failsafe)
            return .ok
        }
    }

    static func callbackOp(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch CallbackOpRequest.decode(a, &memory) {
        case .failure(let r): return r.outcome
        case .success(.register(let type, let entry)):
            let callback = GuestCallback(entry)
            switch type {
            case .event: d.vcpu.eventCallback = callback
            case .failsafe: d.vcpu.failsafeCallback = callback
            case .syscall, .syscall32: d.vcpu.syscallCallback = callback
            case .sysenter, .sysenterDeprecated: d.vcpu.sysenterCallback = callback
            case .nmi: d.vcpu.nmiCallback = callback
            }
        case .success(.unregister(let type)):
            switch type {
            case .event, .failsafe: break                       // refused by the decoder
            case .syscall, .syscall32: d.vcpu.syscallCallback = GuestCallback()
            case .sysenter, .sysenterDeprecated: d.vcpu.sysenterCallback = GuestCallback()
            case .nmi: d.vcpu.nmiCallback = GuestCallback()
            }
        }
        return .ok
    }

    static func stackSwitch(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        switch StackSwitchRequest.decode(a) {
        case .failure(let r): return r.outcome
        case .success(let request):
            d.vcpu.kernelSS = UInt32(request.ss)
            d.vcpu.kernelESP = request.esp
            if Domains.isRunning(d) { SystemCallGate.loadKernelStack(d) }
            return .ok
        }
    }

    static func fpuTaskswitch(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        d.vcpu.taskSwitched = a.a1 != 0
        FPU.applyTaskSwitched(d)
        return .ok
    }

    /// Returns to the frame the guest left on its stack, read straight into the hypercall's own frame
    /// (IretInPlace); a frame that cannot be used crashes it.
    @inline(__always)      // into the hypercall table: every exception and event handler ends here
    static func iret(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let result = IretInPlace.apply(frame, &memory)
        guard let mask = result.upcallMask else { refuseIret(d, result) }
        d.upcallMask = mask
        return .frameReplaced
    }

    /// The frame was refused (it is partly overwritten by then): the guest is crashed with the reason.
    @inline(never)
    static func refuseIret(_ d: Domain, _ result: IretInPlaceResult) -> Never {
        GuestFaults.crash(d, result.refusal?.reason ?? "iret refused")
    }
}

extension GuestCallback {
    init(_ entry: GuestEntryPoint) { self.init(cs: UInt32(entry.cs), eip: entry.eip) }
}
