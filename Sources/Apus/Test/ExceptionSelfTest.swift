// ExceptionSelfTest.swift: the `exceptions` scenario. The hypervisor raises #UD, #DE, #PF (read
// and write) and a breakpoint on purpose, and prints what its handler saw: vector, error code,
// CR2 and where it resumed, all read back from the trap frame the CPU built.
// It must never pass a case whose handler saw anything other than what the CPU was asked for.

import ApusCore

enum ExceptionSelfTest {
    /// The image's old identity-mapped address: unmapped since boot, so reading it must fault.
    static let lowAddress: UInt32 = 0x0010_0000
    /// A hypervisor-area hole between the per-domain area and the direct map: never mapped.
    static let holeAddress: UInt32 = 0xFE7F_F004

    static func run() -> Bool {
        var passed = 0
        var total = 0
        func check(_ name: StaticString, vector: UInt32, error: UInt32, cr2: UInt32?, resumed: UInt32, raise: () -> UInt32) {
            total += 1
            let before = Exceptions.last.count
            let result = raise()
            let seen = Exceptions.last
            let reached = seen.count == before + 1
            var ok = reached && result == resumed && seen.vector == vector && seen.errorCode == error
            if let cr2 { ok = ok && seen.cr2 == cr2 }
            if !reached {
                Log.info("selftest: \(name) never reached its handler")
            } else if vector == 14 {
                Log.info("selftest: \(name) reached vector \(seen.vector) error \(hex: seen.errorCode) cr2 \(hex8: seen.cr2) at eip \(hex8: seen.eip), \(ok ? "recovered" : "WRONG")")
            } else {
                Log.info("selftest: \(name) reached vector \(seen.vector) error \(hex: seen.errorCode) at eip \(hex8: seen.eip), \(ok ? "recovered" : "WRONG")")
            }
            if ok { passed += 1 }
        }
        check("#UD (ud2)", vector: 6, error: 0, cr2: nil, resumed: 1) { selftest_raise_ud() }
        check("#DE (div by zero)", vector: 0, error: 0, cr2: nil, resumed: 1) { selftest_raise_de(1234) }
        check("#PF (read of the removed identity map)", vector: 14, error: 0x0, cr2: lowAddress, resumed: 1) {
            selftest_raise_pf_read(lowAddress)
        }
        check("#PF (write to an unmapped hypervisor page)", vector: 14, error: 0x2, cr2: holeAddress, resumed: 1) {
            selftest_raise_pf_write(holeAddress)
        }
        TestHooks.breakpointExpected = true
        check("#BP (int3)", vector: 3, error: 0, cr2: nil, resumed: 1) { selftest_raise_bp() }
        Log.info("selftest: \(UInt32(passed)) of \(UInt32(total)) exceptions reached the right handler and recovered")
        return passed == total
    }
}
