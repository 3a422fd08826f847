// VcpuContextDecode.swift: a vcpu_guest_context (x86_32) from VCPUOP_initialise turned into the
// state a new vCPU starts with: its registers (selectors given ring 1 where they named ring 0, as
// Xen's fixup), its virtual IDT, ring-1 stack, callbacks, GDT and top-level table. Then the rules
// (VcpuContextRules): what this hypervisor can give the vCPU; its own L3 and GDT frames are then
// taken by the paging core (VcpuContextTables.swift). It reads only the bytes it is given and never
// acts; a context it cannot accept is a refusal with Xen's errno and a reason.

import PVABI

/// The state a vCPU starts with, decoded.
public struct VcpuContext {
    public var frame = TrapFrame()
    /// Its virtual IDT: the entries with a handler (address != 0), vectors as given.
    public var traps: [TrapInfo] = []
    public var kernelSS: UInt32 = 0
    public var kernelSP: UInt32 = 0
    /// The top-level table's machine frame (from ctrlreg[3]).
    public var l3Frame: UInt32 = 0
    public var eventCS: UInt32 = 0, eventEIP: UInt32 = 0
    public var failsafeCS: UInt32 = 0, failsafeEIP: UInt32 = 0
    public var gdtFrames: [UInt32] = []
    public var gdtEntries: UInt32 = 0
    public var ldtEntries: UInt32 = 0
    public var failsafeDisablesEvents = false
    public init() {}
}

public enum VcpuContextDecode {
    /// EFLAGS bits a context may not start with (IOPL, NT, VM), as iret's rule.
    static let forbiddenFlags: UInt32 = IretRequest.forbiddenFlags

    /// A selector a ring-1 guest gives: RPL 0 becomes 1 (Xen's fixup_guest_{code,stack}_selector).
    public static func ringOne(_ selector: UInt32) -> UInt32 {
        let s = selector & 0xFFFF
        return s & 3 == 0 ? s | 1 : s
    }

    /// Decodes the 2800 bytes of a vcpu_guest_context. Refuses what no domain could start with.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Decoded<VcpuContext> {
        guard bytes.count >= VcpuGuestContextLayout.size else {
            return .failure(Refusal(.EFAULT, "vcpu_guest_context is shorter than its 2800 bytes"))
        }
        func u32(_ o: Int) -> UInt32 { bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
        func u16(_ o: Int) -> UInt32 { UInt32(bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u8(_ o: Int) -> UInt8 { bytes.load(fromByteOffset: o, as: UInt8.self) }
        typealias L = VcpuGuestContextLayout
        typealias R = CpuUserRegsLayout
        let flags = u32(L.flagsOffset)
        if flags & VcpuGuestContextFlags.i387Valid != 0 {
            return .failure(Refusal(.EINVAL, "initialise: an initial FPU state (VGCF_i387_valid) is not supported; a vCPU starts from the reset state"))
        }
        var c = VcpuContext()
        let r = L.userRegsOffset
        c.frame.ebx = u32(r + R.ebx); c.frame.ecx = u32(r + R.ecx); c.frame.edx = u32(r + R.edx)
        c.frame.esi = u32(r + R.esi); c.frame.edi = u32(r + R.edi); c.frame.ebp = u32(r + R.ebp)
        c.frame.eax = u32(r + R.eax)
        c.frame.eip = u32(r + R.eip)
        c.frame.cs = ringOne(u16(r + R.cs))
        c.frame.eflags = (u32(r + R.eflags) & ~forbiddenFlags) | 0x200 | 0x2
        c.frame.esp = u32(r + R.esp)
        c.frame.ss = ringOne(u16(r + R.ss))
        c.frame.es = u16(r + R.es); c.frame.ds = u16(r + R.ds)
        c.frame.fs = u16(r + R.fs); c.frame.gs = u16(r + R.gs)
        guard c.frame.eip < XenLayout.hypervisorVirtStart else {
            return .failure(Refusal(.EINVAL, "initialise: the start address lies in the hypervisor area"))
        }
        guard c.frame.cs & 3 != 0, c.frame.ss & 3 != 0 else {
            return .failure(Refusal(.EINVAL, "initialise: a ring-0 code or stack selector"))
        }
        for i in 0..<L.trapCount {
            let o = L.trapCtxtOffset + i * TrapInfoLayout.size
            let address = u32(o + TrapInfoLayout.addressOffset)
            guard address != 0 else { continue }
            guard address < XenLayout.hypervisorVirtStart else {
                return .failure(Refusal(.EINVAL, "initialise: a trap handler in the hypervisor area"))
            }
            c.traps.append(TrapInfo(vector: u8(o + TrapInfoLayout.vectorOffset), flags: u8(o + TrapInfoLayout.flagsOffset),
                                    cs: UInt16(ringOne(u16(o + TrapInfoLayout.csOffset))), address: address))
        }
        c.ldtEntries = u32(L.ldtEntsOffset)
        c.gdtEntries = u32(L.gdtEntsOffset)
        // set_gdt's bound (Xen's pv_set_gdt: gdt_ents > FIRST_RESERVED_GDT_ENTRY is -EINVAL).
        guard c.gdtEntries <= UInt32(SetGDTRequest.maxEntries) else {
            return .failure(Refusal(.EINVAL, "initialise: the GDT reaches the hypervisor's reserved GDT entries"))
        }
        let gdtFrameCount = Int((c.gdtEntries + 511) / 512)
        for i in 0..<gdtFrameCount { c.gdtFrames.append(u32(L.gdtFramesOffset + 4 * i)) }
        c.kernelSS = ringOne(u32(L.kernelSSOffset))
        c.kernelSP = u32(L.kernelSPOffset)
        c.l3Frame = L.frame(ofCR3: u32(L.ctrlregOffset + 3 * 4))
        for dr in [0, 1, 2, 3, 7] where u32(L.debugregOffset + 4 * dr) != 0 {
            return .failure(Refusal(.EINVAL, "initialise: debug registers in an initial context are not supported"))
        }
        c.eventCS = ringOne(u32(L.eventCallbackCSOffset)); c.eventEIP = u32(L.eventCallbackEIPOffset)
        c.failsafeCS = ringOne(u32(L.failsafeCallbackCSOffset)); c.failsafeEIP = u32(L.failsafeCallbackEIPOffset)
        guard c.eventEIP < XenLayout.hypervisorVirtStart, c.failsafeEIP < XenLayout.hypervisorVirtStart else {
            return .failure(Refusal(.EINVAL, "initialise: a callback in the hypervisor area"))
        }
        c.failsafeDisablesEvents = flags & VcpuGuestContextFlags.failsafeDisablesEvents != 0
        return .success(c)
    }
}

/// What this hypervisor can give a new vCPU of a domain: the decision over a decoded context. Its
/// own top-level table and GDT are any the domain could use (FrameTable.takeVCPUTables decides those
/// against the frame table, as Xen's arch_set_info_guest: they need not be another vCPU's).
public enum VcpuContextRules {
    /// nil when `c` may start a vCPU here.
    public static func refusal(_ c: VcpuContext) -> Refusal? {
        if c.ldtEntries != 0 {
            return Refusal(.EINVAL, "initialise: an initial LDT is not supported (load it with mmuext_op once running)")
        }
        return nil
    }
}
