// Power.swift: turning the machine off, through the ACPI PM1a control ports QEMU and Bochs
// decode, or resetting it (dom0 asked for a reboot) unless the command line said noreboot.
// It is reached only once dom0 has stopped; it never returns.

import ApusCore

enum Power {
    /// `noreboot` on the command line: a reboot dom0 asks for halts the machine instead.
    static var noReboot = false

    static func reboot() -> Never {
        if noReboot {
            Log.always("noreboot: dom0 asked for a reboot; halted (the machine stays as it is)")
            haltForever()
        }
        Log.info("dom0 asked for a reboot; resetting the machine")
        Serial.flush()
        port_out8(0xCF9, 0x02)         // PCI reset control: hard reset requested...
        port_out8(0xCF9, 0x06)         // ...and started
        port_out8(0x64, 0xFE)          // the keyboard controller's reset line, for machines without 0xCF9
        Log.error("reset did not take; halted")
        haltForever()
    }

    static func off() -> Never {
        Serial.flush()                 // the console's last lines leave before the power does
        port_out16(0x604, 0x2000)      // QEMU i440fx/q35 ACPI PM1a control: SLP_EN | S5
        port_out16(0xB004, 0x2000)     // older QEMU and Bochs
        Log.error("power off did not take; halted")
        haltForever()
    }
}
