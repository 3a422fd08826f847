// Log.swift: the hypervisor's logger. Every line goes to COM1 with its prefix ("(apus) " for the
// hypervisor, "(dN) " for a domain's console) and into the in-memory ring `dmesg` reads.
// It must never allocate and never fault, whatever bytes it is given.

enum Log {
    static let ringCapacity = 16384
    static var ring: UnsafeMutablePointer<UInt8>? = nil   // Boot/cpu.asm's apus_log_ring, once known
    static var ringHead = 0          // total bytes ever written; index = head % capacity
    static var echoToSerial = true

    private static func emitByte(_ byte: UInt8) {
        if echoToSerial { Serial.write(byte) }
        if let ring { ring[ringHead % ringCapacity] = byte }
        ringHead &+= 1
    }

    private static func emitText(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { emitByte(b) } }
    }

    private static func emitLine(_ line: LogLine) {
        var i = 0
        while i < line.count { emitByte(line.bytes[i]); i += 1 }
        emitByte(10)
    }

    /// A hypervisor line: "(apus) ..." on the console.
    static func info(_ line: LogLine) {
        emitText("(apus) ")
        emitLine(line)
    }

    /// A line a domain wrote through console_io: "(dN) ...".
    static func domain(_ id: UInt16, _ line: LogLine) {
        var prefix = LogLine()
        prefix.append("(d")
        prefix.append(decimal: UInt64(id))
        prefix.append(") ")
        var i = 0
        while i < prefix.count { emitByte(prefix.bytes[i]); i += 1 }
        emitLine(line)
    }
}
