// PIT.swift: the 8254 timer, channel 0 as a periodic interrupt source (IRQ 0).
// It only counts ticks; time policy (scheduling, guest timers) lives elsewhere.

enum PIT {
    static let inputHz: UInt32 = 1_193_182
    static let hz: UInt32 = 4000      // 250 us: fine enough for scheduler slices and guest timers
    static var ticks: UInt64 = 0

    static func start() {
        let divisor = UInt16((inputHz + hz / 2) / hz)
        port_out8(0x43, 0x34)                              // channel 0, lobyte/hibyte, rate generator
        port_out8(0x40, UInt8(divisor & 0xFF))
        port_out8(0x40, UInt8(divisor >> 8))
        PIC.unmask(irq: 0)
    }

    static func tick() { ticks &+= 1 }
}
