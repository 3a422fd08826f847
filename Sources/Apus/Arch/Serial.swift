// Serial.swift: the 16550 UART on COM1 at 115200 8N1, the hypervisor's only console.
// It must never block forever: a transmitter that never drains is given up on, not waited for.

enum Serial {
    static let base: UInt16 = 0x3F8

    static func initialize() {
        port_out8(base + 1, 0x00)      // no UART interrupts
        port_out8(base + 3, 0x80)      // DLAB on
        port_out8(base + 0, 0x01)      // divisor 1: 115200 baud
        port_out8(base + 1, 0x00)
        port_out8(base + 3, 0x03)      // 8 data bits, no parity, one stop bit
        port_out8(base + 2, 0xC7)      // FIFOs on and cleared, 14-byte threshold
        port_out8(base + 4, 0x03)      // DTR, RTS
    }

    static func write(_ byte: UInt8) {
        var spins = 0
        while port_in8(base + 5) & 0x20 == 0 && spins < 100_000 { spins += 1 }
        port_out8(base, byte)
    }

    /// A byte the user typed, if one is waiting in the UART.
    static func read() -> UInt8? {
        port_in8(base + 5) & 0x01 != 0 ? port_in8(base) : nil
    }

    /// Typed bytes the receive interrupt collected for dom0 (console_io read drains them).
    static var input = InlineArray<256, UInt8>(repeating: 0)
    static var inputHead = 0
    static var inputTail = 0

    /// Lets the UART interrupt on received data (IRQ 4).
    static func enableReceiveInterrupt() {
        port_out8(base + 1, 0x01)
        port_out8(base + 4, 0x0B)      // DTR, RTS, OUT2 (routes the interrupt to the PIC)
    }

    /// IRQ 4: move every waiting byte into the buffer; true when any arrived.
    static func receive() -> Bool {
        var any = false
        while let b = read() {
            if inputHead - inputTail < 256 {
                input[inputHead % 256] = b
                inputHead += 1
            }
            any = true
        }
        return any
    }

    /// The next buffered byte, or nil.
    static func take() -> UInt8? {
        if inputTail == inputHead { _ = receive() }
        guard inputTail < inputHead else { return nil }
        let b = input[inputTail % 256]
        inputTail += 1
        return b
    }
}
