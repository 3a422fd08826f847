// XenVersionDecode.swift: xen_version (17) decoded into a typed request; every operation that fills a
// buffer carries it as a GuestRange of the exact Xen size. get_features carries its IN submap index and
// its OUT field. Reads only through GuestMemoryAccess; must never act (it writes nothing).

import PVABI

public enum XenVersionRequest {
    case version
    case pagesize
    /// OUT: XEN_EXTRAVERSION_LEN bytes.
    case extraversion(GuestRange)
    /// OUT: struct xen_compile_info.
    case compileInfo(GuestRange)
    /// OUT: XEN_CAPABILITIES_INFO_LEN bytes.
    case capabilities(GuestRange)
    /// OUT: XEN_CHANGESET_INFO_LEN bytes.
    case changeset(GuestRange)
    /// OUT: struct xen_platform_parameters.
    case platformParameters(GuestRange)
    /// IN: the submap index; OUT: its bits to `submap`.
    case getFeatures(index: UInt32, submap: GuestRange)
    /// OUT: xen_domain_handle_t.
    case guestHandle(GuestRange)
    /// OUT: xen_commandline_t (dom0 only: the acting half checks).
    case commandline(GuestRange)

    static let unwritable = Refusal(.EFAULT, "xen_version buffer is not writable guest memory")

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<XenVersionRequest> {
        guard let op = XenVersionOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown xen_version operation")) }
        func buffer(_ size: Int, _ make: (GuestRange) -> XenVersionRequest) -> Decoded<XenVersionRequest> {
            guard let range = GuestRange(a.a2, count: UInt32(size)) else { return .failure(unwritable) }
            return .success(make(range))
        }
        switch op {
        case .version: return .success(.version)
        case .pagesize: return .success(.pagesize)
        case .extraversion: return buffer(XenVersionBuffers.extraversionSize) { .extraversion($0) }
        case .compileInfo: return buffer(XenCompileInfoLayout.size) { .compileInfo($0) }
        case .capabilities: return buffer(XenVersionBuffers.capabilitiesSize) { .capabilities($0) }
        case .changeset: return buffer(XenVersionBuffers.changesetSize) { .changeset($0) }
        case .platformParameters: return buffer(XenPlatformParametersLayout.size) { .platformParameters($0) }
        case .guestHandle: return buffer(XenVersionBuffers.guestHandleSize) { .guestHandle($0) }
        case .commandline: return buffer(XenVersionBuffers.commandlineSize) { .commandline($0) }
        case .getFeatures:
            guard let range = GuestRange(a.a2, count: UInt32(XenFeatureInfoLayout.size)),
                  let index = range.field(XenFeatureInfoLayout.submapIndexOffset, 4), let value = memory.read32(index),
                  let submap = range.field(XenFeatureInfoLayout.submapOffset, 4) else {
                return .failure(Refusal(.EFAULT, "xen_feature_info is not readable"))
            }
            return .success(.getFeatures(index: value, submap: submap))
        case .buildID:
            return .failure(Refusal(.ENOSYS, "no build id is recorded"))
        }
    }
}
