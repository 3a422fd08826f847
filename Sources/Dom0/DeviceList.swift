// DeviceList.swift: dom0 finds the machine's PCI devices at boot and prints them as `lspci -nn` would
// (slot, class name [class], vendor:device, revision, the routed interrupt line), the devices
// dom0's drivers will own. It only reads configuration space, with a virtual IOPL it gives back.

import ApusCore
import GuestKit

enum DeviceList {
    /// Every function found at the last scan.
    static var functions: [PCIFunction] = []

    static func scan() {
        let rc = xen.setIOPL(1)
        guard rc == 0 else { console.print("pci: set_iopl failed with \(rc); no devices listed"); return }
        var config = PCIPorts()
        functions = PCIEnumeration.scan(&config)
        _ = xen.setIOPL(0)
        console.print("pci: \(UInt32(functions.count)) functions on the machine's PCI buses")
        for f in functions { print(f) }
    }

    /// `count` lowercase hex digits of `value`, no prefix, as lspci writes them.
    private static func digits(_ line: inout LogLine, _ value: UInt64, _ count: Int) {
        var i = count
        while i > 0 {
            i -= 1
            let nibble = UInt8((value >> UInt64(4 * i)) & 0xF)
            line.append(byte: nibble < 10 ? 48 + nibble : 87 + nibble)
        }
    }

    static func print(_ f: PCIFunction) {
        var line = LogLine()
        line.append("pci ")
        digits(&line, UInt64(f.address.bus), 2)
        line.append(":")
        digits(&line, UInt64(f.address.device), 2)
        line.append(".")
        line.append(decimal: UInt64(f.address.function))
        line.append(" ")
        line.append(PCINames.className(f.classCode, f.subclass))
        line.append(" [")
        digits(&line, UInt64(f.classCode) << 8 | UInt64(f.subclass), 4)
        line.append("]: ")
        if let vendor = PCINames.vendorName(f.vendor) { line.append(vendor); line.append(" ") }
        line.append("[")
        digits(&line, UInt64(f.vendor), 4)
        line.append(":")
        digits(&line, UInt64(f.device), 4)
        line.append("] (rev ")
        digits(&line, UInt64(f.revision), 2)
        line.append(")")
        if f.interruptPin != 0 && f.interruptLine < 16 {
            line.append(", irq ")
            line.append(decimal: UInt64(f.interruptLine))
        }
        console.print(line)
    }
}
