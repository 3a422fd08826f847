// SetTimerOpDecode.swift: set_timer_op (15) decoded: a one-shot VIRQ_TIMER deadline, a u64 split low word
// first over two registers (0 cancels). No guest memory is involved; it must never act.

import PVABI

public enum SetTimerOpRequest: Equatable {
    /// Absolute system time in ns; 0: cancel.
    case setTimer(deadline: UInt64)

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<SetTimerOpRequest> {
        .success(.setTimer(deadline: HypercallArguments.joined(a.a1, a.a2)))
    }
}
