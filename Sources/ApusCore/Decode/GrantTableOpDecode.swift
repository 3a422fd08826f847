// GrantTableOpDecode.swift: grant_table_op (20) decoded from its registers into a typed request: a bounded batch of
// map, unmap or copy elements, or one setup_table, query_size, set_version or get_version struct with the ranges its
// OUT fields go to. It reads guest memory only through GuestMemoryAccess and must never act: no state change, no copy out.

import PVABI

public enum GrantTableRequest {
    /// gnttab_map_grant_ref[count]; each element read with `mapElement`.
    case mapGrantRef(GuestArray)
    /// gnttab_unmap_grant_ref[count]; each element read with `unmapElement`.
    case unmapGrantRef(GuestArray)
    /// gnttab_copy[count]; each element read with `copyElement`.
    case copy(GuestArray)
    /// IN dom, nr_frames. OUT the status to `status`, the first nr_frames table frames to `frameList`, which is
    /// nil when nr_frames exceeds every table's maximum (the core then refuses it in the status, as Xen does).
    case setupTable(domain: UInt16, frames: UInt32, frameList: GuestArray?, status: GuestRange)
    /// IN dom. OUT nr_frames, max_nr_frames and status to `out` (the struct from nrFramesOffset on).
    case querySize(domain: UInt16, out: GuestRange)
    /// IN version. OUT the version in effect to `out`.
    case setVersion(version: UInt32, out: GuestRange)
    /// IN dom. OUT the version to `out`.
    case getVersion(domain: UInt16, out: GuestRange)

    /// The most elements one map, unmap or copy call may carry.
    public static let maxBatch: UInt32 = 4096
    /// No table grows past this many frames, so no setup_table frame list is longer.
    public static let maxSetupFrames: UInt32 = GrantTableLimits.defaultMaxFrames

    static let unreadable = Refusal(.EFAULT, "grant_table_op argument is not readable guest memory")

    /// `a`: cmd, uop (guest pointer to the array), count.
    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<GrantTableRequest> {
        guard let op = GrantTableOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown grant_table_op command")) }
        switch op {
        case .mapGrantRef: return batch(a, GrantMapLayout.size).map { .mapGrantRef($0) }
        case .unmapGrantRef: return batch(a, GrantUnmapLayout.size).map { .unmapGrantRef($0) }
        case .copy: return batch(a, GrantCopyLayout.size).map { .copy($0) }
        case .setupTable:
            guard a.a3 == 1 else { return .failure(Refusal(.EINVAL, "setup_table takes exactly one struct")) }
            guard let range = GuestRange(a.a2, count: UInt32(GrantSetupTableLayout.size)), let arg: GuestBytes<16> = memory.read(range),
                  let status = range.field(GrantSetupTableLayout.statusOffset, 2) else { return .failure(unreadable) }
            let frames = arg.u32(GrantSetupTableLayout.nrFramesOffset)
            var list: GuestArray? = nil
            if frames <= maxSetupFrames {
                switch GuestArray.check(arg.u32(GrantSetupTableLayout.frameListOffset), count: frames,
                                        elementSize: UInt32(GrantSetupTableLayout.frameListElementSize), maxCount: maxSetupFrames) {
                case .failure: return .failure(Refusal(.EFAULT, "setup_table frame list reaches into the hypervisor area"))
                case .success(let l): list = l
                }
            }
            return .success(.setupTable(domain: arg.u16(GrantSetupTableLayout.domOffset), frames: frames, frameList: list, status: status))
        case .querySize:
            guard a.a3 == 1 else { return .failure(Refusal(.EINVAL, "query_size takes exactly one struct")) }
            guard let range = GuestRange(a.a2, count: UInt32(GrantQuerySizeLayout.size)), let arg: GuestBytes<16> = memory.read(range),
                  let out = range.dropping(UInt32(GrantQuerySizeLayout.nrFramesOffset)) else { return .failure(unreadable) }
            return .success(.querySize(domain: arg.u16(GrantQuerySizeLayout.domOffset), out: out))
        case .setVersion:
            guard a.a3 == 1 else { return .failure(Refusal(.EINVAL, "set_version takes exactly one struct")) }
            guard let range = GuestRange(a.a2, count: UInt32(GrantSetVersionLayout.size)), let arg: GuestBytes<4> = memory.read(range)
            else { return .failure(unreadable) }
            return .success(.setVersion(version: arg.u32(GrantSetVersionLayout.versionOffset), out: range))
        case .getVersion:
            guard a.a3 == 1 else { return .failure(Refusal(.EINVAL, "get_version takes exactly one struct")) }
            guard let range = GuestRange(a.a2, count: UInt32(GrantGetVersionLayout.size)), let arg: GuestBytes<8> = memory.read(range),
                  let out = range.field(GrantGetVersionLayout.versionOffset, 4) else { return .failure(unreadable) }
            return .success(.getVersion(domain: arg.u16(GrantGetVersionLayout.domOffset), out: out))
        case .dumpTable, .transfer, .unmapAndReplace, .getStatusFrames, .swapGrantRef, .cacheFlush:
            return .failure(Refusal(.ENOSYS, "this grant_table_op command is not implemented (v1 tables: map, unmap, copy, setup, query, versions)"))
        }
    }

    /// The element list of a batch op, its count bounded before its extent is checked.
    static func batch(_ a: HypercallArguments, _ size: Int) -> Decoded<GuestArray> {
        switch GuestArray.check(a.a2, count: a.a3, elementSize: UInt32(size), maxCount: maxBatch) {
        case .failure(.tooLong): return .failure(Refusal(.EINVAL, "grant_table_op batch longer than 4096 elements"))
        case .failure(.outsideGuest): return .failure(Refusal(.EFAULT, "grant_table_op element list reaches into the hypervisor area"))
        case .success(let l): return .success(l)
        }
    }
}

/// One gnttab_map_grant_ref, copied in. `out` is the struct from statusOffset on (status, handle, dev_bus_addr).
public struct GrantMapElement: Equatable, Sendable {
    public var hostAddress: UInt64
    public var flags: UInt32
    public var ref: UInt32
    public var domain: UInt16
    public var out: GuestRange

    /// Element `i` of `list`, or nil when it is not readable (the call then answers -EFAULT).
    public static func read<M: GuestMemoryAccess>(_ list: GuestArray, _ i: UInt32, _ memory: inout M) -> GrantMapElement? {
        guard let range = list.element(i), let b: GuestBytes<32> = memory.read(range),
              let out = range.dropping(UInt32(GrantMapLayout.statusOffset)) else { return nil }
        return GrantMapElement(hostAddress: b.u64(GrantMapLayout.hostAddrOffset), flags: b.u32(GrantMapLayout.flagsOffset),
                               ref: b.u32(GrantMapLayout.refOffset), domain: b.u16(GrantMapLayout.domOffset), out: out)
    }

    /// The OUT block for `out`: status, and on success the handle and device address.
    public static func result(_ status: GrantStatus, handle: UInt32 = 0, deviceAddress: UInt64 = 0) -> GuestBytes<16> {
        var b = GuestBytes<16>(count: GrantMapLayout.size - GrantMapLayout.statusOffset)
        let base = GrantMapLayout.statusOffset
        b.set16(GrantMapLayout.statusOffset - base, status.field)
        b.set32(GrantMapLayout.handleOffset - base, handle)
        b.set64(GrantMapLayout.devBusAddrOffset - base, deviceAddress)
        return b
    }
}

/// One gnttab_unmap_grant_ref, copied in. `status` is its i16 OUT field.
public struct GrantUnmapElement: Equatable, Sendable {
    public var hostAddress: UInt64
    public var deviceAddress: UInt64
    public var handle: UInt32
    public var status: GuestRange

    public static func read<M: GuestMemoryAccess>(_ list: GuestArray, _ i: UInt32, _ memory: inout M) -> GrantUnmapElement? {
        guard let range = list.element(i), let b: GuestBytes<24> = memory.read(range),
              let status = range.field(GrantUnmapLayout.statusOffset, 2) else { return nil }
        return GrantUnmapElement(hostAddress: b.u64(GrantUnmapLayout.hostAddrOffset), deviceAddress: b.u64(GrantUnmapLayout.devBusAddrOffset),
                                 handle: b.u32(GrantUnmapLayout.handleOffset), status: status)
    }
}

/// One gnttab_copy, copied in. `status` is its i16 OUT field.
public struct GrantCopyElement: Equatable, Sendable {
    public var source: GrantCopySide
    public var dest: GrantCopySide
    public var length: UInt16
    public var flags: UInt16
    public var status: GuestRange

    public static func read<M: GuestMemoryAccess>(_ list: GuestArray, _ i: UInt32, _ memory: inout M) -> GrantCopyElement? {
        guard let range = list.element(i), let b: GuestBytes<24> = memory.read(range),
              let status = range.field(GrantCopyLayout.statusOffset, 2) else { return nil }
        let flags = b.u16(GrantCopyLayout.flagsOffset)
        return GrantCopyElement(
            source: GrantCopySide(isGrant: flags & GrantCopyFlags.sourceGref != 0, refOrFrame: b.u32(GrantCopyLayout.sourceRefOffset),
                                  domain: b.u16(GrantCopyLayout.sourceDomidOffset), offset: b.u16(GrantCopyLayout.sourceOffsetOffset)),
            dest: GrantCopySide(isGrant: flags & GrantCopyFlags.destGref != 0, refOrFrame: b.u32(GrantCopyLayout.destRefOffset),
                                domain: b.u16(GrantCopyLayout.destDomidOffset), offset: b.u16(GrantCopyLayout.destOffsetOffset)),
            length: b.u16(GrantCopyLayout.lenOffset), flags: flags, status: status)
    }
}

/// query_size's OUT block (from nrFramesOffset to the end of the struct).
public enum GrantQuerySizeOut {
    public static func bytes(frames: UInt32, maxFrames: UInt32, status: GrantStatus) -> GuestBytes<12> {
        var b = GuestBytes<12>(count: GrantQuerySizeLayout.size - GrantQuerySizeLayout.nrFramesOffset)
        let base = GrantQuerySizeLayout.nrFramesOffset
        b.set32(GrantQuerySizeLayout.nrFramesOffset - base, frames)
        b.set32(GrantQuerySizeLayout.maxNrFramesOffset - base, maxFrames)
        b.set16(GrantQuerySizeLayout.statusOffset - base, status.field)
        return b
    }
}
