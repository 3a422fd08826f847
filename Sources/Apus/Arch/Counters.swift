// Counters.swift: event counters make bench reads (sysctl perfc): traps taken from guests (each
// is two ring transitions, in and out) and CR3 loads. Counting only; nothing decides on them.

enum Counters {
    static var guestTraps: UInt64 = 0
    static var cr3Loads: UInt64 = 0
}
