// PageTableBatchDecode.swift: the argument checks mmu_update (1) and mmuext_op (26) share: the
// caller's own domain, a batch bounded before anything is read, a request list wholly in guest
// memory, and where the done count goes. Elements are decoded from copies; it must never act.

import PVABI

public struct PageTableBatch: Equatable, Sendable {
    /// The most requests one call may carry.
    public static let maxBatch: UInt32 = 4096

    public let list: GuestArray
    /// Where the number of completed requests goes, or nil when the guest passed a null pointer.
    public let doneCount: GuestRange?
    /// The foreign domain is DOMID_IO: every entry maps device memory (mmu_update only).
    public var deviceMemory = false

    /// `a`: list, count, pdone, foreign domid. `caller` is the calling domain's id. DOMID_IO is
    /// accepted when `allowDeviceMemory` (mmu_update); the rule for its entries is the actor's.
    public static func decode(_ a: HypercallArguments, caller: UInt16, elementSize: Int,
                              allowDeviceMemory: Bool = false) -> Decoded<PageTableBatch> {
        var deviceMemory = false
        if a.a4 != UInt32(SpecialDomainID.selfID) && a.a4 != UInt32(caller) {
            guard allowDeviceMemory && a.a4 == UInt32(SpecialDomainID.io) else {
                return .failure(Refusal(.EPERM, "page-table operations on another domain are not allowed"))
            }
            deviceMemory = true
        }
        let list: GuestArray
        switch GuestArray.check(a.a1, count: a.a2, elementSize: UInt32(elementSize), maxCount: maxBatch) {
        case .failure(.tooLong): return .failure(Refusal(.EINVAL, "batch longer than 4096 requests"))
        case .failure(.outsideGuest): return .failure(Refusal(.EFAULT, "request list reaches into the hypervisor area"))
        case .success(let l): list = l
        }
        var done: GuestRange? = nil
        if a.a3 != 0 {
            guard let r = GuestRange(a.a3, count: 4) else { return .failure(Refusal(.EFAULT, "the done count is not writable guest memory")) }
            done = r
        }
        return .success(PageTableBatch(list: list, doneCount: done, deviceMemory: deviceMemory))
    }

    /// One mmu_update request copied in.
    public static func mmuUpdate(_ request: GuestBytes<16>) -> MMUUpdateRequest {
        MMUUpdateRequest(ptr: request.u64(MMUUpdateLayout.ptrOffset), val: request.u64(MMUUpdateLayout.valOffset))
    }

    /// Request `index` of a run of mmu_update requests copied in whole (`requests` holds at least
    /// index + 1 of them, 8-byte aligned): the batch path, one guarded copy per run of requests.
    @inline(__always)
    public static func mmuUpdate(_ requests: UnsafeRawPointer, index: Int) -> MMUUpdateRequest {
        let at = index &* MMUUpdateLayout.size
        return MMUUpdateRequest(ptr: UInt64(littleEndian: requests.load(fromByteOffset: at &+ MMUUpdateLayout.ptrOffset, as: UInt64.self)),
                                val: UInt64(littleEndian: requests.load(fromByteOffset: at &+ MMUUpdateLayout.valOffset, as: UInt64.self)))
    }

    /// One mmuext_op copied in.
    public static func mmuextOp(_ op: GuestBytes<12>) -> MMUExtRequest {
        MMUExtRequest(cmd: op.u32(0), arg1: op.u32(4), arg2: op.u32(8))
    }
}

/// update_va_mapping (14): va, the new 64-bit entry (low, high), and UVMF flags.
public struct UpdateVAMappingRequest: Equatable, Sendable {
    public let va: UInt32
    public let value: UInt64
    public let flags: UInt32

    public static func decode(_ a: HypercallArguments) -> UpdateVAMappingRequest {
        UpdateVAMappingRequest(va: a.a1, value: HypercallArguments.joined(a.a2, a.a3), flags: a.a4)
    }
}
