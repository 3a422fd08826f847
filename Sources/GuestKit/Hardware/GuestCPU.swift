// GuestCPU.swift: the few raw instructions a PV guest kernel runs itself, from GuestKit/Asm,
// including the ones that must fault in ring 1 (the self-tests prove they do). Guest images only.

@_extern(c, "guest_enter_user") public func guest_enter_user(_ eip: UInt32, _ esp: UInt32) -> UInt32
@_extern(c, "guest_leave_user") public func guest_leave_user(_ value: UInt32)
@_extern(c, "guest_probe_cli") public func guest_probe_cli() -> UInt32
@_extern(c, "guest_probe_sti") public func guest_probe_sti() -> UInt32
@_extern(c, "guest_probe_out") public func guest_probe_out() -> UInt32
@_extern(c, "guest_probe_in8") public func guest_probe_in8(_ port: UInt32) -> UInt32
@_extern(c, "guest_probe_load_cr3") public func guest_probe_load_cr3(_ value: UInt32) -> UInt32
@_extern(c, "guest_fpu_fill") public func guest_fpu_fill(_ seed: UInt32)
@_extern(c, "guest_fpu_check") public func guest_fpu_check(_ seed: UInt32) -> UInt32
@_extern(c, "guest_bench_bp_handler") public func guest_bench_bp_handler()
@_extern(c, "guest_int3") public func guest_int3()
@_extern(c, "guest_bp_iret_by_number") public func guest_bp_iret_by_number()
@_extern(c, "guest_bp_iret_by_number_hits") public func guest_bp_iret_by_number_hits() -> UInt32
@_extern(c, "guest_probe_hlt") public func guest_probe_hlt() -> UInt32
@_extern(c, "guest_probe_mov_cr3") public func guest_probe_mov_cr3() -> UInt32
@_extern(c, "guest_probe_lgdt") public func guest_probe_lgdt() -> UInt32
@_extern(c, "guest_probe_int3") public func guest_probe_int3() -> UInt32
@_extern(c, "guest_probe_ud2") public func guest_probe_ud2() -> UInt32
@_extern(c, "guest_probe_read") public func guest_probe_read(_ address: UInt32) -> UInt32
@_extern(c, "guest_probe_fpu") public func guest_probe_fpu() -> UInt32
@_extern(c, "guest_forced_cpuid") public func guest_forced_cpuid(_ leaf: UInt32, _ out: UnsafeMutablePointer<UInt32>)
@_extern(c, "guest_trap_stub_address") public func guest_trap_stub_address(_ vector: UInt32) -> UInt32
@_extern(c, "guest_event_callback_address") public func guest_event_callback_address() -> UInt32
@_extern(c, "guest_failsafe_callback_address") public func guest_failsafe_callback_address() -> UInt32
@_extern(c, "guest_symbol") public func guest_symbol(_ which: UInt32) -> UInt32
@_extern(c, "guest_take_resume") public func guest_take_resume() -> UInt32

/// Indices for guest_symbol.
public enum GuestSymbol {
    public static let userTextStart: UInt32 = 0
    public static let userTextEnd: UInt32 = 1
    public static let userStackTop: UInt32 = 2
    public static let userStackBottom: UInt32 = 3
    public static let kernelTrapStackTop: UInt32 = 4
    public static let imageStart: UInt32 = 5
    public static let imageEnd: UInt32 = 6
    public static let userEntry: UInt32 = 7
    public static let sharedInfoWindow: UInt32 = 8
    public static let hypercallPage: UInt32 = 9
    public static let scratchWindow: UInt32 = 10
}
@_extern(c, "guest_read_fs") public func guest_read_fs(_ selector: UInt32, _ offset: UInt32) -> UInt32
/// FS:offset through `selector` into `value`: 0, or 1 when it faulted (the handler resumed it).
@_extern(c, "guest_probe_read_fs") public func guest_probe_read_fs(_ selector: UInt32, _ offset: UInt32, _ value: UnsafeMutablePointer<UInt32>) -> UInt32
/// Vector 15's handler as 4gb_segments_notify delivers it (with an error code: the instruction's length).
@_extern(c, "guest_notify_stub_address") public func guest_notify_stub_address() -> UInt32
/// mov from cr3: the calling vCPU's top-level table as xen_pfn_to_cr3 gives it (emulated in ring 1).
@_extern(c, "guest_read_cr3") public func guest_read_cr3() -> UInt32
@_extern(c, "guest_load_fs") public func guest_load_fs(_ selector: UInt32)
@_extern(c, "guest_divide") public func guest_divide(_ a: UInt32, _ b: UInt32) -> UInt32
@_extern(c, "guest_store32") public func guest_store32(_ address: UInt32, _ value: UInt32)
@_extern(c, "guest_xchg32") public func guest_xchg32(_ p: UnsafeMutablePointer<UInt32>, _ v: UInt32) -> UInt32
@_extern(c, "guest_test_and_clear_bit") public func guest_test_and_clear_bit(_ words: UnsafeMutablePointer<UInt32>, _ bit: UInt32) -> UInt32
@_extern(c, "guest_rdtsc") public func guest_rdtsc() -> UInt64
@_extern(c, "guest_compiler_barrier") public func guest_compiler_barrier()
@_extern(c, "guest_probe_write") public func guest_probe_write(_ address: UInt32, _ value: UInt32) -> UInt32
@_extern(c, "guest_probe_load_ds") public func guest_probe_load_ds(_ selector: UInt32) -> UInt32
@_extern(c, "guest_probe_jump") public func guest_probe_jump(_ target: UInt32) -> UInt32
