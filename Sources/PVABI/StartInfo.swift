// The start_info page of a pv32pae guest: field offsets (longs are 32 bits), the magic string and the SIF_* flags.
// Layout constants only: this file must never fill a page or decide what a domain is given (the domain builder does).

/// Byte offsets of `struct start_info` as an x86_32 guest sees it. The hypervisor fills
/// it once, before the guest first runs; ESI holds its virtual address at entry.
public enum StartInfoLayout {
    /// OUT: "xen-3.0-x86_32p", NUL-padded to 32 bytes. The "p" says PAE.
    public static let magic = 0
    public static let magicLength = 32
    /// OUT: total pages the domain owns, so also the number of P2M entries.
    public static let nrPages = 32
    /// OUT: machine address (not a frame number) of the shared_info page; the guest maps
    /// it itself with update_va_mapping.
    public static let sharedInfo = 36
    /// OUT: SIF_* flags, see `StartInfoFlags`.
    public static let flags = 40
    /// OUT: machine frame of the xenstore ring page (0 when none).
    public static let storeMFN = 44
    /// OUT: event channel of the xenstore ring.
    public static let storeEvtchn = 48
    /// OUT: machine frame of the console ring page (console.domU.mfn; 0 for dom0).
    public static let consoleMFN = 52
    /// OUT: event channel of the console ring (console.domU.evtchn).
    public static let consoleEvtchn = 56
    /// OUT: virtual address of the initial L3 (PAE page directory pointer table).
    public static let ptBase = 60
    /// OUT: number of page-table frames in the initial mapping, starting at `ptBase`.
    public static let nrPtFrames = 64
    /// OUT: virtual address of the P2M list (one 32-bit machine frame number per pfn).
    public static let mfnList = 68
    /// OUT: virtual address of the initrd (its pfn when SIF_MOD_START_PFN is set).
    public static let modStart = 72
    /// OUT: length of the initrd in bytes (0 when none).
    public static let modLen = 76
    /// OUT: the NUL-terminated command line, at most 1023 characters.
    public static let cmdLine = 80
    public static let cmdLineLength = 1024
    /// OUT: first pfn of a P2M placed outside the initial mapping (0: none; 64-bit only in practice).
    public static let firstP2MPfn = 1104
    /// OUT: number of frames of that P2M.
    public static let nrP2MFrames = 1108
    /// Size of the structure on x86_32.
    public static let size = 1112

    /// The magic a pv32pae guest checks for.
    public static let magicString: StaticString = "xen-3.0-x86_32p"
}

/// Bits of `start_info.flags` (SIF_*).
public enum StartInfoFlags {
    /// SIF_PRIVILEGED: the domain may use privileged operations (dom0).
    public static let privileged: UInt32 = 1 << 0
    /// SIF_INITDOMAIN: this is the initial domain, started by the hypervisor itself.
    public static let initDomain: UInt32 = 1 << 1
    /// SIF_MULTIBOOT_MOD: mod_start/mod_len describe a list of multiboot modules.
    public static let multibootModule: UInt32 = 1 << 2
    /// SIF_MOD_START_PFN: mod_start is a pfn, the module is not mapped by the initial tables.
    public static let modStartPFN: UInt32 = 1 << 3
}
