// PCINames.swift: the words `lspci` prints for a PCI class and for the vendors QEMU's machines
// carry, so dom0's device list reads like the tool people know. Pure lookup tables; an unknown
// code gets a generic name, never a guess.

public enum PCINames {
    /// The class name for class `code` and `subclass` (PCI Code and ID Assignment, as lspci names them).
    public static func className(_ code: UInt8, _ subclass: UInt8) -> StaticString {
        switch (code, subclass) {
        case (0x01, 0x00): return "SCSI storage controller"
        case (0x01, 0x01): return "IDE interface"
        case (0x01, 0x06): return "SATA controller"
        case (0x01, 0x08): return "Non-Volatile memory controller"
        case (0x01, _): return "Mass storage controller"
        case (0x02, 0x00): return "Ethernet controller"
        case (0x02, _): return "Network controller"
        case (0x03, 0x00): return "VGA compatible controller"
        case (0x03, _): return "Display controller"
        case (0x04, _): return "Multimedia controller"
        case (0x05, _): return "Memory controller"
        case (0x06, 0x00): return "Host bridge"
        case (0x06, 0x01): return "ISA bridge"
        case (0x06, 0x04): return "PCI bridge"
        case (0x06, _): return "Bridge"
        case (0x07, _): return "Communication controller"
        case (0x08, _): return "System peripheral"
        case (0x0C, 0x03): return "USB controller"
        case (0x0C, 0x05): return "SMBus"
        case (0x0C, _): return "Serial bus controller"
        case (0x00, _): return "Unclassified device"
        default: return "Device"
        }
    }

    /// The vendor's name, for the vendors of QEMU's emulated devices; nil for others.
    public static func vendorName(_ vendor: UInt16) -> StaticString? {
        switch vendor {
        case 0x8086: return "Intel Corporation"
        case 0x1AF4: return "Red Hat, Inc. (virtio)"
        case 0x1B36: return "Red Hat, Inc. (QEMU)"
        case 0x1234: return "QEMU (Bochs display)"
        case 0x10EC: return "Realtek Semiconductor"
        default: return nil
        }
    }
}
