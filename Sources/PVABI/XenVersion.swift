// The xen_version hypercall (17): sub-commands, their buffer layouts on x86_32, and the XENFEAT_* feature bits.
// Numbers and layouts only: it must never choose which version or features Apus reports.

/// XENVER_*: IN arg1 of xen_version; arg2 a guest pointer to the command's buffer, or 0.
/// Every command answers 0 on success except where noted.
public enum XenVersionOp: UInt32, Sendable {
    /// IN arg2: 0. OUT (the return value itself): major << 16 | minor.
    case version = 0
    /// OUT: xen_extraversion_t, 16 bytes, NUL-terminated (e.g. ".0").
    case extraversion = 1
    /// OUT: xen_compile_info.
    case compileInfo = 2
    /// OUT: xen_capabilities_info_t, 1024 bytes: space-separated guest ABIs, e.g. "xen-3.0-x86_32p".
    case capabilities = 3
    /// OUT: xen_changeset_info_t, 64 bytes: the source revision.
    case changeset = 4
    /// OUT: xen_platform_parameters.
    case platformParameters = 5
    /// IN/OUT: xen_feature_info.
    case getFeatures = 6
    /// IN arg2: 0. OUT (the return value): the page size, 4096.
    case pagesize = 7
    /// OUT: xen_domain_handle_t, 16 bytes: the domain's UUID as the toolstack set it.
    case guestHandle = 8
    /// OUT: xen_commandline_t, 1024 bytes: the hypervisor's command line (privileged).
    case commandline = 9
    /// IN/OUT: xen_build_id. OUT (the return value): bytes written, or the size needed when
    /// arg2 is 0.
    case buildID = 10

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .version: return "version"
        case .extraversion: return "extraversion"
        case .compileInfo: return "compile_info"
        case .capabilities: return "capabilities"
        case .changeset: return "changeset"
        case .platformParameters: return "platform_parameters"
        case .getFeatures: return "get_features"
        case .pagesize: return "pagesize"
        case .guestHandle: return "guest_handle"
        case .commandline: return "commandline"
        case .buildID: return "build_id"
        }
    }
}

/// Sizes of the fixed character buffers xen_version fills (each NUL-terminated within its size).
public enum XenVersionBuffers {
    /// XEN_EXTRAVERSION_LEN.
    public static let extraversionSize: Int = 16
    /// XEN_CAPABILITIES_INFO_LEN.
    public static let capabilitiesSize: Int = 1024
    /// XEN_CHANGESET_INFO_LEN.
    public static let changesetSize: Int = 64
    /// sizeof(xen_domain_handle_t).
    public static let guestHandleSize: Int = 16
    /// sizeof(xen_commandline_t).
    public static let commandlineSize: Int = 1024
}

/// struct xen_compile_info (144 bytes): four NUL-terminated character arrays.
public enum XenCompileInfoLayout {
    public static let compilerOffset: Int = 0
    public static let compilerSize: Int = 64
    public static let compileByOffset: Int = 64
    public static let compileBySize: Int = 16
    public static let compileDomainOffset: Int = 80
    public static let compileDomainSize: Int = 32
    public static let compileDateOffset: Int = 112
    public static let compileDateSize: Int = 32
    public static let size: Int = 144
}

/// struct xen_platform_parameters on x86_32 (4 bytes).
public enum XenPlatformParametersLayout {
    /// u32, OUT: the lowest virtual address the hypervisor owns (HYPERVISOR_VIRT_START, 0xF5800000).
    public static let virtStartOffset: Int = 0
    public static let size: Int = 4
}

/// struct xen_feature_info (8 bytes).
public enum XenFeatureInfoLayout {
    /// u32, IN: which 32-bit word of feature bits (only 0 exists: XENFEAT_NR_SUBMAPS is 1).
    public static let submapIndexOffset: Int = 0
    /// u32, OUT: bit n set means XENFEAT n is present.
    public static let submapOffset: Int = 4
    public static let size: Int = 8
    /// XENFEAT_NR_SUBMAPS.
    public static let submapCount: Int = 1
}

/// struct xen_build_id: a u32 length then a variable-length byte buffer.
public enum XenBuildIDLayout {
    /// u32, IN: size of `buf`.
    public static let lenOffset: Int = 0
    /// u8[len], OUT: the build id bytes.
    public static let bufOffset: Int = 4
}

/// XENFEAT_*: bit numbers in submap 0 of XENVER_get_features, and the names a kernel's
/// XEN_ELFNOTE_FEATURES note uses for them.
public enum XenFeature: UInt32, Sendable {
    /// The guest may update its page tables with direct writes (the hypervisor emulates them).
    case writablePageTables = 0
    /// The guest may update its descriptor tables with direct writes.
    case writableDescriptorTables = 1
    /// The hypervisor translates pseudo-physical to machine addresses (not pv32pae).
    case autoTranslatedPhysmap = 2
    /// The guest kernel runs in ring 0.
    case supervisorModeKernel = 3
    /// PAE page directories (L3 tables) may sit above 4 GiB.
    case paePgdirAbove4GB = 4
    /// mmu_update supports MMU_PT_UPDATE_PRESERVE_AD.
    case mmuPTUpdatePreserveAD = 5
    /// mmuext_op supports MMUEXT_CLEAR_PAGE and MMUEXT_COPY_PAGE.
    case highmemAssist = 6
    /// GNTTABOP_map_grant_ref honours the guest's available PTE bits.
    case gnttabMapAvailBits = 7
    /// HVM callback vector (not for PV guests).
    case hvmCallbackVector = 8
    /// pvclock is safe on HVM (not for PV guests).
    case hvmSafePvclock = 9
    /// HVM guests may use PIRQs (not for PV guests).
    case hvmPirqs = 10
    /// The guest may run as dom0.
    case dom0 = 11

    /// The bit in the XENVER_get_features submap.
    public var bit: UInt32 { 1 << rawValue }

    /// The name used in XEN_ELFNOTE_FEATURES.
    public var name: StaticString {
        switch self {
        case .writablePageTables: return "writable_page_tables"
        case .writableDescriptorTables: return "writable_descriptor_tables"
        case .autoTranslatedPhysmap: return "auto_translated_physmap"
        case .supervisorModeKernel: return "supervisor_mode_kernel"
        case .paePgdirAbove4GB: return "pae_pgdir_above_4gb"
        case .mmuPTUpdatePreserveAD: return "mmu_pt_update_preserve_ad"
        case .highmemAssist: return "highmem_assist"
        case .gnttabMapAvailBits: return "gnttab_map_avail_bits"
        case .hvmCallbackVector: return "hvm_callback_vector"
        case .hvmSafePvclock: return "hvm_safe_pvclock"
        case .hvmPirqs: return "hvm_pirqs"
        case .dom0: return "dom0"
        }
    }
}
