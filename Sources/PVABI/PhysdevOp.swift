// physdev_op (33) and platform_op (7) of the x86_32 PV ABI: sub-commands and argument layouts as
// xen/include/public/physdev.h and platform.h give them. Numbers, layouts and contracts only: it
// must never decide who may do what.

/// PHYSDEVOP_*: IN arg1 of physdev_op; arg2 a guest pointer to the command's struct.
public enum PhysdevOp: UInt32, Sendable {
    /// Legacy: unmask every pirq the guest has EOI'd. IN: nothing. OUT: 0.
    case irqUnmaskNotify = 4
    /// IN/OUT: physdev_irq_status_query {irq u32 IN, flags u32 OUT (XENIRQSTAT_*)}; -EINVAL past the domain's pirqs.
    case irqStatusQuery = 5
    /// IN: physdev_set_iopl {iopl u32}: the vCPU's virtual IOPL (0-3); -EINVAL above 3. Any PV guest.
    case setIOPL = 6
    /// IN: physdev_set_iobitmap {bitmap guest pointer u32, nr_ports u32}: a guest I/O bitmap of 8 KiB
    /// consulted for port access; -EINVAL when the bitmap is not guest memory or nr_ports > 65536.
    case setIOBitmap = 7
    /// IN/OUT: physdev_apic {apic_physbase u32, reg u32, value u32} (dom0 only).
    case apicRead = 8
    case apicWrite = 9
    /// IN/OUT: physdev_irq {irq u32, vector u32} (dom0 only).
    case allocIRQVector = 10
    /// Named in the header, answered by no Xen: -ENOSYS.
    case freeIRQVector = 11
    /// IN: physdev_eoi {irq u32}: end of interrupt for a pirq; -EINVAL for one the domain does not have.
    case eoi = 12
    /// IN/OUT: physdev_map_pirq (36 bytes on x86_32) (dom0 or a device model).
    case mapPirq = 13
    /// IN: physdev_unmap_pirq {domid u16, pad, pirq i32}.
    case unmapPirq = 14
    /// IN: physdev_manage_pci {bus u8, devfn u8} (dom0 only).
    case managePCIAdd = 15
    case managePCIRemove = 16
    /// IN: physdev_pirq_eoi_gmfn {gmfn u32}: a page of the guest's where the hypervisor keeps a bit per
    /// pirq that needs an EOI; v1 also unmasks a pirq's port on EOI. -EINVAL for a frame the guest may
    /// not write, -EBUSY when one is registered already.
    case pirqEOIGmfnV1 = 17
    /// IN: physdev_restore_msi {bus u8, devfn u8} (dom0 only).
    case restoreMSI = 19
    /// IN: physdev_manage_pci_ext (16 bytes) (dom0 only).
    case managePCIAddExt = 20
    /// IN: physdev_setup_gsi {gsi i32, triggering u8, polarity u8} (dom0 only).
    case setupGSI = 21
    /// IN/OUT: physdev_get_free_pirq {type i32 IN, pirq u32 OUT}.
    case getFreePirq = 23
    /// IN: physdev_pci_mmcfg_reserved (16 bytes) (dom0 only).
    case pciMMCFGReserved = 24
    /// IN: physdev_pci_device_add (12 bytes and an optional array) (dom0 only).
    case pciDeviceAdd = 25
    /// IN: physdev_pci_device {seg u16, bus u8, devfn u8} (dom0 only), as the four after it.
    case pciDeviceRemove = 26
    case restoreMSIExt = 27
    /// As pirqEOIGmfnV1, without the automatic unmask (what Linux registers).
    case pirqEOIGmfnV2 = 28
    /// IN: physdev_dbgp_op {op u8, bus u8, pci physdev_pci_device} (dom0 only).
    case dbgpOp = 29
    case prepareMSIX = 30
    case releaseMSIX = 31
    case pciDeviceReset = 32

    /// The bytes of the command's IN struct Xen copies before it looks at the caller's rights.
    public var argumentSize: Int {
        switch self {
        case .irqUnmaskNotify, .freeIRQVector: return 0
        case .setIOPL, .eoi, .pirqEOIGmfnV1, .pirqEOIGmfnV2, .pciDeviceRemove, .restoreMSIExt, .prepareMSIX,
             .releaseMSIX, .pciDeviceReset: return 4
        case .managePCIAdd, .managePCIRemove, .restoreMSI: return 2
        case .dbgpOp: return 6
        case .irqStatusQuery, .setIOBitmap, .allocIRQVector, .unmapPirq, .setupGSI, .getFreePirq: return 8
        case .apicRead, .apicWrite, .pciDeviceAdd: return 12
        case .managePCIAddExt, .pciMMCFGReserved: return 16
        case .mapPirq: return 36
        }
    }
}

/// Layouts of the physdev_op arguments a domU uses.
public enum PhysdevLayout {
    /// physdev_irq_status_query: irq u32 IN at 0, flags u32 OUT at 4.
    public static let statusIRQOffset = 0
    public static let statusFlagsOffset = 4
    /// XENIRQSTAT_needs_eoi: the guest must EOI this pirq (Xen says so for every pirq of a guest
    /// that checks no EOI map); XENIRQSTAT_shared: the line is shared with another domain.
    public static let needsEOI: UInt32 = 1 << 0
    public static let shared: UInt32 = 1 << 1
    /// physdev_set_iobitmap: bitmap u32 at 0, nr_ports u32 at 4; the bitmap is 8 KiB (IOBMP_BYTES).
    public static let bitmapOffset = 0
    public static let nrPortsOffset = 4
    public static let ioBitmapBytes: UInt32 = 8192
    public static let maxPorts: UInt32 = 65536
    /// The highest IOPL a vCPU may ask for.
    public static let maxIOPL: UInt32 = 3
}

/// physdev_map_pirq (36 bytes on x86_32): domid u16 at 0, type i32 at 4, index i32 at 8, pirq i32 (IN,
/// and OUT the pirq given) at 12, then bus, devfn, entry_nr (MSI only) and table_base u64 at 28.
public enum PhysdevMapPirqLayout {
    public static let domidOffset = 0
    public static let typeOffset = 4
    public static let indexOffset = 8
    public static let pirqOffset = 12
    public static let size = 36
    /// MAP_PIRQ_TYPE_*: MSI 0, GSI 1 (index is the GSI), unknown 2, MSI_SEG 3, MULTI_MSI 4.
    public static let typeMSI: UInt32 = 0
    public static let typeGSI: UInt32 = 1
    public static let typeMSISegment: UInt32 = 3
    public static let typeMultiMSI: UInt32 = 4
    /// pirq IN of -1: the hypervisor picks the number.
    public static let anyPirq: UInt32 = 0xFFFF_FFFF
}

/// physdev_unmap_pirq (8 bytes): domid u16 at 0, pirq i32 at 4.
public enum PhysdevUnmapPirqLayout {
    public static let domidOffset = 0
    public static let pirqOffset = 4
}

/// struct xen_platform_op (x86_32: cmd u32, interface_version u32, a 128-byte union): platform_op (7).
public enum PlatformOpLayout {
    public static let cmdOffset = 0
    public static let interfaceVersionOffset = 4
    public static let size = 136
    /// XENPF_INTERFACE_VERSION: any other version answers -EACCES.
    public static let interfaceVersion: UInt32 = 0x0300_0001
}
