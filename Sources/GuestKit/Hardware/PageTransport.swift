// PageTransport.swift: the real HypercallTransport: a call into the hypercall page the domain
// builder filled (GuestKit/Asm/entry.asm's guest_hypercall). Guest images only; never on a host.

@_extern(c, "guest_hypercall")
func guest_hypercall(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) -> Int32

@_extern(c, "guest_hypercall2")
func guest_hypercall2(_ number: UInt32, _ a1: UInt32, _ a2: UInt32) -> Int32

@_extern(c, "guest_hypercall4")
func guest_hypercall4(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32) -> Int32

public struct PageTransport: HypercallTransport {
    public init() {}
    @inline(__always)
    public func call(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) -> Int32 {
        guest_hypercall(number, a1, a2, a3, a4, a5)
    }
    @inline(__always)
    public func call2(_ number: UInt32, _ a1: UInt32, _ a2: UInt32) -> Int32 { guest_hypercall2(number, a1, a2) }
    @inline(__always)
    public func call4(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32) -> Int32 {
        guest_hypercall4(number, a1, a2, a3, a4)
    }
}

/// The guest kernel's one connection to the hypervisor.
public let xen = Xen(PageTransport())
