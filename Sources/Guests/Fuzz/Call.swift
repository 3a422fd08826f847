// Call.swift: one fuzzed hypercall (number, sub-command, five register arguments), what must be
// done before it (arm a timer so a block ends) and repaired after it (the fuzzer's own trap table,
// callbacks, stack, FPU, debug registers, scheduler settings). Data only.

struct Call {
    var number: UInt32
    var sub: UInt32
    var a1: UInt32 = 0, a2: UInt32 = 0, a3: UInt32 = 0, a4: UInt32 = 0, a5: UInt32 = 0
    /// Repairs the call may make necessary (Repair bits).
    var repair: UInt32 = 0
    /// Whether a wake-up timer must be armed first (block and poll).
    var needsTimer = false

    init(_ number: UInt32, _ sub: UInt32) { self.number = number; self.sub = sub }
}

/// Bits of Call.repair.
enum Repair {
    static let traps: UInt32 = 1
    static let callbacks: UInt32 = 2
    static let stack: UInt32 = 4
    static let fpu: UInt32 = 8
    static let debug: UInt32 = 16
    static let watchdog: UInt32 = 32
    static let schedulerParams: UInt32 = 64
    static let maxEventChannel: UInt32 = 128
    static let all: UInt32 = 0xFF
}

/// What the generator decided for one draw.
enum Draw {
    case call(Call)
    case skip(SkipReason)
}
