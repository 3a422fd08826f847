// SelfTestRoutines.swift: Swift's view of Boot/selftest.asm, the routines test scenarios and make
// bench call: they raise exceptions, time ring-0 instructions and rewrite a PTE on purpose.
// Declarations only; production paths must never call them.

@_extern(c, "selftest_raise_ud") func selftest_raise_ud() -> UInt32
@_extern(c, "selftest_raise_de") func selftest_raise_de(_ dividend: UInt32) -> UInt32
@_extern(c, "selftest_raise_pf_read") func selftest_raise_pf_read(_ address: UInt32) -> UInt32
@_extern(c, "selftest_raise_pf_write") func selftest_raise_pf_write(_ address: UInt32) -> UInt32
@_extern(c, "selftest_raise_bp") func selftest_raise_bp() -> UInt32
@_extern(c, "selftest_read_unguarded") func selftest_read_unguarded(_ address: UInt32) -> UInt32

@_extern(c, "bench_empty_loop") func bench_empty_loop(_ n: UInt32)
@_extern(c, "bench_call_ret") func bench_call_ret(_ n: UInt32)
@_extern(c, "bench_int_iret") func bench_int_iret(_ n: UInt32)
@_extern(c, "bench_pte_invlpg") func bench_pte_invlpg(_ pte: UnsafeMutablePointer<UInt64>, _ va: UInt32, _ n: UInt32)
@_extern(c, "bench_iret_stub") func bench_iret_stub()
