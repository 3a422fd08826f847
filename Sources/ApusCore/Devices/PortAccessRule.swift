// PortAccessRule.swift: whether an `in`/`out` a guest faulted on may reach the real port, with Xen's
// two levels (emulate_privileged_op): the guest's own level (its virtual IOPL, or the I/O bitmap its
// kernel registered) decides between emulating and a #GP, then the administrator's level (ports the
// domain was given, minus the hypervisor's) decides between the real port and all ones / a dropped
// write. Pure: it reads the guest's bitmap through the checked path only and never touches a port.

/// Why the administrator's level refused a port.
public enum PortDenial: Equatable, Sendable {
    case hypervisorPort
    case notGiven
    case pastLastPort

    /// The sentence the hypervisor logs.
    public var reason: StaticString {
        switch self {
        case .hypervisorPort: return "the port is the hypervisor's"
        case .notGiven: return "the port was not given to the domain"
        case .pastLastPort: return "the access runs past port 0xFFFF"
        }
    }
}

public enum PortAccessVerdict: Equatable, Sendable {
    /// Perform the access on the real port.
    case perform
    /// The guest may try, but the port is not the domain's: a read gives all ones, a write is
    /// dropped (as on Xen), and the reason is logged.
    case denied(PortDenial)
    /// The guest itself does not allow the access at this privilege: the #GP goes to its kernel.
    case generalProtection
}

/// The guest-controlled state the first level reads.
public struct GuestPortState: Sendable {
    /// The virtual IOPL (physdev_op set_iopl), 0-3.
    public var iopl: UInt32
    /// True when the guest kernel (ring 1) faulted, false for its user mode (ring 3).
    public var kernelMode: Bool
    /// vm_assist architectural_iopl: the kernel counts as ring 0 instead of 1.
    public var architecturalIOPL: Bool
    /// The guest's I/O bitmap (physdev_op set_iobitmap; a set bit denies) and how many ports it covers.
    public var bitmap: GuestRange?
    public var bitmapPorts: UInt32

    public init(iopl: UInt32, kernelMode: Bool, architecturalIOPL: Bool, bitmap: GuestRange?, bitmapPorts: UInt32) {
        self.iopl = iopl
        self.kernelMode = kernelMode
        self.architecturalIOPL = architecturalIOPL
        self.bitmap = bitmap
        self.bitmapPorts = bitmapPorts
    }
}

public enum PortAccessRule {
    /// The ports an access really addresses. The PCI CONFIG_ADDRESS register at 0xCF8 only answers
    /// 32-bit accesses and does not overlap the 8-bit reset-control register at 0xCF9, so a dword at
    /// 0xCF8 counts as that one port.
    public static func addressed(port: UInt16, size: UInt8) -> PortRange? {
        if port == 0xCF8 && size == 4 { return PortRange(first: 0xCF8, last: 0xCF8) }
        return PortRange(access: port, size: size)
    }

    /// Xen's iopl_ok: the kernel counts as ring 1 (ring 0 with architectural_iopl), user mode as 3,
    /// against the virtual IOPL. It also decides whether a cli/sti is emulated (a kernel's, or user mode's at IOPL 3).
    public static func ioplAllows(_ g: GuestPortState) -> Bool {
        let cpl: UInt32 = g.kernelMode ? (g.architecturalIOPL ? 0 : 1) : 3
        return cpl <= g.iopl
    }

    /// The guest's own level: true when its virtual IOPL or its bitmap allows the access.
    public static func guestAllows<M: GuestMemoryAccess>(port: UInt16, size: UInt8, _ g: GuestPortState, _ memory: inout M) -> Bool {
        if ioplAllows(g) { return true }
        // Xen reads the bitmap only while the access ends below its limit.
        guard let bitmap = g.bitmap, UInt32(port) + UInt32(size) < g.bitmapPorts else { return false }
        let shift = UInt32(port & 7)
        let spansTwo = shift + UInt32(size) > 8
        guard let bytes = bitmap.slice(at: UInt32(port >> 3), count: spansTwo ? 2 : 1),
              let read: GuestBytes<2> = memory.read(bytes) else { return false }   // unreadable: denied
        let word = UInt32(read.u8(0)) | UInt32(read.u8(1)) << 8
        let mask = (UInt32(1) << UInt32(size)) - 1
        return (word >> shift) & mask == 0
    }

    /// The administrator's level: the domain was given every addressed port and none is the
    /// hypervisor's.
    @inline(__always)
    public static func adminVerdict(port: UInt16, size: UInt8, permitted: borrowing PortRanges) -> PortAccessVerdict {
        guard let r = addressed(port: port, size: size) else { return .denied(.pastLastPort) }
        if HypervisorPorts.touches(r) { return .denied(.hypervisorPort) }
        guard permitted.covers(r) else { return .denied(.notGiven) }
        return .perform
    }

    /// Both levels, in Xen's order.
    @inline(__always)
    public static func decide<M: GuestMemoryAccess>(port: UInt16, size: UInt8, guest: GuestPortState,
                                                     permitted: borrowing PortRanges, _ memory: inout M) -> PortAccessVerdict {
        guard guestAllows(port: port, size: size, guest, &memory) else { return .generalProtection }
        return adminVerdict(port: port, size: size, permitted: permitted)
    }
}
