// Power.swift: turning the machine off, through the ACPI PM1a control ports QEMU and Bochs
// decode. It is reached only once dom0 has stopped; it never returns.

import ApusCore

enum Power {
    static func off() -> Never {
        Serial.flush()                 // the console's last lines leave before the power does
        port_out16(0x604, 0x2000)      // QEMU i440fx/q35 ACPI PM1a control: SLP_EN | S5
        port_out16(0xB004, 0x2000)     // older QEMU and Bochs
        Log.info("power off did not take; halted")
        haltForever()
    }
}
