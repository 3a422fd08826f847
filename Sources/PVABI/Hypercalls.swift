// The hypercall numbers of the Xen x86_32 PV ABI (`int 0x82`, number in EAX) with their arguments.
// Numbers and argument contracts only: this file must never dispatch or validate a call.
//
// Arguments arrive in EBX, ECX, EDX, ESI, EDI (arg1..arg5); the result goes back in EAX,
// zero or a count on success, a negated `XenError` on failure. Numbers 11 and 25 are
// unused on x86_32 and, like any number not listed, answer -ENOSYS.

public enum Hypercall: UInt32, Sendable {
    /// IN arg1: guest pointer to trap_info entries ending at one with address 0 (0 clears the table).
    case setTrapTable = 0
    /// IN arg1: mmu_update requests {ptr u64, val u64}; arg2: count; arg3: OUT pointer to the
    /// number done (may be 0); arg4: domain whose frames are named. OUT: 0 or -errno.
    case mmuUpdate = 1
    /// IN arg1: guest pointer to a list of frame numbers; arg2: number of GDT entries.
    case setGDT = 2
    /// IN arg1: ring-1 stack segment; arg2: ring-1 stack pointer (for traps from ring 3).
    case stackSwitch = 3
    /// IN arg1/arg2: event callback selector/address; arg3/arg4: failsafe callback selector/address.
    case setCallbacks = 4
    /// IN arg1: nonzero sets CR0.TS (the next FPU use traps to the guest), zero clears it.
    case fpuTaskswitch = 5
    /// Old form of sched_op. IN arg1: command; arg2: argument.
    case schedOpCompat = 6
    /// IN arg1: guest pointer to a platform op (dom0 only).
    case platformOp = 7
    /// IN arg1: register number; arg2: value.
    case setDebugreg = 8
    /// IN arg1: register number. OUT: the value.
    case getDebugreg = 9
    /// IN arg1/arg2: machine address (low/high) of a descriptor slot; arg3/arg4: descriptor (low/high).
    case updateDescriptor = 10
    /// IN arg1: sub-command (increase/decrease reservation, maximum_ram_page, ...); arg2: its argument pointer.
    case memoryOp = 12
    /// IN arg1: guest pointer to multicall entries; arg2: count. OUT per entry: its result field.
    case multicall = 13
    /// IN arg1: virtual address; arg2/arg3: new PTE (low/high); arg4: TLB flush flags.
    case updateVAMapping = 14
    /// IN arg1/arg2: absolute timeout in ns (low/high), 0 cancels.
    case setTimerOp = 15
    /// Old form of event_channel_op. IN arg1: pointer to {cmd, op}.
    case eventChannelOpCompat = 16
    /// IN arg1: sub-command (0 returns the version as major << 16 | minor); arg2: argument pointer.
    case xenVersion = 17
    /// IN arg1: CONSOLEIO_write 0 / read 1; arg2: length; arg3: guest buffer. OUT: bytes done.
    case consoleIO = 18
    /// Old form of physdev_op. IN arg1: pointer to {cmd, op}.
    case physdevOpCompat = 19
    /// IN arg1: sub-command (setup_table 2, ...); arg2: argument pointer; arg3: count.
    case grantTableOp = 20
    /// IN arg1: enable 0 / disable 1; arg2: assist type.
    case vmAssist = 21
    /// As update_va_mapping, for another domain's frame. IN arg5: that domain's id.
    case updateVAMappingOtherdomain = 22
    /// Returns from a guest exception or event. IN: the guest stack holds eax, eip, cs,
    /// eflags (and esp, ss when returning to ring 2 or 3). Does not return to the caller.
    case iret = 23
    /// IN arg1: sub-command; arg2: vcpu id; arg3: argument pointer.
    case vcpuOp = 24
    /// IN arg1: mmuext_op entries {cmd, arg1, arg2} (pin, unpin, new_baseptr, tlb flushes, ...);
    /// arg2: count; arg3: OUT pointer to the number done; arg4: domain.
    case mmuextOp = 26
    /// Security module operations. IN arg1: argument pointer.
    case xsmOp = 27
    /// IN arg1: sub-command (register NMI callback, ...); arg2: argument pointer.
    case nmiOp = 28
    /// IN arg1: yield 0, block 1, shutdown 2, poll 3; arg2: argument pointer (shutdown reason).
    case schedOp = 29
    /// IN arg1: register 0 / unregister 1; arg2: pointer to {type, flags, address}.
    case callbackOp = 30
    /// Profiling. IN arg1: sub-command; arg2: argument pointer.
    case xenoprofOp = 31
    /// IN arg1: sub-command (bind_interdomain 0 ... expand_array 12); arg2: argument pointer. OUT: ports in the struct.
    case eventChannelOp = 32
    /// IN arg1: sub-command; arg2: argument pointer.
    case physdevOp = 33
    /// HVM operations; PV guests may be answered -ENOSYS.
    case hvmOp = 34
    /// IN arg1: pointer to a system-wide control op (dom0 only).
    case sysctl = 35
    /// IN arg1: pointer to a domain control op (create, destroy, pause, ...; dom0 only).
    case domctl = 36
    /// IN arg1: sub-command; arg2: argument pointer (dom0 only).
    case kexecOp = 37
    /// Transcendent memory; obsolete.
    case tmemOp = 38
    /// Inter-domain messaging. IN arg1: sub-command; arg2..arg5: its arguments.
    case argoOp = 39
    /// Performance monitoring. IN arg1: sub-command; arg2: argument pointer.
    case xenpmuOp = 40

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .setTrapTable: return "set_trap_table"
        case .mmuUpdate: return "mmu_update"
        case .setGDT: return "set_gdt"
        case .stackSwitch: return "stack_switch"
        case .setCallbacks: return "set_callbacks"
        case .fpuTaskswitch: return "fpu_taskswitch"
        case .schedOpCompat: return "sched_op_compat"
        case .platformOp: return "platform_op"
        case .setDebugreg: return "set_debugreg"
        case .getDebugreg: return "get_debugreg"
        case .updateDescriptor: return "update_descriptor"
        case .memoryOp: return "memory_op"
        case .multicall: return "multicall"
        case .updateVAMapping: return "update_va_mapping"
        case .setTimerOp: return "set_timer_op"
        case .eventChannelOpCompat: return "event_channel_op_compat"
        case .xenVersion: return "xen_version"
        case .consoleIO: return "console_io"
        case .physdevOpCompat: return "physdev_op_compat"
        case .grantTableOp: return "grant_table_op"
        case .vmAssist: return "vm_assist"
        case .updateVAMappingOtherdomain: return "update_va_mapping_otherdomain"
        case .iret: return "iret"
        case .vcpuOp: return "vcpu_op"
        case .mmuextOp: return "mmuext_op"
        case .xsmOp: return "xsm_op"
        case .nmiOp: return "nmi_op"
        case .schedOp: return "sched_op"
        case .callbackOp: return "callback_op"
        case .xenoprofOp: return "xenoprof_op"
        case .eventChannelOp: return "event_channel_op"
        case .physdevOp: return "physdev_op"
        case .hvmOp: return "hvm_op"
        case .sysctl: return "sysctl"
        case .domctl: return "domctl"
        case .kexecOp: return "kexec_op"
        case .tmemOp: return "tmem_op"
        case .argoOp: return "argo_op"
        case .xenpmuOp: return "xenpmu_op"
        }
    }
}
