// PIC.swift: the two 8259 interrupt controllers, remapped to vectors 0x20-0x2F.
// It must never leave an IRQ unmasked that no handler owns; device lines are unmasked only for the
// domains that bound them (PhysicalIRQs).

enum PIC {
    static let vectorBase: UInt32 = 0x20
    static var mask: UInt16 = 0xFFFF

    static func remap() {
        // The edge/level control registers (ELCR) say which lines are level-triggered: the
        // firmware set them for the PCI lines it routed. The ICW sequence is not to lose them.
        let elcr = UInt16(port_in8(0x4D0)) | UInt16(port_in8(0x4D1)) << 8
        port_out8(0x20, 0x11); port_out8(0xA0, 0x11)       // ICW1: edge, cascade, ICW4 follows
        port_out8(0x21, 0x20); port_out8(0xA1, 0x28)       // ICW2: vector bases
        port_out8(0x21, 0x04); port_out8(0xA1, 0x02)       // ICW3: slave on IRQ2
        port_out8(0x21, 0x01); port_out8(0xA1, 0x01)       // ICW4: 8086 mode
        port_out8(0x4D0, UInt8(elcr & 0xF8))               // lines 0-2 are edge-triggered
        port_out8(0x4D1, UInt8(elcr >> 8) & 0xDE)          // and so are 8 and 13
        mask = 0xFFFB                                      // all masked but the cascade
        writeMask()
    }

    static func mask(irq: Int) { mask |= UInt16(1) << UInt16(irq); writeMask() }

    /// Whether `irq` is level-triggered (a PCI line, shared among devices).
    static func isLevelTriggered(irq: Int) -> Bool {
        let elcr = UInt16(port_in8(0x4D0)) | UInt16(port_in8(0x4D1)) << 8
        return elcr & UInt16(1) << UInt16(irq) != 0
    }

    static func unmask(irq: Int) { mask &= ~(UInt16(1) << UInt16(irq)); writeMask() }

    static func endOfInterrupt(irq: Int) {
        if irq >= 8 { port_out8(0xA0, 0x20) }
        port_out8(0x20, 0x20)
    }

    private static func writeMask() {
        port_out8(0x21, UInt8(mask & 0xFF))
        port_out8(0xA1, UInt8(mask >> 8))
    }
}
