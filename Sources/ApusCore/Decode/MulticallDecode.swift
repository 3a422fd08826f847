// MulticallDecode.swift: multicall (13) decoded: the entry array bounded (1024) before anything is
// read and range-checked whole; each entry copied in and split into a hypercall number and its
// arguments, with the slot its result goes to. It must never act or run the calls itself.

import PVABI

public struct MulticallBatch: Equatable, Sendable {
    public static let maxEntries: UInt32 = 1024
    public let entries: GuestArray

    public static func decode(_ a: HypercallArguments) -> Decoded<MulticallBatch> {
        switch GuestArray.check(a.a1, count: a.a2, elementSize: UInt32(MulticallEntryLayout.size), maxCount: maxEntries) {
        case .failure(.tooLong): return .failure(Refusal(.EINVAL, "multicall batch longer than 1024 entries"))
        case .failure(.outsideGuest): return .failure(Refusal(.EFAULT, "multicall array reaches into the hypervisor area"))
        case .success(let entries): return .success(MulticallBatch(entries: entries))
        }
    }

    /// Entry `i`: the call to make and where its result goes.
    public func entry<M: GuestMemoryAccess>(_ i: UInt32, _ memory: inout M) -> Decoded<MulticallEntry> {
        guard let slot = entries.element(i), let raw: GuestBytes<32> = memory.read(slot),
              let result = slot.slice(at: UInt32(MulticallEntryLayout.resultOffset), count: 4) else {
            return .failure(Refusal(.EFAULT, "multicall entry is not readable guest memory"))
        }
        let arg = { (n: Int) in raw.u32(MulticallEntryLayout.argOffset(n)) }
        return .success(MulticallEntry(op: raw.u32(MulticallEntryLayout.opOffset),
                                       arguments: HypercallArguments(arg(0), arg(1), arg(2), arg(3), arg(4)), result: result))
    }
}

public struct MulticallEntry: Sendable {
    public let op: UInt32
    public let arguments: HypercallArguments
    /// The entry's result field.
    public let result: GuestRange
}
