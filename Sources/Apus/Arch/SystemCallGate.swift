// SystemCallGate.swift: IDT vector 0x80 and the TSS ring-1 stack (ss1/esp1) for the domain on the CPU. When
// ApusCore's DirectTrapGate allows it the vector is the guest kernel's own DPL-3 trap gate, so `int 0x80`
// from ring 3 reaches its handler with no hypervisor code at all (Xen's 32-bit fast trap); otherwise it is
// the hypervisor's gate and the call is bounced. It installs only gates DirectTrapGate produced, and only
// the route of the domain that is loaded.

import ApusCore
import PVABI

enum SystemCallGate {
    /// IDT entry 0x80, the hypervisor's own gate for it (installIDT's), and the TSS as 32-bit words.
    static var idtEntry: UnsafeMutablePointer<UInt64>! = nil
    static var hypervisorGate: UInt64 = 0
    static var tss: UnsafeMutablePointer<UInt32>! = nil
    /// TSS word indexes of esp1 and ss1.
    static let esp1Word = 3
    static let ss1Word = 4
    /// The domain whose route and stack the IDT and TSS hold, if any.
    static var installedFor: UInt16? = nil
    /// Route changes logged per domain; a guest that keeps changing its table stops being logged.
    static let logLimit: UInt8 = 16

    /// Takes over IDT entry 0x80 as installIDT left it (the hypervisor's gate).
    static func setUp(idt: UnsafeMutablePointer<UInt64>, tss: UnsafeMutablePointer<UInt32>) {
        idtEntry = idt.advanced(by: Int(DirectTrapGate.vector))
        hypervisorGate = idtEntry.pointee
        self.tss = tss
    }

    /// A domain switch: `d`'s route and kernel stack. No decision is made here; `refresh` made it.
    @inline(__always) static func load(_ d: Domain) {
        if case .gate(let gate) = d.vcpu.systemCallRoute { idtEntry.pointee = gate.raw } else { idtEntry.pointee = hypervisorGate }
        loadKernelStack(d)
        installedFor = d.id
    }

    /// stack_switch: the CPU takes the ring-1 stack from the TSS on the direct gate.
    static func loadKernelStack(_ d: Domain) {
        let stack = DirectTrapGate.ring1Stack(ss: d.vcpu.kernelSS, esp: d.vcpu.kernelESP)
        tss[esp1Word] = stack.esp
        tss[ss1Word] = stack.ss
    }

    /// Decides `d`'s route again from its trap table and descriptor tables (set_trap_table, set_gdt, a
    /// descriptor update or set_ldt touching the handler's selector), logs a change, and installs it
    /// when `d` is the loaded domain.
    static func refresh(_ d: Domain) {
        let gdtEntries = min(d.vcpu.gdtEntries, d.vcpu.gdtFrames.count * 512)
        let ldtEntries = min(Int(d.memory.ldtEntries), d.vcpu.ldtFrames.count * 512)
        let route = DirectTrapGate.route(entry: d.vcpu.trapTable[Int(DirectTrapGate.vector)], gdtEntries: gdtEntries,
                                         ldtEntries: ldtEntries) { descriptor(d, $0) }
        if route != d.vcpu.systemCallRoute {
            d.vcpu.systemCallRoute = route
            if d.vcpu.systemCallRouteLogs < logLimit {
                d.vcpu.systemCallRouteLogs += 1
                switch route {
                case .gate(let g):
                    Log.info("d\(d.id): int 0x80 goes straight to the guest kernel at \(hex: UInt32(g.selector)):\(hex8: g.offset) (direct trap gate)")
                case .bounce(let why):
                    Log.info("d\(d.id): int 0x80 is bounced through the hypervisor: \(why.reason)")
                }
                if d.vcpu.systemCallRouteLogs == logLimit { Log.info("d\(d.id): further int 0x80 route changes are not logged") }
            }
        }
        if installedFor == d.id { load(d) }
    }

    /// Whether a descriptor write at GDT or LDT `index` of `d` can change its route.
    static func namesHandlerSegment(_ d: Domain, ldt: Bool, index: Int) -> Bool {
        let cs = d.vcpu.trapTable[Int(DirectTrapGate.vector)].cs
        return (cs & 4 != 0) == ldt && Int(cs >> 3) == index
    }

    /// Domain destroy: the IDT and TSS must not keep a dead domain's handler and stack.
    static func forget(_ d: Domain) {
        d.vcpu.systemCallRoute = .bounce(.noHandler)
        guard installedFor == d.id else { return }
        idtEntry.pointee = hypervisorGate
        tss[esp1Word] = 0
        tss[ss1Word] = 0
        installedFor = nil
    }

    /// The checked descriptor `d`'s GDT or LDT holds for `selector` (its frames are typed descriptor
    /// frames: every entry passed DescriptorCheck and the guest cannot write them); 0 if unreadable.
    private static func descriptor(_ d: Domain, _ selector: UInt16) -> UInt64 {
        let index = Int(selector >> 3)
        let frames = selector & 4 != 0 ? d.vcpu.ldtFrames : d.vcpu.gdtFrames
        guard index / 512 < frames.count else { return 0 }
        return Machine.memory.load64(UInt64(frames[index / 512]) << 12 | UInt64(index % 512) * 8) ?? 0
    }
}
