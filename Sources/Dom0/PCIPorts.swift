// PCIPorts.swift: dom0's way into PCI configuration space, mechanism #1: the address to 0xCF8, the
// data through 0xCFC. The ports are dom0's (the hypervisor never uses them); each access traps and
// is emulated, so the caller must hold a virtual IOPL. It reads and writes; it decides nothing.

import GuestKit

struct PCIPorts: PCIConfigSpace {
    mutating func read32(_ a: PCIAddress, _ offset: UInt8) -> UInt32 {
        guest_port_out32(0xCF8, a.configAddress(offset))
        return guest_port_in32(0xCFC)
    }

    mutating func write32(_ a: PCIAddress, _ offset: UInt8, _ value: UInt32) {
        guest_port_out32(0xCF8, a.configAddress(offset))
        guest_port_out32(0xCFC, value)
    }
}
