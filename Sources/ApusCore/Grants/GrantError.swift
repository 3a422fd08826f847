// Why a grant-table operation was refused: one case per rule, the GNTST status the guest's element receives, and a sentence.
// Reasons only: nothing here may read an entry or decide a rule. A refused element changed nothing.

import PVABI

public enum GrantError: Error, Equatable, Sendable {
    case noSuchDomain
    case domainDying
    case notPrivileged
    case tooManyFrames
    case noTableFrame
    case refBeyondTable
    case notPermitAccess
    case grantedToAnother
    case readonlyGrant
    case noHostMap
    case pteAddressMap
    case badHostAddress
    case frameNotGranters
    case handlesExhausted
    case pinOverflow
    case badHandle
    case wrongHostAddress
    case wrongDeviceAddress
    case copyPastPage
    case copyFrameNotOwn
    case copyFrameNotOwned
    case ownGrant

    /// The GNTST code the element's status field receives.
    public var status: GrantStatus {
        switch self {
        case .noSuchDomain, .domainDying: return .badDomain
        case .notPrivileged, .copyFrameNotOwn, .ownGrant: return .permissionDenied
        case .refBeyondTable: return .badGntref
        case .badHostAddress, .wrongHostAddress: return .badVirtAddr
        case .wrongDeviceAddress: return .badDevAddr
        case .frameNotGranters, .copyFrameNotOwned: return .badPage
        case .handlesExhausted: return .noDeviceSpace
        case .badHandle: return .badHandle
        case .copyPastPage: return .badCopyArg
        case .tooManyFrames, .noTableFrame, .notPermitAccess, .grantedToAnother, .readonlyGrant, .noHostMap,
             .pteAddressMap, .pinOverflow:
            return .generalError
        }
    }

    public var reason: StaticString {
        switch self {
        case .noSuchDomain: return "The domain named has no grant table: it does not exist."
        case .domainDying: return "The domain named is being destroyed: its grants can only be unmapped."
        case .notPrivileged: return "Only a privileged domain may operate on another domain's grant table."
        case .tooManyFrames: return "The table would grow past the domain's maximum of grant-table frames."
        case .noTableFrame: return "No free frame was left to grow the grant table."
        case .refBeyondTable: return "The grant reference lies beyond the granting domain's table."
        case .notPermitAccess: return "The grant entry is not of type permit_access."
        case .grantedToAnother: return "The grant entry names another domain: only the domain it names may use it."
        case .readonlyGrant: return "The grant is read-only: it never gives a writable mapping and cannot be copied to."
        case .noHostMap: return "A map must ask for GNTMAP_host_map: the hypervisor maps grants for the CPU only."
        case .pteAddressMap: return "GNTMAP_contains_pte (a PTE machine address in host_addr) is not supported; pass a virtual address."
        case .badHostAddress: return "host_addr must be non-zero, page aligned and below HYPERVISOR_VIRT_START (0xF5800000)."
        case .frameNotGranters: return "The granted frame is not the granting domain's, or may not be mapped as asked (a page table mapped writable)."
        case .handlesExhausted: return "The mapping domain has used every grant-mapping handle it may hold."
        case .pinOverflow: return "The grant is mapped as many times as its counter can hold."
        case .badHandle: return "The handle names no grant mapping of this domain."
        case .wrongHostAddress: return "The unmap names another address than the one the handle was mapped at."
        case .wrongDeviceAddress: return "The unmap names another device address than the one the map returned."
        case .copyPastPage: return "A copy must stay inside one page on each side: offset + len may not pass 4096."
        case .copyFrameNotOwn: return "A copy by frame number may only name the caller's own frames (DOMID_SELF)."
        case .copyFrameNotOwned: return "The frame named in the copy is not the caller's (or cannot be written)."
        case .ownGrant: return "A domain cannot map its own grant: it maps its own frames with mmu_update."
        }
    }
}
