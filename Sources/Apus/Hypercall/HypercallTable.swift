// HypercallTable.swift: the one table from hypercall number to handler, and the outcome type
// every handler returns. A number without a handler answers as Xen's default does (-ENOSYS; the vPMU
// -EOPNOTSUPP), logged once per domain and number. Refusals are logged with their reason. Handlers
// decode their arguments first (no side effects), then act.

import ApusCore
import PVABI

/// What a handler decided.
enum HypercallOutcome {
    /// Success, with the value EAX gets.
    case value(Int32)
    /// A refusal: EAX gets -errno, and the reason goes to the log.
    case refused(XenError, StaticString)
    /// The handler rewrote the guest's whole frame (iret); EAX is already what it must be.
    case frameReplaced
    /// The domain stopped running (shutdown, crash, block): the scheduler takes over.
    case descheduled
    /// An error that is an ordinary answer (the end of a getdomaininfo walk): not logged.
    case answer(XenError)
    /// Xen's answer for something Apus does not offer (a hypercall or command it leaves out): logged
    /// the first time each domain meets it for that hypercall number, then answered quietly.
    case unoffered(XenError, StaticString)

    static let ok = HypercallOutcome.value(0)
}

extension Refusal {
    /// A decoder's refusal as the outcome the table logs and answers.
    var outcome: HypercallOutcome { .refused(error, reason) }
}

enum Hypercalls {
    static let maxRefusalsLogged: UInt32 = 200

    /// Called from the trap path for `int 0x82` from ring 1. Only the hypercalls that can run
    /// long (`mayRunLong`) are timed; the others return without reading the clock.
    @inline(__always)
    static func handle(_ frame: UnsafeMutablePointer<TrapFrame>, _ domain: Domain) {
        let number = frame.pointee.eax
        let a = HypercallArguments(frame.pointee.ebx, frame.pointee.ecx, frame.pointee.edx, frame.pointee.esi, frame.pointee.edi)
        guard let call = Hypercall(rawValue: number) else {
            finish(number, .unoffered(.ENOSYS, "no such hypercall"), frame, domain)
            return
        }
        let timed = call.mayRunLong
        let start = timed ? cpu_rdtsc() : 0
        let outcome = run(call, a, frame, domain, nested: false)
        if timed {
            let spent = cpu_rdtsc() &- start
            if spent > slowTicks { logSlow(domain, number, spent) }
        }
        finish(number, outcome, frame, domain)
    }

    /// A hypercall is not preemptible: one that runs longer than this (5 ms) delays every other
    /// domain's timers by as much, so it is logged (at most 50 times).
    static var slowTicks: UInt64 = .max
    static var slowLogged: UInt32 = 0
    static func armSlowLog() { slowTicks = SystemTime.tscKHz * 5 }

    static func logSlow(_ domain: Domain, _ number: UInt32, _ ticks: UInt64) {
        guard slowLogged < 50 else { return }
        slowLogged += 1
        let name: StaticString = Hypercall(rawValue: number)?.name ?? "unknown"
        Log.info("d\(domain.id): hypercall \(number) (\(name)) ran \(UInt32(truncatingIfNeeded: ticks / SystemTime.tscKHz)) ms without preemption")
    }

    @inline(__always)
    static func finish(_ number: UInt32, _ outcome: HypercallOutcome, _ frame: UnsafeMutablePointer<TrapFrame>, _ domain: Domain) {
        switch outcome {
        case .value(let v):
            frame.pointee.eax = UInt32(bitPattern: v)
        case .refused(let error, let reason):
            frame.pointee.eax = UInt32(bitPattern: error.negated)
            logRefusal(domain, number, error, reason)
        case .answer(let error):
            frame.pointee.eax = UInt32(bitPattern: error.negated)
        case .unoffered(let error, let reason):
            frame.pointee.eax = UInt32(bitPattern: error.negated)
            logUnoffered(domain, number, error, reason)
        case .frameReplaced, .descheduled:
            break
        }
    }

    static func logRefusal(_ domain: Domain, _ number: UInt32, _ error: XenError, _ reason: StaticString) {
        domain.refusalsLogged &+= 1
        if domain.refusalsLogged > maxRefusalsLogged { return }
        let name: StaticString = Hypercall(rawValue: number)?.name ?? "unknown"
        Log.info("d\(domain.id): hypercall \(number) (\(name)) -> -\(error.name): \(reason)")
        if domain.refusalsLogged == maxRefusalsLogged {
            Log.info("d\(domain.id): further refusals are not logged")
        }
    }

    /// Once per domain and hypercall number (numbers past 63 share the last bit).
    static func logUnoffered(_ domain: Domain, _ number: UInt32, _ error: XenError, _ reason: StaticString) {
        let bit: UInt64 = 1 << UInt64(min(number, 63))
        if domain.unofferedLogged & bit != 0 { return }
        domain.unofferedLogged |= bit
        let name: StaticString = Hypercall(rawValue: number)?.name ?? "unknown"
        Log.info("d\(domain.id): hypercall \(number) (\(name)) -> -\(error.name): \(reason) (logged once)")
    }

    /// The table. `nested` is true inside a multicall (which may not nest, nor switch frames).
    static func dispatch(_ number: UInt32, _ a: HypercallArguments, _ frame: UnsafeMutablePointer<TrapFrame>,
                         _ d: Domain, nested: Bool) -> HypercallOutcome {
        guard let call = Hypercall(rawValue: number) else { return .unoffered(.ENOSYS, "no such hypercall") }
        return run(call, a, frame, d, nested: nested)
    }

    static func run(_ call: Hypercall, _ a: HypercallArguments, _ frame: UnsafeMutablePointer<TrapFrame>,
                    _ d: Domain, nested: Bool) -> HypercallOutcome {
        switch call {
        case .consoleIO: return ConsoleIOHypercall.run(a, d)
        case .xenVersion: return XenVersionHypercall.run(a, d)
        case .setTrapTable: return TrapHypercalls.setTrapTable(a, d)
        case .setCallbacks: return TrapHypercalls.setCallbacks(a, d)
        case .callbackOp: return TrapHypercalls.callbackOp(a, d)
        case .stackSwitch: return TrapHypercalls.stackSwitch(a, d)
        case .setDebugreg: return DebugRegHypercalls.set(a, d)
        case .getDebugreg: return DebugRegHypercalls.get(a, d)
        case .physdevOp: return PhysdevOpHypercall.run(a, d)
        case .platformOp: return PlatformOpHypercall.run(a, d)
        case .xenpmuOp: return .unoffered(.EOPNOTSUPP, "the vPMU is off, as in Xen's default configuration")
        case .fpuTaskswitch: return TrapHypercalls.fpuTaskswitch(a, d)
        case .iret:
            if nested { return .refused(.EINVAL, "iret inside a multicall must be its last entry") }
            return TrapHypercalls.iret(frame, d)
        case .schedOp: return SchedOpHypercall.run(a, d)
        case .multicall:
            if nested { return .refused(.EINVAL, "multicalls do not nest") }
            return MulticallHypercall.run(a, frame, d)
        case .vmAssist: return MiscHypercalls.vmAssist(a, d)
        case .vcpuOp: return MiscHypercalls.vcpuOp(a, d)
        case .setGDT: return DescriptorHypercalls.setGDT(a, d)
        case .updateDescriptor: return DescriptorHypercalls.updateDescriptor(a, d)
        case .updateVAMapping: return MemoryHypercalls.updateVAMapping(a, d)
        case .mmuUpdate: return MemoryHypercalls.mmuUpdate(a, d)
        case .mmuextOp: return MemoryHypercalls.mmuextOp(a, d)
        case .memoryOp: return MemoryOpHypercall.run(a, d)
        case .eventChannelOp: return EventChannelHypercall.run(a, d)
        case .setTimerOp: return TimerHypercall.run(a, d)
        case .grantTableOp: return GrantTableOpHypercall.run(a, d)
        case .sysctl:
            guard d.privileged else { return .refused(.EPERM, "sysctl is for dom0 only") }
            return SysctlHypercall.run(a, d)
        case .domctl:
            guard d.privileged else { return .refused(.EPERM, "domctl is for dom0 only") }
            return DomctlHypercall.run(a, d)
        default: return .unoffered(.ENOSYS, "this hypercall is not offered by Apus")
        }
    }
}

extension Hypercall {
    /// The calls whose work grows with their arguments or with a domain's size (batches, domain
    /// builds and teardowns, table walks): the only ones the slow-hypercall log times.
    var mayRunLong: Bool {
        switch self {
        case .mmuUpdate, .mmuextOp, .memoryOp, .multicall, .grantTableOp, .domctl, .sysctl, .setTrapTable, .setGDT, .consoleIO:
            return true
        default:
            return false
        }
    }
}
