// Why a page-table, pin, base-pointer or descriptor-frame operation was refused: one case per rule, an errno and a sentence.
// Reasons only: nothing here may inspect a frame or decide a rule. A refusal always means nothing changed.

import PVABI

/// A refusal of the direct-paging core. `errno` is what the guest sees (negated), `reason`
/// is the sentence the hypervisor logs.
public enum MemoryError: Error, Equatable, Sendable {
    // Frames.
    case frameBeyondMemory
    case frameNotOwned
    case foreignFrame
    case hypervisorFrame
    case referenceCountOverflow
    // Entry bits.
    case reservedBits
    case l1CacheOrGlobalBits
    case superpage
    case l2GlobalBit
    case l3ReservedFlags
    // Types.
    case pageTableMappedWritable
    case frameMappedWritable
    case typeInUse
    case typeStillValidating
    case hypervisorL2Shared
    case l3SlotThreeMissing
    case hypervisorSlotUpdate
    case l3SlotThreeUpdate
    case descriptorRefused(DescriptorRefusal)
    // Operations.
    case notAPageTable
    case unknownCommand
    case badPointer
    case alreadyPinned
    case notPinned
    case pinLevelUnsupported
    case noBasePointer
    case hypervisorAddress
    case noL2ForAddress
    case noL1ForAddress
    case badWrite
    case badLDT
    case memoryFault
    case grantMappingEntry
    case grantSlotInUse
    case grantEntryMismatch
    case deviceMemoryNotGiven
    case deviceMemoryCached
    case badBaseVCPU

    /// The Xen errno; the guest receives its negation. A write into the hypervisor's slots of a
    /// slot-3 L2 is -EPERM, as Xen's mod_l2_entry answers it; every other rule broken is -EINVAL.
    public var error: XenError {
        switch self {
        case .hypervisorSlotUpdate, .deviceMemoryNotGiven: return .EPERM
        case .referenceCountOverflow: return .EBUSY
        case .unknownCommand: return .ENOSYS
        case .memoryFault: return .EFAULT
        default: return .EINVAL
        }
    }

    /// The errno as a positive number (guests see `-errno`).
    public var errno: Int32 { error.rawValue }

    public var reason: StaticString {
        switch self {
        case .deviceMemoryNotGiven:
            return "The entry names device memory the domain was not given (domctl iomem_permission)."
        case .deviceMemoryCached:
            return "An entry for device memory must be uncached (PCD): map it through DOMID_IO."
        case .frameBeyondMemory:
            return "The entry names a machine frame beyond the machine's memory."
        case .frameNotOwned:
            return "The entry names a frame that is free, not RAM, or a boot module: the domain does not own it."
        case .foreignFrame:
            return "The entry names a frame another domain owns."
        case .hypervisorFrame:
            return "The entry names a frame the hypervisor owns and has not offered to this domain."
        case .referenceCountOverflow:
            return "The frame has as many references as its counter can hold."
        case .reservedBits:
            return "The entry sets bits 52-62, which are reserved to the hypervisor."
        case .l1CacheOrGlobalBits:
            return "An L1 entry may not set the PAT or global bit: a global guest mapping would outlive its address space."
        case .superpage:
            return "An L2 entry may not map a 2 MiB superpage: every guest mapping goes through an L1 the hypervisor validated."
        case .l2GlobalBit:
            return "An L2 entry may not set the global bit."
        case .l3ReservedFlags:
            return "An L3 (PDPT) entry sets a bit the hardware reserves (PS, global, or NX)."
        case .pageTableMappedWritable:
            return "The frame is in use as a page table or descriptor table and cannot be mapped writable."
        case .frameMappedWritable:
            return "The frame is mapped writable somewhere and cannot become a page table or descriptor table."
        case .typeInUse:
            return "The frame is in use as another kind of page table (an L2 entry must point at an L1, an L3 entry at an L2)."
        case .typeStillValidating:
            return "The frame is being validated as this type and cannot be referenced from inside its own validation."
        case .hypervisorL2Shared:
            return "The L2 under L3 slot 3 holds the hypervisor's slots and may be referenced by one L3 entry only."
        case .l3SlotThreeMissing:
            return "L3 slot 3 must point at an L2: it receives the hypervisor's mappings above 0xF5800000."
        case .hypervisorSlotUpdate:
            return "L2 entries 428-511 under L3 slot 3 map the hypervisor and belong to it, not to the guest."
        case .l3SlotThreeUpdate:
            return "L3 slot 3 of a table in use cannot change: it carries the hypervisor's mappings."
        case .descriptorRefused(let refusal):
            return refusal.reason
        case .notAPageTable:
            return "The frame is neither a validated page table of this domain nor a frame it may write."
        case .unknownCommand:
            return "The command number is not one this hypervisor implements."
        case .badPointer:
            return "The request's address is not 8-byte aligned or not inside the frame."
        case .alreadyPinned:
            return "The table is already pinned."
        case .notPinned:
            return "The frame is not a pinned table of this domain."
        case .pinLevelUnsupported:
            return "PAE guests have three levels of page table: L4 pins and user base pointers are refused."
        case .noBasePointer:
            return "The domain has no current page-table base."
        case .hypervisorAddress:
            return "The virtual address lies at or above HYPERVISOR_VIRT_START (0xF5800000)."
        case .noL2ForAddress:
            return "No L2 maps that virtual address: its L3 entry is not present."
        case .noL1ForAddress:
            return "No L1 maps that virtual address: its L2 entry is not present."
        case .badWrite:
            return "A page-table write must be 4 or 8 bytes, naturally aligned, inside the frame."
        case .badLDT:
            return "The LDT must be page aligned, below 0xF5800000 with all its entries, and have at most 8192 entries."
        case .memoryFault:
            return "The hypervisor could not read or write the frame."
        case .grantMappingEntry:
            return "The entry holds a grant mapping of another domain's frame: remove it with GNTTABOP_unmap_grant_ref."
        case .grantSlotInUse:
            return "A grant is mapped only where the L1 entry for host_addr is not present."
        case .grantEntryMismatch:
            return "The L1 entry for host_addr no longer maps the granted frame."
        case .badBaseVCPU:
            return "The vCPU already has a top-level table, or the domain has no such vCPU."
        }
    }
}
