// HypervisorPorts.swift: the I/O ports Apus keeps for itself, which no domain, dom0 included, may
// reach (Xen denies dom0 the same kind of list in dom0_setup_permissions). Pure data and one lookup;
// it never grants anything: a port absent here still needs the domain's own permission.

public enum HypervisorPorts {
    /// One block of ports the hypervisor keeps, and what it is (for the refusal's log line).
    public struct Block: Sendable {
        public let range: PortRange
        public let name: StaticString
        init(_ first: UInt16, _ last: UInt16, _ name: StaticString) {
            range = PortRange(first: first, last: last)!
            self.name = name
        }
    }

    /// What the hypervisor drives or must keep stable: the interrupt controllers and their trigger
    /// mode, the timer and its channel-2 gate, CMOS/RTC, INIT/A20 and IGNNE, COM1 (its console), the
    /// ACPI sleep-control ports and Bochs's shutdown port (power off), the debug-exit device the tests
    /// leave through, and the reset-control register. PCI configuration space (0xCF8, 0xCFC-0xCFF) is
    /// not here: Apus itself never uses it, so it belongs to dom0.
    public static let blocks: [Block] = [
        Block(0x0020, 0x0021, "the master PIC"),
        Block(0x0040, 0x0043, "the PIT"),
        Block(0x0061, 0x0061, "the PIT channel 2 gate"),
        Block(0x0070, 0x0071, "CMOS and the RTC"),
        Block(0x0092, 0x0092, "INIT and A20 control"),
        Block(0x00A0, 0x00A1, "the slave PIC"),
        Block(0x00F0, 0x00F0, "IGNNE control"),
        Block(0x00F4, 0x00F7, "the debug-exit device"),
        Block(0x03F8, 0x03FF, "COM1, the hypervisor's console"),
        Block(0x04D0, 0x04D1, "the PICs' trigger-mode registers"),
        Block(0x0604, 0x0605, "ACPI PM1a control"),
        Block(0x0CF9, 0x0CF9, "the reset-control register"),
        Block(0x8900, 0x8900, "the Bochs shutdown port"),
        Block(0xB004, 0xB005, "ACPI PM1a control (older QEMU, Bochs)"),
    ]

    /// The first hypervisor block `r` touches, or nil when it touches none.
    public static func owner(of r: PortRange) -> Block? {
        for b in blocks where b.range.overlaps(r) { return b }
        return nil
    }

    /// True when `r` touches a port the hypervisor keeps: the same answer as `owner(of:) != nil`,
    /// as comparisons only (no table walk), for the emulation path a guest can drive 100,000 times a
    /// boot (Linux polls the PIT's gate while it calibrates).
    @inline(__always)
    public static func touches(_ r: PortRange) -> Bool {
        let a = r.first, z = r.last
        @inline(__always) func hits(_ first: UInt16, _ last: UInt16) -> Bool { a <= last && first <= z }
        if a <= 0x00F7 {
            return hits(0x20, 0x21) || hits(0x40, 0x43) || hits(0x61, 0x61) || hits(0x70, 0x71) || hits(0x92, 0x92)
                || hits(0xA0, 0xA1) || hits(0xF0, 0xF0) || hits(0xF4, 0xF7)
        }
        return hits(0x3F8, 0x3FF) || hits(0x4D0, 0x4D1) || hits(0x604, 0x605) || hits(0xCF9, 0xCF9)
            || hits(0x8900, 0x8900) || hits(0xB004, 0xB005)
    }
}
