// DescriptorTables.swift: installs the hypervisor's GDT (reserved page entries from ApusCore),
// the TSS and the IDT, and loads the LDT register. The encodings are ApusCore's; this file only
// writes them where the CPU looks. It must never create a gate or segment a guest could use to
// reach ring 0.

import ApusCore
import PVABI

enum DescriptorTables {
    /// 14 guest GDT pages + the hypervisor's reserved page.
    static let gdtEntries = (Selector.firstReservedGDTPage + 1) * Selector.gdtEntriesPerPage
    static let hypercallVector: UInt32 = Hypercall.trapVector
    static let iretVector: UInt32 = Hypercall.iretTrapVector

    static func installGDTAndTSS(_ sym: Symbols) {
        let tss = pointer(to: UInt32.self, at: sym.tss)
        for i in 0..<26 { tss[i] = 0 }
        tss[1] = sym.bootStackTop                 // esp0: where ring 1/3 traps land
        tss[2] = UInt32(Selector.hypervisorDS)    // ss0
        tss[25] = 104 << 16                       // I/O bitmap offset past the limit: no port is open
        let gdt = pointer(to: UInt64.self, at: sym.gdt)
        for i in 0..<gdtEntries { gdt[i] = 0 }
        for entry in HypervisorGDT.reservedEntries(tssBase: sym.tss, tssLimit: 103) {
            gdt[entry.index] = entry.descriptor.raw
        }
        cpu_load_gdt(sym.gdt, UInt16(gdtEntries * 8 - 1), Selector.hypervisorCS, Selector.hypervisorDS)
        cpu_load_tr(Selector.tss)
    }

    static func installIDT(_ sym: Symbols) {
        let stubs = pointer(to: UInt32.self, at: sym.trapStubTable)
        let idt = pointer(to: UInt64.self, at: sym.idt)
        for vector in 0..<256 {
            let dpl = gateDPL(UInt32(vector))
            idt[vector] = GateDescriptor.interruptGate(offset: stubs[vector], selector: Selector.hypervisorCS, dpl: dpl).raw
        }
        cpu_load_idt(sym.idt, UInt16(256 * 8 - 1))
        SystemCallGate.setUp(idt: idt, tss: pointer(to: UInt32.self, at: sym.tss))
    }

    /// Points the IDT's `vector` at a ring-0-only interrupt gate to `offset` (make bench's
    /// native int/iret baseline).
    static func installRing0Gate(_ sym: Symbols, vector: Int, offset: UInt32) {
        pointer(to: UInt64.self, at: sym.idt)[vector] = GateDescriptor.interruptGate(offset: offset, selector: Selector.hypervisorCS, dpl: 0).raw
    }

    /// Loads LDTR with `selector` (an LDT descriptor in the reserved GDT page), or 0 for none.
    static func loadLDT(_ selector: UInt16) { cpu_load_ldt(selector) }

    /// Who may raise a vector with `int n`: breakpoint and overflow from anywhere (as on Xen),
    /// the hypercall and iret gates from ring 1 only, everything else ring 0 only. (SystemCallGate may put the
    /// running guest's own DPL-3 trap gate at 0x80 instead, and puts this one back.)
    static func gateDPL(_ vector: UInt32) -> UInt8 {
        switch vector {
        case 3, 4: return 3
        case hypercallVector, iretVector: return 1
        default: return 0
        }
    }

    static func setKernelStack(_ sym: Symbols, top: UInt32) {
        pointer(to: UInt32.self, at: sym.tss)[1] = top
    }
}
