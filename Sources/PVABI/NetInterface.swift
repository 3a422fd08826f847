// The network device protocol between a netfront and its netback (Xen's netif, xen/include/public/io/
// netif.h) on x86_32: the transmit and receive requests and responses, their flags and statuses.
// Numbers and layouts only: it must never decide what a packet may do.

/// struct netif_tx_request (12 bytes) and netif_tx_response (4 bytes); a ring entry is 12 bytes
/// (256 entries a page). A netif_extra_info (12 bytes) may take the slot after a request.
public enum NetifTxLayout {
    public static let grantOffset = 0
    public static let offsetOffset = 4
    public static let flagsOffset = 6
    public static let idOffset = 8
    public static let sizeOffset = 10
    public static let requestBytes = 12

    public static let responseIDOffset = 0
    public static let responseStatusOffset = 2
    public static let responseBytes = 4

    public static let entryBytes = 12
}

/// struct netif_rx_request (8 bytes) and netif_rx_response (8 bytes); 256 entries a page.
public enum NetifRxLayout {
    public static let idOffset = 0
    public static let grantOffset = 4
    public static let requestBytes = 8

    public static let responseIDOffset = 0
    public static let responseOffsetOffset = 2
    public static let responseFlagsOffset = 4
    public static let responseStatusOffset = 6
    public static let responseBytes = 8

    public static let entryBytes = 8
}

/// NETTXF_*: a transmit request's flags.
public enum NetTxFlags {
    public static let checksumBlank: UInt16 = 1 << 0
    public static let dataValidated: UInt16 = 1 << 1
    /// The packet continues in the next request.
    public static let moreData: UInt16 = 1 << 2
    /// A netif_extra_info follows in the next slot.
    public static let extraInfo: UInt16 = 1 << 3
}

/// NETRXF_*: a receive response's flags.
public enum NetRxFlags {
    public static let dataValidated: UInt16 = 1 << 0
    public static let checksumBlank: UInt16 = 1 << 1
    public static let moreData: UInt16 = 1 << 2
    public static let extraInfo: UInt16 = 1 << 3
}

/// XEN_NETIF_EXTRA_FLAG_MORE: another extra-info slot follows.
public enum NetExtraInfo {
    public static let flagsOffset = 1
    public static let flagMore: UInt8 = 1 << 0
}

/// NETIF_RSP_*.
public enum NetifStatus: Int16, Sendable {
    case dropped = -2
    case error = -1
    case okay = 0
    /// The slot held an extra-info, not a packet.
    case null = 1
}

/// Sizes a backend holds packets to.
public enum NetifLimits {
    /// ETH_FRAME_LEN plus a VLAN tag: the largest frame without scatter-gather.
    public static let maxFrame = 1518
    /// The smallest frame worth forwarding: an Ethernet header.
    public static let minFrame = 14
}
