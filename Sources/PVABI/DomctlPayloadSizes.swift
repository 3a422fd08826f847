// The sizes of Apus's domctl and sysctl payloads that Domctl.swift leaves implicit, so decoders copy
// exactly the bytes a command uses. Sizes only: it must never decide what a command does.

extension DomctlSchedulerOpLayout {
    /// sched_id, cmd, then the credit member of the union (weight u16, cap u16).
    public static let size = 12
}

extension SysctlLayout {
    /// cmd u32, interface_version u32: what every command reads first.
    public static let headerSize = 8
    /// readconsole's IN index, buffer and count (from readIndexOffset on).
    public static let readConsoleSize = 12
}
