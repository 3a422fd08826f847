// Serial.swift: the 16550 UART on COM1 at 115200 8N1, the hypervisor's only console. Output is
// interrupt-driven once IRQ 4 is on (a ring the THRE interrupt drains), synchronous before that
// and after `flush`. It must never drop or reorder a byte, and never block forever: a
// transmitter that never drains is given up on, not waited for.

enum Serial {
    static let base: UInt16 = 0x3F8

    // Register offsets and bits.
    private static let ier: UInt16 = 1, iir: UInt16 = 2, lsr: UInt16 = 5
    private static let ierReceive: UInt8 = 0x01, ierTransmit: UInt8 = 0x02
    private static let lsrData: UInt8 = 0x01, lsrTHRE: UInt8 = 0x20, lsrIdle: UInt8 = 0x40
    /// How long one wait for the transmitter may last before it is given up on, in TSC cycles:
    /// 20 ms (a byte takes about 87 us at 115200 baud, a full FIFO about 1.4 ms). Measured in
    /// time, not in polls, so that a fast CPU does not give up on a FIFO that is still sending.
    private static var giveUpCycles: UInt64 { 20 * SystemTime.tscKHz }

    /// Bytes the transmitter takes at once when THRE is set: 16 with the FIFO on, else 1.
    private static var fifoDepth = 1

    static func initialize() {
        port_out8(base + ier, 0x00)    // no UART interrupts
        port_out8(base + 3, 0x80)      // DLAB on
        port_out8(base + 0, 0x01)      // divisor 1: 115200 baud
        port_out8(base + 1, 0x00)
        port_out8(base + 3, 0x03)      // 8 data bits, no parity, one stop bit
        port_out8(base + 2, 0xC7)      // FIFOs on and cleared, 14-byte threshold
        port_out8(base + 4, 0x03)      // DTR, RTS
        // IIR bits 7:6 read 11 only on a 16550A whose FIFOs took: then THRE means 16 free bytes.
        fifoDepth = port_in8(base + iir) & 0xC0 == 0xC0 ? 16 : 1
    }

    // MARK: transmit

    /// The transmit ring: bytes written while the UART was busy, oldest at `tail`. Allocated once
    /// (enableInterrupts); head and tail count bytes ever queued and sent (they wrap).
    static let ringCapacity: UInt32 = 65536
    private static var ring: UnsafeMutablePointer<UInt8>? = nil
    private static var head: UInt32 = 0
    private static var tail: UInt32 = 0
    /// Bytes the FIFO is known to have room for without asking LSR.
    private static var room = 0
    /// The interrupt enable register's value (receive and transmit bits).
    private static var ierShadow: UInt8 = 0
    /// Interrupt-driven output is on (the ring exists, IRQ 4 is routed, no flush has happened).
    private static var queued = false

    private static var pending: UInt32 { head &- tail }

    /// One byte to the console, in order after every earlier one.
    static func write(_ byte: UInt8) {
        guard queued, let ring else {
            waitForTHRE()
            port_out8(base, byte)
            return
        }
        if pending == 0 && ierShadow & ierTransmit == 0 {
            if room == 0 && port_in8(base + lsr) & lsrTHRE != 0 { room = fifoDepth }
            if room > 0 {
                port_out8(base, byte)
                room -= 1
                return
            }
        }
        if pending == ringCapacity { drainSynchronously(until: ringCapacity - UInt32(fifoDepth)) }
        ring[Int(head & (ringCapacity - 1))] = byte
        head &+= 1
        setIER(ierShadow | ierTransmit)    // THRE interrupts until the ring is empty
    }

    /// Sends everything queued by polling, waits until the last bit has left the line, and
    /// makes every later write synchronous: for a machine about to stop (panic, exit, power off).
    static func flush() {
        if queued {
            queued = false
            setIER(ierShadow & ~ierTransmit)
            drainSynchronously(until: 0)
        }
        waitFor(lsrIdle)
    }

    /// Polls THRE until it is set, or until the transmitter is given up on.
    private static func waitForTHRE() { waitFor(lsrTHRE) }

    /// A wait timed out and LSR has not shown the bit since: later waits do not wait at all.
    private static var stalled = false

    /// Polls LSR until `bit` is set, or until giveUpCycles have passed (once: a transmitter that
    /// stays stuck is not waited for again until it shows life).
    private static func waitFor(_ bit: UInt8) {
        if port_in8(base + lsr) & bit != 0 { stalled = false; return }
        if stalled { return }
        let start = cpu_rdtsc()
        let limit = giveUpCycles
        while port_in8(base + lsr) & bit == 0 {
            if cpu_rdtsc() &- start >= limit { stalled = true; return }
        }
    }

    /// Back-pressure and flush: sends from the ring by polling until at most `left` bytes wait.
    private static func drainSynchronously(until left: UInt32) {
        while pending > left {
            waitForTHRE()
            sendFromRing(max: fifoDepth)
        }
        room = 0
    }

    /// Moves up to `max` bytes from the ring into the transmitter (THRE is known to be set).
    private static func sendFromRing(max: Int) {
        guard let ring else { return }
        var n = 0
        while n < max && pending > 0 {
            port_out8(base, ring[Int(tail & (ringCapacity - 1))])
            tail &+= 1
            n += 1
        }
        room = max - n
    }

    private static func setIER(_ value: UInt8) {
        if value != ierShadow { ierShadow = value; port_out8(base + ier, value) }
    }

    // MARK: receive

    /// A byte the user typed, if one is waiting in the UART.
    static func read() -> UInt8? {
        port_in8(base + lsr) & lsrData != 0 ? port_in8(base) : nil
    }

    /// Typed bytes the receive interrupt collected for dom0 (console_io read drains them). When it
    /// is full the receive interrupt is switched off and further bytes wait in the UART, so the
    /// sender is held back (QEMU stops reading its input) instead of bytes being lost.
    static let inputCapacity = 4096
    static var input = InlineArray<4096, UInt8>(repeating: 0)
    static var inputHead = 0
    static var inputTail = 0
    /// The receive interrupt is off because `input` is full.
    static var receiveHeld = false

    /// Lets the UART interrupt on received data and on an empty transmitter (IRQ 4), and from
    /// now on queues output in the transmit ring instead of waiting for the UART.
    static func enableInterrupts() {
        if ring == nil { ring = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(ringCapacity)) }
        setIER(ierShadow | ierReceive)
        port_out8(base + 4, 0x0B)      // DTR, RTS, OUT2 (routes the interrupt to the PIC)
        queued = true
    }

    /// IRQ 4: answers every cause the UART reports (IIR) until none is left, so the edge-triggered
    /// line drops and the next cause raises a fresh edge. True when typed bytes arrived.
    static func interrupt() -> Bool {
        var any = false
        var rounds = 0
        while rounds < 64 {
            rounds += 1
            let cause = port_in8(base + iir)
            if cause & 0x01 != 0 { break }             // nothing pending
            switch cause & 0x0E {
            case 0x02:                                  // THR empty (reading IIR cleared it)
                if queued && pending > 0 { sendFromRing(max: fifoDepth) } else { room = fifoDepth }
                if pending == 0 { setIER(ierShadow & ~ierTransmit) }
            case 0x04, 0x0C:                            // received data, or its timeout
                if receive() { any = true }
            case 0x06:                                  // line status: reading LSR clears it
                _ = port_in8(base + lsr)
            default:                                    // modem status: reading MSR clears it
                _ = port_in8(base + 6)
            }
        }
        return any
    }

    /// Moves waiting bytes into the buffer while it has room (debug keys and the input switch go to
    /// DebugKeys instead); true when any of dom0's arrived. A full buffer
    /// leaves the rest in the UART and holds the receive interrupt until dom0 reads.
    static func receive() -> Bool {
        var any = false
        while inputHead - inputTail < inputCapacity, let b = read() {
            // Ctrl-A three times switches input to the hypervisor's debug keys and back (DebugKeys).
            DebugKeys.route(b) { ours in
                guard inputHead - inputTail < inputCapacity else { return }
                input[inputHead % inputCapacity] = ours
                inputHead += 1
                any = true
            }
        }
        if inputHead - inputTail == inputCapacity && !receiveHeld && queued {
            receiveHeld = true
            setIER(ierShadow & ~ierReceive)
        }
        return any
    }

    /// The next buffered byte, or nil.
    static func take() -> UInt8? {
        if inputTail == inputHead { _ = receive() }
        guard inputTail < inputHead else { return nil }
        let b = input[inputTail % inputCapacity]
        inputTail += 1
        if receiveHeld {
            _ = receive()
            if inputHead - inputTail < inputCapacity {
                receiveHeld = false
                setIER(ierShadow | ierReceive)
            }
        }
        return b
    }
}
