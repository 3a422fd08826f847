// The argument layout of memory_op (12) that MemoryOps.swift leaves implicit: the domid_t a
// reservation query names. Layouts only: it must never decide an answer.

/// XENMEM_current_reservation / XENMEM_maximum_reservation argument: a pointer to one domid_t.
public enum ReservationDomainLayout {
    /// u16, IN: the domain asked about (DOMID_SELF: the caller).
    public static let domidOffset: Int = 0
    public static let size: Int = 2
}
