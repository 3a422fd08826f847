// Builder.swift: turns a hypercall number and sub-command into hostile arguments: the register
// arguments from the palettes, and, where a pointer lands in the scratch buffers, the structure
// it names filled with random bytes and the fields that select a command or a target set on
// purpose. It decides the narrow skips (SkipPolicy) but never makes a call itself.

import ApusCore
import PVABI

enum Builder {
    /// Hypercalls whose first argument is a sub-command.
    static func subInFirstArgument(_ n: UInt32) -> Bool {
        switch n {
        case 6, 12, 17, 18, 20, 21, 24, 27, 28, 29, 30, 31, 32, 33, 34, 37, 38, 39, 40, 41, 42: return true
        default: return false
        }
    }

    /// Random bytes over `bytes` at `p` when it is in the scratch buffers (clipped at their end).
    static func fill(_ p: UInt32, _ bytes: UInt32, _ r: inout SplitMix64) {
        guard FuzzSpace.inScratch(p) else { return }
        var o: UInt32 = 0
        while o < bytes { FuzzSpace.store32(p &+ o, r.u32()); o += 4 }
    }

    static func build(_ number: UInt32, _ sub: UInt32, _ r: inout SplitMix64, inMulticall: Bool) -> Draw {
        var c = Call(number, sub)
        // Raw bits for the arguments a call does not use; palette draws for the ones it does.
        let w1 = r.next(), w2 = r.next()
        c.a1 = UInt32(truncatingIfNeeded: w1); c.a2 = UInt32(truncatingIfNeeded: w1 >> 32)
        c.a3 = UInt32(truncatingIfNeeded: w2); c.a4 = UInt32(truncatingIfNeeded: w2 >> 32); c.a5 = r.u32()
        switch number {
        case 0:  // set_trap_table(table)
            c.a1 = r.oneIn(16) ? 0 : Palette.pointer(&r)
            trapTable(c.a1, &r)
            c.repair |= Repair.traps
        case 1:  // mmu_update(reqs, count, done, domid)
            c.a1 = Palette.pointer(&r); c.a2 = Palette.count(&r); c.a3 = Palette.pointer(&r)
            c.a4 = UInt32(Palette.domain(&r))
            mmuRequests(c.a1, c.a2, sub, &r)
        case 2:  // set_gdt(frames, entries)
            c.a1 = Palette.pointer(&r); c.a2 = Palette.count(&r)
            frameList(c.a1, 16, &r)
        case 3:  // stack_switch(ss, esp)
            c.a1 = r.oneIn(2) ? 0xE021 : r.below(0x1_0000); c.a2 = Palette.pointer(&r)
            c.repair |= Repair.stack
        case 4:  // set_callbacks(event cs, eip, failsafe cs, eip)
            c.a1 = r.oneIn(2) ? 0xE019 : r.below(0x1_0000); c.a3 = r.oneIn(2) ? 0xE019 : r.below(0x1_0000)
            c.a2 = Palette.pointer(&r); c.a4 = Palette.pointer(&r)
            c.repair |= Repair.callbacks
        case 5:  // fpu_taskswitch(set)
            c.a1 = r.oneIn(2) ? r.below(2) : r.u32()
            c.repair |= Repair.fpu
        case 6:  // sched_op_compat(cmd, arg): the argument is the value itself
            if sub == 1 { if inMulticall { return .skip(.multicallEntryReplaced) }; c.needsTimer = true }
            if sub == 2 {
                if r.oneIn(2) { c.a2 = 6 + r.below(64) }       // invalid reasons, to be refused
                if c.a2 < 6 { return .skip(.shutdown) }
            }
        case 7:  // platform_op(op): cmd and interface version inside
            c.a1 = Palette.pointer(&r)
            fill(c.a1, 128, &r)
            FuzzSpace.store32(c.a1, sub); if r.oneIn(2) { FuzzSpace.store32(c.a1 &+ 4, 0x0300_0001) }
            if FuzzSpace.privileged, let cmd = FuzzSpace.peek32(c.a1), cmd == 51 || cmd == 53 { return .skip(.platformSleepOrOffline) }
        case 8:  // set_debugreg(reg, value)
            c.a1 = sub & 7; c.repair |= Repair.debug
        case 9:  // get_debugreg(reg)
            c.a1 = sub
        case 10: // update_descriptor(maddr lo, hi, desc lo, hi)
            let ma = UInt64(Palette.frame(&r)) << 12 | UInt64(r.below(4096) & (r.oneIn(4) ? 0xFFF : 0xFF8))
            c.a1 = UInt32(truncatingIfNeeded: ma); c.a2 = r.oneIn(8) ? r.u32() : UInt32(truncatingIfNeeded: ma >> 32)
            c.a3 = r.u32(); c.a4 = r.u32()
        case 12: // memory_op(cmd, arg)
            c.a2 = Palette.pointer(&r)
            memoryOp(sub, c.a2, &r)
        case 13: // multicall(entries, count)
            return multicall(c, &r, inMulticall: inMulticall)
        case 14, 22: // update_va_mapping(va, pte lo, pte hi, flags [, domid])
            c.a1 = Palette.mappingVA(&r)
            let pte = Palette.pte(&r)
            c.a2 = UInt32(truncatingIfNeeded: pte); c.a3 = UInt32(truncatingIfNeeded: pte >> 32)
            c.a4 = r.oneIn(2) ? r.below(4) : r.u32()
            c.a5 = UInt32(Palette.domain(&r))
        case 15: // set_timer_op(deadline lo, hi)
            switch r.below(4) {
            case 0: c.a1 = 0; c.a2 = 0
            case 1: let t = Fuzz.now() &+ UInt64(r.below(2_000_000)); c.a1 = UInt32(truncatingIfNeeded: t); c.a2 = UInt32(truncatingIfNeeded: t >> 32)
            default: break
            }
        case 16, 19: // event_channel_op_compat(op), physdev_op_compat(op): cmd inside
            c.a1 = Palette.pointer(&r)
            fill(c.a1, 32, &r); FuzzSpace.store32(c.a1, sub)
            if number == 16 { eventChannelStruct(sub, c.a1 &+ 4, &r) }
        case 17: // xen_version(cmd, arg)
            c.a2 = Palette.pointer(&r)
        case 18: // console_io(cmd, count, buffer)
            c.a2 = Palette.count(&r); c.a3 = Palette.pointer(&r)
            // Console writes must not flood the log: a write from memory the fuzzer can read is
            // at most 16 bytes, or it starts 16 bytes or fewer before the unmapped guard page.
            if sub == 0 && c.a2 > 16 && FuzzSpace.peek32(c.a3 & ~3) != nil {
                if r.oneIn(2) { c.a2 = r.below(17) } else { c.a3 = FuzzSpace.guardPage &- r.below(17) }
            }
        case 20: // grant_table_op(cmd, ops, count)
            c.a2 = Palette.pointer(&r); c.a3 = Palette.count(&r)
            grantOps(sub, c.a2, c.a3, &r)
        case 21: // vm_assist(cmd, type)
            c.a2 = r.oneIn(2) ? r.below(40) : r.u32()
        case 23: // iret: replaces the caller's frame with what is on its stack
            return .skip(.iret)
        case 24: // vcpu_op(cmd, vcpu, arg)
            c.a2 = r.oneIn(4) ? Palette.count(&r) : 0
            c.a3 = Palette.pointer(&r)
            fill(c.a3, 64, &r)
            if sub == 2 && c.a2 == 0 { return .skip(.vcpuDownOnlyVCPU) }
            if sub == 10 {
                if FuzzSpace.inScratch(c.a3) && r.oneIn(2) { FuzzSpace.store64(c.a3, UInt64(Palette.frame(&r))) }
                if let mfn = FuzzSpace.peek64(c.a3), mfn < 0x1_0000_0000, FuzzSpace.isOwn(UInt32(mfn)) {
                    return .skip(inMulticall ? .multicallEntryReplaced : .registerVCPUInfoOwnFrame)
                }
            }
        case 26: // mmuext_op(ops, count, done, domid)
            c.a1 = Palette.pointer(&r); c.a2 = Palette.count(&r); c.a3 = Palette.pointer(&r)
            c.a4 = UInt32(Palette.domain(&r))
            mmuextOps(c.a1, c.a2, sub, &r)
        case 28: // nmi_op(cmd, arg)
            c.a2 = Palette.pointer(&r); fill(c.a2, 16, &r)
            c.repair |= Repair.callbacks
        case 29: // sched_op(cmd, arg)
            c.a2 = Palette.pointer(&r)
            if let reason = schedOp(&c, &r, inMulticall: inMulticall) { return .skip(reason) }
        case 30: // callback_op(cmd, arg)
            c.a2 = Palette.pointer(&r); fill(c.a2, 16, &r)
            if FuzzSpace.inScratch(c.a2) && r.oneIn(2) { FuzzSpace.store16(c.a2, UInt16(r.below(8))) }
            c.repair |= Repair.callbacks
        case 32: // event_channel_op(cmd, arg)
            c.a2 = Palette.pointer(&r)
            fill(c.a2, 32, &r); eventChannelStruct(sub, c.a2, &r)
        case 33: // physdev_op(cmd, arg)
            c.a2 = Palette.pointer(&r); fill(c.a2, 32, &r)
        case 35, 36: // sysctl(op), domctl(op): cmd, interface version and target inside
            c.a1 = Palette.pointer(&r)
            fill(c.a1, 144, &r)
            FuzzSpace.store32(c.a1, r.oneIn(8) ? 64 + r.below(64) : sub)
            if !r.oneIn(4) { FuzzSpace.store32(c.a1 &+ 4, DomctlVersion.apus) }
            FuzzSpace.store16(c.a1 &+ 8, Palette.domain(&r))
            if number == 36, let reason = domctlSkip(c.a1, &c) { return .skip(inMulticall ? .multicallEntryReplaced : reason) }
        case 37: // kexec_op(cmd, arg)
            c.a2 = Palette.pointer(&r)
            if sub == 0 && FuzzSpace.privileged { return .skip(inMulticall ? .multicallEntryReplaced : .kexec) }
        default: // everything else: each argument from the palettes, sub-command first where there is one
            c.a1 = Palette.any(&r); c.a2 = Palette.any(&r); c.a3 = Palette.any(&r); c.a4 = Palette.any(&r); c.a5 = Palette.any(&r)
        }
        if subInFirstArgument(number) { c.a1 = sub }
        return .call(c)
    }
}
