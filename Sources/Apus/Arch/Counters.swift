// Counters.swift: event counters make bench reads (sysctl perfc): traps taken from guests (each
// is two ring transitions, in and out), CR3 loads, and when the last device interrupt arrived. Counting only; nothing decides on them.

enum Counters {
    static var guestTraps: UInt64 = 0
    static var cr3Loads: UInt64 = 0
    /// The TSC when the last device interrupt reached the hypervisor's IRQ dispatch (make bench's
    /// interrupt-to-handler row).
    static var deviceIRQTSC: UInt64 = 0
}
