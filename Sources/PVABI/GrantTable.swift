// The grant_table_op hypercall (20) of the Xen PV ABI, version 1 tables: sub-op numbers, GNTST status codes,
// GTF entry flags, GNTMAP and GNTCOPY flags, and the x86_32 layouts (mirroring xen/include/public/grant_table.h).
// Numbers and layouts only: it must never map, copy or decide whether a grant is honoured (ApusCore/Grants does).

/// GNTTABOP_*: IN arg1 of grant_table_op. arg2 points at an array of the sub-op's struct, arg3 is its count.
public enum GrantTableOp: UInt32, Sendable {
    /// Map grant (dom, ref) at host_addr. IN/OUT: gnttab_map_grant_ref[count].
    case mapGrantRef = 0
    /// Remove the mapping named by a handle. IN/OUT: gnttab_unmap_grant_ref[count].
    case unmapGrantRef = 1
    /// Give the domain its table frames. IN/OUT: gnttab_setup_table (count 1).
    case setupTable = 2
    /// Print the table on the hypervisor console (debugging). IN/OUT: gnttab_dump_table.
    case dumpTable = 3
    /// Give a page to another domain. IN/OUT: gnttab_transfer[count].
    case transfer = 4
    /// Copy bytes between granted or own frames. IN/OUT: gnttab_copy[count].
    case copy = 5
    /// Current and maximum table size. IN/OUT: gnttab_query_size (count 1).
    case querySize = 6
    /// Unmap and put another mapping in its place. IN/OUT: gnttab_unmap_and_replace[count].
    case unmapAndReplace = 7
    /// Choose the table format. IN/OUT: gnttab_set_version (count 1).
    case setVersion = 8
    /// v2 status frames. IN/OUT: gnttab_get_status_frames.
    case getStatusFrames = 9
    /// The table format in effect. IN/OUT: gnttab_get_version (count 1).
    case getVersion = 10
    /// Swap two entries (v2 era). IN/OUT: gnttab_swap_grant_ref[count].
    case swapGrantRef = 11
    /// Cache flush of granted frames. IN/OUT: gnttab_cache_flush[count].
    case cacheFlush = 12

    public var name: StaticString {
        switch self {
        case .mapGrantRef: return "map_grant_ref"
        case .unmapGrantRef: return "unmap_grant_ref"
        case .setupTable: return "setup_table"
        case .dumpTable: return "dump_table"
        case .transfer: return "transfer"
        case .copy: return "copy"
        case .querySize: return "query_size"
        case .unmapAndReplace: return "unmap_and_replace"
        case .setVersion: return "set_version"
        case .getStatusFrames: return "get_status_frames"
        case .getVersion: return "get_version"
        case .swapGrantRef: return "swap_grant_ref"
        case .cacheFlush: return "cache_flush"
        }
    }
}

/// The grant references Xen's domain builder reserves in every domU's table (GNTTAB_RESERVED_*): each is a
/// permit_access of the page to dom0, which maps it to serve the domain's console and xenstore rings.
public enum GrantReservedRef {
    public static let console: UInt32 = 0
    public static let xenstore: UInt32 = 1
    /// Guests leave the first eight entries alone (Xen's GNTTAB_NR_RESERVED_ENTRIES).
    public static let count: UInt32 = 8
}

/// GNTST_*: the per-element status every sub-op writes back (an i16; all errors negative).
public enum GrantStatus: Int16, Sendable {
    case okay = 0
    /// General undefined error (Xen's answer to most flag and domain-id mismatches).
    case generalError = -1
    /// Unrecognised domain id.
    case badDomain = -2
    /// Unrecognised or inappropriate grant reference.
    case badGntref = -3
    /// Unrecognised or inappropriate handle.
    case badHandle = -4
    /// Inappropriate virtual address to map (or unmap).
    case badVirtAddr = -5
    /// Inappropriate device address to unmap.
    case badDevAddr = -6
    /// Out of space (mapping handles, or the I/O MMU).
    case noDeviceSpace = -7
    /// Not enough privilege for the operation.
    case permissionDenied = -8
    /// The page named is invalid for the operation.
    case badPage = -9
    /// Copy arguments cross a page boundary.
    case badCopyArg = -10
    /// Transfer page address too large.
    case addressTooBig = -11
    /// Not done; try again.
    case eagain = -12

    /// The status as the guest's i16 field holds it.
    public var field: UInt16 { UInt16(bitPattern: rawValue) }

    /// The code's name in Xen's headers.
    public var name: StaticString {
        switch self {
        case .okay: return "GNTST_okay"
        case .generalError: return "GNTST_general_error"
        case .badDomain: return "GNTST_bad_domain"
        case .badGntref: return "GNTST_bad_gntref"
        case .badHandle: return "GNTST_bad_handle"
        case .badVirtAddr: return "GNTST_bad_virt_addr"
        case .badDevAddr: return "GNTST_bad_dev_addr"
        case .noDeviceSpace: return "GNTST_no_device_space"
        case .permissionDenied: return "GNTST_permission_denied"
        case .badPage: return "GNTST_bad_page"
        case .badCopyArg: return "GNTST_bad_copy_arg"
        case .addressTooBig: return "GNTST_address_too_big"
        case .eagain: return "GNTST_eagain"
        }
    }

    /// Xen's message for the code (GNTTABOP_error_msgs).
    public var message: StaticString {
        switch self {
        case .okay: return "okay"
        case .generalError: return "undefined error"
        case .badDomain: return "unrecognised domain id"
        case .badGntref: return "invalid grant reference"
        case .badHandle: return "invalid mapping handle"
        case .badVirtAddr: return "invalid virtual address"
        case .badDevAddr: return "invalid device address"
        case .noDeviceSpace: return "no spare translation slot in the I/O MMU"
        case .permissionDenied: return "permission denied"
        case .badPage: return "bad page"
        case .badCopyArg: return "copy arguments cross page boundary"
        case .addressTooBig: return "page address size too large"
        case .eagain: return "operation not done; try again"
        }
    }
}

/// GTF_*: bits of grant_entry_v1.flags. The type is in bits 0-1; the granter writes the type, readonly
/// and domid; the hypervisor alone sets and clears reading and writing.
public enum GrantEntryFlags {
    public static let typeMask: UInt16 = 3
    /// Type: the entry grants nothing.
    public static let invalid: UInt16 = 0
    /// Type: `domid` may map or copy `frame`.
    public static let permitAccess: UInt16 = 1
    /// Type: `domid` may transfer a page into this entry.
    public static let acceptTransfer: UInt16 = 2
    /// Type (v2 only): transitive grant.
    public static let transitive: UInt16 = 3
    /// permit_access: the grantee may only read.
    public static let readonly: UInt16 = 1 << 2
    /// Set by the hypervisor while the frame is mapped (or being copied from) by the grantee.
    public static let reading: UInt16 = 1 << 3
    /// Set by the hypervisor while the frame is mapped writable (or being copied to) by the grantee.
    public static let writing: UInt16 = 1 << 4
    /// Cache attributes the grantee's mapping takes (PWT, PCD, PAT).
    public static let pwt: UInt16 = 1 << 5
    public static let pcd: UInt16 = 1 << 6
    public static let pat: UInt16 = 1 << 7
    /// v2 only: the grant covers part of the page.
    public static let subPage: UInt16 = 1 << 8
    /// accept_transfer: the hypervisor has committed (transfer_committed) and completed
    /// (transfer_completed, frame valid) a transfer. Same bits as readonly and reading.
    public static let transferCommitted: UInt16 = 1 << 2
    public static let transferCompleted: UInt16 = 1 << 3
}

/// GNTMAP_*: gnttab_map_grant_ref.flags (and the flags recorded for an unmap).
public enum GrantMapFlags {
    /// Map for I/O devices: dev_bus_addr is filled in.
    public static let deviceMap: UInt32 = 1 << 0
    /// Map for the CPU at host_addr (or at the PTE host_addr names, with contains_pte).
    public static let hostMap: UInt32 = 1 << 1
    /// The mapping is read-only.
    public static let readonly: UInt32 = 1 << 2
    /// host_map: usable by the guest's applications too (user bit), not only its kernel.
    public static let applicationMap: UInt32 = 1 << 3
    /// host_addr is the machine address of the PTE to write, not a virtual address.
    public static let containsPTE: UInt32 = 1 << 4
    /// The caller tolerates failure (transient pages).
    public static let canFail: UInt32 = 1 << 5
    /// Bits 16-31: guest bits placed in the PTE's available bits (XENFEAT_gnttab_map_avail_bits).
    public static let guestAvailMask: UInt32 = 0xFFFF_0000
}

/// GNTCOPY_*: gnttab_copy.flags.
public enum GrantCopyFlags {
    /// source.u is a grant reference of source.domid (else a frame of the caller).
    public static let sourceGref: UInt16 = 1 << 0
    /// dest.u is a grant reference of dest.domid (else a frame of the caller).
    public static let destGref: UInt16 = 1 << 1
    /// The caller tolerates failure (transient pages).
    public static let canFail: UInt16 = 1 << 2
}

/// Sizes of the v1 table.
public enum GrantTableLimits {
    /// grant_entry_v1 entries per 4 KiB table frame.
    public static let entriesPerFrame: UInt32 = 512
    /// Xen's default per-domain maximum of table frames (max_grant_frames).
    public static let defaultMaxFrames: UInt32 = 32
    public static let pageSize: UInt32 = 4096
}

/// struct grant_entry_v1 (8 bytes), in the granter's shared table frames.
public enum GrantEntryV1Layout {
    /// u16, granter writes the type and readonly; hypervisor writes reading and writing (GTF_*).
    public static let flagsOffset: Int = 0
    /// u16 (domid_t), granter writes: the domain allowed to use the grant.
    public static let domidOffset: Int = 2
    /// u32, granter writes: the frame granted (permit_access), or the frame transferred (accept_transfer).
    public static let frameOffset: Int = 4
    public static let size: Int = 8
}

/// struct gnttab_map_grant_ref on x86_32 (32 bytes).
public enum GrantMapLayout {
    /// u64, IN: virtual address to map at (or PTE machine address with contains_pte).
    public static let hostAddrOffset: Int = 0
    /// u32, IN: GNTMAP_*.
    public static let flagsOffset: Int = 8
    /// u32 (grant_ref_t), IN: the entry in `dom`'s table.
    public static let refOffset: Int = 12
    /// u16 (domid_t), IN: the granting domain.
    public static let domOffset: Int = 16
    /// i16, OUT: GNTST_*.
    public static let statusOffset: Int = 18
    /// u32 (grant_handle_t), OUT: what unmap must present.
    public static let handleOffset: Int = 20
    /// u64, OUT: bus address of the frame, with device_map.
    public static let devBusAddrOffset: Int = 24
    public static let size: Int = 32
}

/// struct gnttab_unmap_grant_ref on x86_32 (24 bytes).
public enum GrantUnmapLayout {
    /// u64, IN: the virtual address the mapping was made at (0: ignored).
    public static let hostAddrOffset: Int = 0
    /// u64, IN: the device address the map returned (0: ignored).
    public static let devBusAddrOffset: Int = 8
    /// u32, IN: the handle map returned.
    public static let handleOffset: Int = 16
    /// i16, OUT: GNTST_*.
    public static let statusOffset: Int = 20
    public static let size: Int = 24
}

/// struct gnttab_setup_table on x86_32 (16 bytes).
public enum GrantSetupTableLayout {
    /// u16 (domid_t), IN: the domain (DOMID_SELF, or another for a privileged caller).
    public static let domOffset: Int = 0
    /// u32, IN: frames wanted (the table grows to at least this many).
    public static let nrFramesOffset: Int = 4
    /// i16, OUT: GNTST_*.
    public static let statusOffset: Int = 8
    /// Guest handle (4-byte pointer), IN: array of nr_frames unsigned longs (4 bytes), OUT: the frames.
    public static let frameListOffset: Int = 12
    public static let size: Int = 16
    /// Size of one frame_list element (xen_ulong_t is unsigned long: 4 bytes on x86_32).
    public static let frameListElementSize: Int = 4
}

/// struct gnttab_query_size (16 bytes).
public enum GrantQuerySizeLayout {
    /// u16 (domid_t), IN.
    public static let domOffset: Int = 0
    /// u32, OUT: frames the table has.
    public static let nrFramesOffset: Int = 4
    /// u32, OUT: frames it may grow to.
    public static let maxNrFramesOffset: Int = 8
    /// i16, OUT: GNTST_*.
    public static let statusOffset: Int = 12
    public static let size: Int = 16
}

/// struct gnttab_copy on x86_32 (24 bytes): source and dest are each {u (ref or gmfn, 4 bytes),
/// domid u16, offset u16}.
public enum GrantCopyLayout {
    /// u32, IN: grant_ref_t with GNTCOPY_source_gref, else xen_pfn_t (4 bytes on x86_32).
    public static let sourceRefOffset: Int = 0
    /// u16, IN.
    public static let sourceDomidOffset: Int = 4
    /// u16, IN: byte offset in the source page.
    public static let sourceOffsetOffset: Int = 6
    public static let destRefOffset: Int = 8
    public static let destDomidOffset: Int = 12
    public static let destOffsetOffset: Int = 14
    /// u16, IN: bytes to copy; offset + len may not pass the end of either page.
    public static let lenOffset: Int = 16
    /// u16, IN: GNTCOPY_*.
    public static let flagsOffset: Int = 18
    /// i16, OUT: GNTST_*.
    public static let statusOffset: Int = 20
    public static let size: Int = 24
}

/// struct gnttab_set_version (4 bytes).
public enum GrantSetVersionLayout {
    /// u32, IN: the version wanted; OUT: the version in effect.
    public static let versionOffset: Int = 0
    public static let size: Int = 4
}

/// struct gnttab_get_version (8 bytes).
public enum GrantGetVersionLayout {
    /// u16 (domid_t), IN.
    public static let domOffset: Int = 0
    /// u16 pad.
    public static let padOffset: Int = 2
    /// u32, OUT.
    public static let versionOffset: Int = 4
    public static let size: Int = 8
}
