// PrivilegedEmulation.swift: a guest's port I/O and cli/sti, and a kernel's control- and debug-register
// moves, clts, wbinvd, rdmsr and wrmsr, emulated on the #GP(0) they raise, as Xen's emulate_privileged_op
// does for a PV guest (ring 1 only for all but port I/O and cli/sti; anything else stays the guest's #GP).
// Port I/O (in/out, and ins/outs with rep) follows PortAccessRule: the guest's own level (virtual IOPL
// or its I/O bitmap) or the #GP stays the guest's; then the real port for a port the domain holds, all
// ones / a dropped write (logged) for any other. The string side of ins/outs is planned by
// StringPortTransfer (segment, limit, direction, a bounded chunk of a rep) and moved through the checked
// guest-memory path only; a page it cannot reach is the guest's #PF. cli/sti where the virtual IOPL allows
// them (kernel, or user mode at IOPL 3) are accepted and change nothing, as on Xen (which deliberately
// does not let them touch the event mask); otherwise #GP. CR0 shows the
// guest's own TS, CR2 its fault address, CR3 its base, CR4 what a PV kernel may see; writes change
// only what the guest owns. Debug registers go through set_debugreg's decoder, MSRs through
// GuestMSRPolicy. A finished instruction retires through EmulatedSingleStep (the guest's single step).
// It never touches a port the rule did not allow, nor loads a value a rule refused.

import ApusCore
import PVABI

enum PrivilegedEmulation {
    /// CR4 bits a PV kernel is shown (Xen shows the guest a filtered CR4): PSE, PAE, OSFXSR, OSXMMEXCPT.
    static let visibleCR4: UInt32 = 1 << 4 | 1 << 5 | 1 << 9 | 1 << 10
    /// Refused port accesses logged per domain.
    static let maxPortRefusalsLogged: UInt32 = 16

    /// True when the instruction at EIP was emulated and the guest moved past it.
    static func tryEmulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> Bool {
        let ring = frame.pointee.ring
        guard ring == 1 || ring == 3, frame.pointee.errorCode == 0 else { return false }
        var memory = RunningGuestMemory()
        let bytes = InstructionBytes.fetch(frame.pointee.eip, &memory)
        guard let (instruction, length) = PrivilegedInstruction.decode(bytes) else { return false }
        // Everything but port I/O is a kernel's (ring 1), as Xen's emulator runs it only in guest kernel mode.
        switch instruction {
        case .clearInterrupts, .setInterrupts: guard PortAccessRule.ioplAllows(guestPorts(frame, d)) else { return false }
        case .portIn, .portOut, .stringIn, .stringOut: break
        default: guard ring == 1 else { return false }
        }
        switch instruction {
        case .clearInterrupts, .setInterrupts:
            // Xen's emulator accepts them and leaves the event mask alone: a popf could not undo a
            // cli, so letting it mask events would hang the guest (Xen's own reasoning).
            break
        case .stringIn(let size, let rep):
            return stringAccess(frame, d, size: size, rep: rep, segment: .es, length: length, portRead: true, &memory)
        case .stringOut(let size, let segment, let rep):
            return stringAccess(frame, d, size: size, rep: rep, segment: segment, length: length, portRead: false, &memory)
        case .portIn(let size, let port):
            guard portAccess(frame, d, size: size, port: port, write: false, &memory) else { return false }
        case .portOut(let size, let port):
            guard portAccess(frame, d, size: size, port: port, write: true, &memory) else { return false }
        case .readControl(let cr, let reg):
            let value: UInt32
            switch cr {
            case 0: value = cpu_read_cr0() & ~ControlRegisters.taskSwitched | (d.vcpu.taskSwitched ? ControlRegisters.taskSwitched : 0)
            case 2: value = d.vcpuInfo.load(fromByteOffset: VcpuInfo.cr2Offset, as: UInt32.self)
            case 3: value = PAE.xenPfnToCR3(mfn: d.vcpu.l3MFN)
            default: value = d.vcpu.guestCR4 ?? cpu_read_cr4() & visibleCR4
            }
            frame.pointee.setRegister(reg, value)
        case .writeControl(let cr, let reg):
            let value = frame.pointee.register(reg)
            switch cr {
            case 0:
                // Only TS is the guest's (fpu_taskswitch); any other change is refused with the #GP.
                let current = cpu_read_cr0() & ~ControlRegisters.taskSwitched
                guard value & ~ControlRegisters.taskSwitched == current else { return false }
                d.vcpu.taskSwitched = value & ControlRegisters.taskSwitched != 0
                FPU.applyTaskSwitched(d)
            case 3:
                // As NEW_BASEPTR: validated by the paging core, the old base released once the CPU left it.
                let request = MMUExtRequest(cmd: MMUExtCommand.newBaseptr.rawValue, arg1: PAE.xenCR3ToPfn(value))
                switch Machine.frames.mmuextOp(request, state: &d.memory, memory: &Machine.memory) {
                case .success(let effect):
                    guard MemoryHypercalls.apply(effect, d) == nil else { return false }
                case .failure(let error):
                    Log.guestWarning("d\(d.id): mov to cr3 \(hex8: value) at \(hex8: frame.pointee.eip) refused (#GP): \(error.reason)")
                    return false
                }
            default:
                // CR4: as Xen, the write is accepted and the guest keeps its view of the register;
                // the real CR4 stays the hypervisor's.
                d.vcpu.guestCR4 = value
            }
        case .readDebug(let dr, let reg):
            switch GetDebugRegRequest.decode(register: UInt32(dr), cr4DE: DebugRegHypercalls.hasDebuggingExtensions(d)) {
            case .success(let request): frame.pointee.setRegister(reg, DebugRegHypercalls.value(request, d))
            case .failure(let refusal): return refused(frame, d, "mov from dr", UInt32(dr), refusal)
            }
        case .writeDebug(let dr, let reg):
            let value = frame.pointee.register(reg)
            switch SetDebugRegRequest.decode(register: UInt32(dr), value: value, cr4DE: DebugRegHypercalls.hasDebuggingExtensions(d)) {
            case .success(let request): DebugRegHypercalls.store(request, d)
            case .failure(let refusal): return refused(frame, d, "mov to dr", UInt32(dr), refusal)
            }
        case .clearTaskSwitched:
            d.vcpu.taskSwitched = false
            FPU.applyTaskSwitched(d)
        case .writeBackInvalidate:
            // As Xen for a domain without cache-flush permission: nothing to do (the CPU's caches are
            // coherent with every device Apus lets a guest drive).
            break
        case .readMSR:
            let msr = frame.pointee.ecx
            switch GuestMSRPolicy.read(msr, msrState(d, msr)) {
            case .success(let value):
                frame.pointee.eax = UInt32(truncatingIfNeeded: value)
                frame.pointee.edx = UInt32(truncatingIfNeeded: value >> 32)
            case .failure(let refusal): return refused(frame, d, "rdmsr", msr, refusal)
            }
        case .writeMSR:
            let msr = frame.pointee.ecx
            let value = UInt64(frame.pointee.edx) << 32 | UInt64(frame.pointee.eax)
            switch GuestMSRPolicy.write(msr, value, msrState(d, msr)) {
            case .success(.unchanged): break
            case .success(.setCPUIDFaulting(let on)): d.vcpu.cpuidFaulting = on
            case .failure(let refusal): return refused(frame, d, "wrmsr", msr, refusal)
            }
        }
        frame.pointee.skipInstruction(length: length)
        EmulatedSingleStep.retire(frame, d)
        return true
    }

    /// What GuestMSRPolicy needs: the TSC now, EFER (NXE when the hypervisor enabled it), the vCPU's faulting
    /// bit, and for MISC_ENABLE and UCODE_REV the CPU's own value (nil where its rdmsr faults).
    private static func msrState(_ d: Domain, _ msr: UInt32) -> GuestMSRState {
        var s = GuestMSRState(nativeTSC: cpu_rdtsc(), nativeEFER: HypervisorPaging.nxSupported ? cpu_rdmsr(0xC000_0080) : 0,
                              cpuidFaulting: d.vcpu.cpuidFaulting, amd: cpuIsAMD)
        if msr == GuestMSR.miscEnable || msr == GuestMSR.ucodeRev {
            var value: UInt64 = 0
            if cpu_rdmsr_safe(msr, &value) == 0 {
                if msr == GuestMSR.miscEnable { s.nativeMiscEnable = value } else { s.nativeUcodeRev = value }
            }
        }
        return s
    }

    /// cpuid 0's vendor is AuthenticAMD ("Auth" in EBX).
    private static let cpuIsAMD = CPUIDResult(leaf: 0).ebx == 0x6874_7541

    /// An emulated instruction whose effect a rule refused: logged (the first few per domain) and left
    /// to the guest as its #GP. Always false.
    private static func refused(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, _ what: StaticString, _ which: UInt32,
                                _ refusal: Refusal) -> Bool {
        d.privilegedRefusals &+= 1
        if d.privilegedRefusals == maxPortRefusalsLogged + 1 {
            Log.info("d\(d.id): further refused privileged instructions are not logged")
        } else if d.privilegedRefusals <= maxPortRefusalsLogged {
            Log.info("d\(d.id): \(what) \(hex: which) at \(hex8: frame.pointee.eip) refused (#GP): \(refusal.reason)")
        }
        return false
    }

    /// The guest-controlled state Xen's rules read: its virtual IOPL and bitmap, and its ring.
    private static func guestPorts(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> GuestPortState {
        GuestPortState(iopl: d.vcpu.iopl, kernelMode: frame.pointee.ring == 1,
                       architecturalIOPL: d.vmAssist & VMAssistType.architecturalIOPL.bit != 0,
                       bitmap: d.vcpu.ioBitmap, bitmapPorts: d.vcpu.ioBitmapPorts)
    }

    /// One `in` or `out`, decided by PortAccessRule. False leaves the #GP to the guest.
    private static func portAccess(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, size: UInt8, port fixed: UInt16?,
                             write: Bool, _ memory: inout RunningGuestMemory) -> Bool {
        let port = fixed ?? UInt16(truncatingIfNeeded: frame.pointee.edx)
        let guest = guestPorts(frame, d)
        let keep: UInt32 = size == 4 ? 0 : (size == 2 ? 0xFFFF_0000 : 0xFFFF_FF00)
        switch PortAccessRule.decide(port: port, size: size, guest: guest, permitted: d.devices.ports, &memory) {
        case .generalProtection:
            return false
        case .perform:
            if write {
                GuestPortIO.write(port, size: size, frame.pointee.eax)
            } else {
                frame.pointee.eax = frame.pointee.eax & keep | GuestPortIO.read(port, size: size)
            }
        case .denied(let why):
            if !write { frame.pointee.eax = frame.pointee.eax & keep | PrivilegedInstruction.unreadablePortValue(size: size) }
            logDenied(d, port: port, size: size, write: write, why)
        }
        return true
    }

    /// A port the administrator's level refused: logged, the first few per domain.
    private static func logDenied(_ d: Domain, port: UInt16, size: UInt8, write: Bool, _ why: PortDenial) {
        d.portRefusals &+= 1
        if d.portRefusals == maxPortRefusalsLogged + 1 {
            Log.guestWarning("d\(d.id): further refused port accesses are not logged")
        } else if d.portRefusals <= maxPortRefusalsLogged {
            Log.guestWarning("d\(d.id): \(write ? StaticString("out to") : StaticString("in from")) port \(hex: UInt32(port)) (\(UInt32(size)) bytes) \(write ? StaticString("dropped") : StaticString("reads all ones")): \(why.reason)")
        }
    }

    /// The selector a segment register held when the guest faulted.
    static func selector(_ segment: SegmentRegister, _ f: TrapFrame) -> UInt16 {
        let value: UInt32
        switch segment {
        case .es: value = f.es
        case .cs: value = f.cs
        case .ss: value = f.ss
        case .ds: value = f.ds
        case .fs: value = f.fs
        case .gs: value = f.gs
        }
        return UInt16(truncatingIfNeeded: value)
    }

    /// One ins (`portRead`) or outs, or a bounded chunk of its rep: PortAccessRule decides the port once
    /// (the same DX throughout), StringPortTransfer the memory; each element then moves between the port
    /// and guest memory through the checked path. ESI/EDI and ECX advance by what was done; EIP moves past
    /// the instruction only when it is finished (else the guest runs it again for the rest, as on Xen).
    /// An element whose memory is not mapped ends the chunk there with the guest's #PF. False leaves the
    /// #GP to the guest.
    private static func stringAccess(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, size: UInt8, rep: Bool,
                                     segment: SegmentRegister, length: Int, portRead: Bool, _ memory: inout RunningGuestMemory) -> Bool {
        let f = frame.pointee
        let port = UInt16(truncatingIfNeeded: f.edx)
        let verdict = PortAccessRule.decide(port: port, size: size, guest: guestPorts(frame, d), permitted: d.devices.ports, &memory)
        if verdict == .generalProtection { return false }
        let start = portRead ? f.edi : f.esi
        let plan = StringPortTransfer.plan(size: size, rep: rep, count: f.ecx, descending: f.eflags & (1 << 10) != 0, offset: start,
                                           descriptor: GuestSegments.descriptor(selector(segment, f), d), write: portRead)
        let t: StringPortTransfer
        switch plan {
        case .nothing:
            frame.pointee.skipInstruction(length: length)
            EmulatedSingleStep.retire(frame, d)
            return true
        case .generalProtection(let why):
            d.privilegedRefusals &+= 1
            if d.privilegedRefusals <= maxPortRefusalsLogged {
                Log.info("d\(d.id): \(portRead ? StaticString("ins") : StaticString("outs")) at \(hex8: f.eip) refused (#GP): \(why.reason)")
            }
            return false
        case .transfer(let chunk):
            t = chunk
        }
        if case .denied(let why) = verdict { logDenied(d, port: port, size: size, write: !portRead, why) }
        let perform = verdict == .perform
        var done: UInt32 = 0
        var unreachable: GuestRange? = nil
        while done < t.iterations {
            guard let element = t.element(done) else { break }
            var value: UInt32 = 0
            if portRead {
                value = perform ? GuestPortIO.read(port, size: size) : PrivilegedInstruction.unreadablePortValue(size: size)
                guard withUnsafeBytes(of: &value, { memory.copyOut(element, from: $0.baseAddress!) }) else { unreachable = element; break }
            } else {
                guard withUnsafeMutableBytes(of: &value, { memory.copyIn(element, to: $0.baseAddress!) }) else { unreachable = element; break }
                if perform { GuestPortIO.write(port, size: size, value) }
            }
            done &+= 1
        }
        let offset = t.offset(after: done, from: start)
        if portRead { frame.pointee.edi = offset } else { frame.pointee.esi = offset }
        if rep { frame.pointee.ecx = f.ecx &- done }
        if let page = unreachable {
            // The element's page is not mapped for the guest (or not writable, for ins): its #PF, at that element.
            d.setCR2(page.start)
            frame.pointee.vector = 14
            frame.pointee.errorCode = (portRead ? 2 : 0) | (f.ring == 3 ? 4 : 0)
            GuestFaults.bounce(frame, d, vector: 14, hasErrorCode: true)
            return true
        }
        if t.finished { frame.pointee.skipInstruction(length: length) }
        // A chunk of a rep retires as the whole instruction does (Xen single-steps each chunk, the CPU each element).
        EmulatedSingleStep.retire(frame, d)
        return true
    }
}
