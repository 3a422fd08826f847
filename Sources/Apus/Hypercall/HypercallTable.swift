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

    /// Called from the trap path for `int 0x82` from ring 1. The table is inlined here and switches
    /// on the number itself, reading each call's arguments from the frame in its own case, so a
    /// short call's outcome never leaves registers. Only the calls that can run long are timed.
    @inline(__always)
    static func handle(_ frame: UnsafeMutablePointer<TrapFrame>, _ domain: Domain) {
        let number = frame.pointee.eax
        finish(number, run(number, FrameRegisters(frame), frame, domain, nested: false), frame, domain)
    }

    /// A call whose work grows with its arguments or a domain's size (batches, domain builds and
    /// teardowns, table walks), timed for the slow-hypercall log (not inside a multicall, which is timed as a whole).
    @inline(__always)
    static func timed(_ number: UInt32, _ d: Domain, nested: Bool, _ body: () -> HypercallOutcome) -> HypercallOutcome {
        if nested { return body() }
        let start = cpu_rdtsc()
        let outcome = body()
        let spent = cpu_rdtsc() &- start
        if spent > slowTicks { logSlow(d, number, spent) }
        return outcome
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
        Log.guestWarning("d\(domain.id): hypercall \(number) (\(name)) -> -\(error.name): \(reason)")
        if domain.refusalsLogged == maxRefusalsLogged {
            Log.guestWarning("d\(domain.id): further refusals are not logged")
        }
    }

    /// Once per domain and hypercall number (numbers past 63 share the last bit).
    static func logUnoffered(_ domain: Domain, _ number: UInt32, _ error: XenError, _ reason: StaticString) {
        let bit: UInt64 = 1 << UInt64(min(number, 63))
        if domain.unofferedLogged & bit != 0 { return }
        domain.unofferedLogged |= bit
        let name: StaticString = Hypercall(rawValue: number)?.name ?? "unknown"
        Log.guestWarning("d\(domain.id): hypercall \(number) (\(name)) -> -\(error.name): \(reason) (logged once)")
    }

    /// The table. `nested` is true inside a multicall (which may not nest, nor switch frames).
    @inline(never)
    static func dispatch(_ number: UInt32, _ a: HypercallArguments, _ frame: UnsafeMutablePointer<TrapFrame>,
                         _ d: Domain, nested: Bool) -> HypercallOutcome {
        run(number, a, frame, d, nested: nested)
    }

    /// xenpmu_op's answer, out of line: inline, its errno was loaded into a register before the table's
    /// jump on every hypercall (xen_version and EVTCHNOP_send paid an instruction for it).
    @inline(never)
    static func pmuOff() -> HypercallOutcome {
        .unoffered(.EOPNOTSUPP, "the vPMU is off, as in Xen's default configuration")
    }

    /// One case per hypercall number (Hypercall's raw values); the ones that can run long are timed.
    @inline(__always)
    static func run<Source: HypercallArgumentSource>(_ number: UInt32, _ source: Source, _ frame: UnsafeMutablePointer<TrapFrame>,
                                                     _ d: Domain, nested: Bool) -> HypercallOutcome {
        switch number {
        case Hypercall.consoleIO.rawValue: return timed(number, d, nested: nested) { ConsoleIOHypercall.run(source.arguments, d) }
        case Hypercall.xenVersion.rawValue: return XenVersionHypercall.run(source.arguments, d)
        case Hypercall.setTrapTable.rawValue: return timed(number, d, nested: nested) { TrapHypercalls.setTrapTable(source.arguments, d) }
        case Hypercall.setCallbacks.rawValue: return TrapHypercalls.setCallbacks(source.arguments, d)
        case Hypercall.callbackOp.rawValue: return TrapHypercalls.callbackOp(source.arguments, d)
        case Hypercall.stackSwitch.rawValue: return TrapHypercalls.stackSwitch(source.arguments, d)
        case Hypercall.setDebugreg.rawValue: return DebugRegHypercalls.set(source.arguments, d)
        case Hypercall.getDebugreg.rawValue: return DebugRegHypercalls.get(source.arguments, d)
        case Hypercall.physdevOp.rawValue: return PhysdevOpHypercall.run(source.arguments, d)
        case Hypercall.platformOp.rawValue: return PlatformOpHypercall.run(source.arguments, d)
        case Hypercall.xenpmuOp.rawValue: return pmuOff()
        case Hypercall.fpuTaskswitch.rawValue: return TrapHypercalls.fpuTaskswitch(source.arguments, d)
        case Hypercall.iret.rawValue:
            if nested { return .refused(.EINVAL, "iret inside a multicall must be its last entry") }
            return TrapHypercalls.iret(frame, d)
        case Hypercall.schedOp.rawValue: return SchedOpHypercall.run(source.arguments, d)
        case Hypercall.multicall.rawValue:
            if nested { return .refused(.EINVAL, "multicalls do not nest") }
            return timed(number, d, nested: nested) { MulticallHypercall.run(source.arguments, frame, d) }
        case Hypercall.vmAssist.rawValue: return MiscHypercalls.vmAssist(source.arguments, d)
        case Hypercall.vcpuOp.rawValue: return MiscHypercalls.vcpuOp(source.arguments, d)
        case Hypercall.setGDT.rawValue: return timed(number, d, nested: nested) { DescriptorHypercalls.setGDT(source.arguments, d) }
        case Hypercall.updateDescriptor.rawValue: return DescriptorHypercalls.updateDescriptor(source.arguments, d)
        case Hypercall.updateVAMapping.rawValue: return MemoryHypercalls.updateVAMapping(source.arguments, d)
        case Hypercall.mmuUpdate.rawValue:
            if source.arguments.a2 == 1 { return .value(MemoryHypercalls.mmuUpdateSingle(source.arguments, d)) }
            return timed(number, d, nested: nested) { MemoryHypercalls.mmuUpdate(source.arguments, d) }
        case Hypercall.mmuextOp.rawValue: return timed(number, d, nested: nested) { MemoryHypercalls.mmuextOp(source.arguments, d) }
        case Hypercall.memoryOp.rawValue: return timed(number, d, nested: nested) { MemoryOpHypercall.run(source.arguments, d) }
        case Hypercall.eventChannelOp.rawValue: return EventChannelHypercall.run(source.arguments, d)
        case Hypercall.setTimerOp.rawValue: return TimerHypercall.run(source.arguments, d)
        case Hypercall.grantTableOp.rawValue: return timed(number, d, nested: nested) { GrantTableOpHypercall.run(source.arguments, d) }
        case Hypercall.sysctl.rawValue:
            guard d.privileged else { return .refused(.EPERM, "sysctl is for dom0 only") }
            return timed(number, d, nested: nested) { SysctlHypercall.run(source.arguments, d) }
        case Hypercall.domctl.rawValue:
            guard d.privileged else { return .refused(.EPERM, "domctl is for dom0 only") }
            return timed(number, d, nested: nested) { DomctlHypercall.run(source.arguments, d) }
        default:
            if Hypercall(rawValue: number) == nil { return .unoffered(.ENOSYS, "no such hypercall") }
            return .unoffered(.ENOSYS, "this hypercall is not offered by Apus")
        }
    }
}

/// Where a hypercall's five arguments come from: the trapping frame's registers (read in the case
/// that needs them), or a multicall entry already decoded.
protocol HypercallArgumentSource {
    var arguments: HypercallArguments { get }
}

extension HypercallArguments: HypercallArgumentSource {
    var arguments: HypercallArguments { self }
}

/// EBX, ECX, EDX, ESI, EDI of the frame, in the pv32 ABI's order.
struct FrameRegisters: HypercallArgumentSource {
    let frame: UnsafeMutablePointer<TrapFrame>
    init(_ frame: UnsafeMutablePointer<TrapFrame>) { self.frame = frame }
    var arguments: HypercallArguments {
        @inline(__always) get { HypercallArguments(frame.pointee.ebx, frame.pointee.ecx, frame.pointee.edx, frame.pointee.esi, frame.pointee.edi) }
    }
}

