// Instructions.swift: Swift's view of the single-instruction routines in Boot/cpu.asm.
// Only declarations and thin typed wrappers live here; nothing in this file decides policy.

@_extern(c, "port_out8") func port_out8(_ port: UInt16, _ value: UInt8)
@_extern(c, "port_out16") func port_out16(_ port: UInt16, _ value: UInt16)
@_extern(c, "port_out32") func port_out32(_ port: UInt16, _ value: UInt32)
@_extern(c, "port_in8") func port_in8(_ port: UInt16) -> UInt8
@_extern(c, "port_in16") func port_in16(_ port: UInt16) -> UInt16
@_extern(c, "port_in32") func port_in32(_ port: UInt16) -> UInt32
@_extern(c, "cpu_read_cr0") func cpu_read_cr0() -> UInt32
@_extern(c, "cpu_write_cr0") func cpu_write_cr0(_ value: UInt32)
@_extern(c, "cpu_read_cr2") func cpu_read_cr2() -> UInt32
@_extern(c, "cpu_read_cr3") func cpu_read_cr3() -> UInt32
@_extern(c, "cpu_write_cr3") func cpu_write_cr3(_ value: UInt32)
@_extern(c, "cpu_read_cr4") func cpu_read_cr4() -> UInt32
@_extern(c, "cpu_write_cr4") func cpu_write_cr4(_ value: UInt32)
@_extern(c, "cpu_fxsave") func cpu_fxsave(_ area: UnsafeMutableRawPointer)
@_extern(c, "cpu_fxrstor") func cpu_fxrstor(_ area: UnsafeRawPointer)
@_extern(c, "cpu_fninit") func cpu_fninit()
@_extern(c, "cpu_clts") func cpu_clts()
@_extern(c, "cpu_invlpg") func cpu_invlpg(_ va: UInt32)
@_extern(c, "cpu_read_eflags") func cpu_read_eflags() -> UInt32
@_extern(c, "cpu_enable_interrupts") func cpu_enable_interrupts()
@_extern(c, "cpu_disable_interrupts") func cpu_disable_interrupts()
@_extern(c, "cpu_halt") func cpu_halt()
@_extern(c, "cpu_pause") func cpu_pause()
@_extern(c, "cpu_rdtsc") func cpu_rdtsc() -> UInt64
@_extern(c, "cpu_rdmsr") func cpu_rdmsr(_ msr: UInt32) -> UInt64
/// rdmsr of an MSR the CPU may lack: 0 with `value` filled, or -1 (its #GP caught by the exception table).
@_extern(c, "cpu_rdmsr_safe") func cpu_rdmsr_safe(_ msr: UInt32, _ value: UnsafeMutablePointer<UInt64>) -> Int32
@_extern(c, "cpu_wrmsr") func cpu_wrmsr(_ msr: UInt32, _ lo: UInt32, _ hi: UInt32)
@_extern(c, "cpu_cpuid") func cpu_cpuid(_ leaf: UInt32, _ subleaf: UInt32, _ out: UnsafeMutablePointer<UInt32>)
@_extern(c, "cpu_load_gdt") func cpu_load_gdt(_ base: UInt32, _ limit: UInt16, _ cs: UInt16, _ ds: UInt16)
@_extern(c, "cpu_load_idt") func cpu_load_idt(_ base: UInt32, _ limit: UInt16)
@_extern(c, "cpu_load_tr") func cpu_load_tr(_ selector: UInt16)
@_extern(c, "cpu_load_ldt") func cpu_load_ldt(_ selector: UInt16)

/// Linker-script and NASM symbols: only their addresses mean anything.
@_extern(c, "apus_heap_in_use") func apus_heap_in_use() -> UInt32
@_extern(c, "apus_heap_peak") func apus_heap_peak() -> UInt32
@_extern(c, "apus_heap_allocations") func apus_heap_allocations() -> UInt32
@_extern(c, "apus_heap_size") func apus_heap_size() -> UInt32
/// A heap block that may be refused (nil) instead of stopping the hypervisor; released with deallocate().
@_extern(c, "apus_try_allocate") func apus_try_allocate(_ size: UInt32, _ align: UInt32) -> UnsafeMutableRawPointer?
@_extern(c, "apus_symbol_addresses") func apus_symbol_addresses(_ out: UnsafeMutablePointer<UInt32>)

/// CPUID leaf/subleaf results, in EAX EBX ECX EDX order.
struct CPUIDResult {
    var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    init(leaf: UInt32, subleaf: UInt32 = 0) {
        var regs: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &regs) {
            $0.withMemoryRebound(to: UInt32.self, capacity: 4) { cpu_cpuid(leaf, subleaf, $0) }
        }
        eax = regs.0; ebx = regs.1; ecx = regs.2; edx = regs.3
    }
}
