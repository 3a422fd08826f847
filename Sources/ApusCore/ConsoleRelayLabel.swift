// ConsoleRelayLabel.swift: the "(dN) " label that dom0's console backend puts before a line it relays
// from domain N's console ring. Only a privileged domain's console_io writes are read this way: the
// hypervisor then prints the line under N's label instead of dom0's. Pure parsing; it never prints.

public enum ConsoleRelayLabel {
    /// The domain a write is relayed for and the length of its label, when `bytes` starts with
    /// "(d" + 1-5 decimal digits (a real domain id) + ") ".
    public static func parse<C: Collection>(_ bytes: C) -> (domain: UInt16, length: Int)? where C.Element == UInt8 {
        var i = bytes.startIndex
        func next() -> UInt8? {
            guard i != bytes.endIndex else { return nil }
            defer { i = bytes.index(after: i) }
            return bytes[i]
        }
        guard next() == UInt8(ascii: "("), next() == UInt8(ascii: "d") else { return nil }
        var value: UInt32 = 0
        var digits = 0
        var length = 2
        while true {
            guard let b = next() else { return nil }
            length += 1
            if b >= 48 && b <= 57 {
                digits += 1
                guard digits <= 5 else { return nil }
                value = value * 10 + UInt32(b - 48)
                continue
            }
            guard b == UInt8(ascii: ")"), digits > 0, next() == 32 else { return nil }
            guard value <= UInt32(FrameOwner.maxDomainID) else { return nil }
            return (UInt16(value), length + 1)
        }
    }
}
