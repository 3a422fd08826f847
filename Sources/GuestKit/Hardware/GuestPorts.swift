// GuestPorts.swift: Swift's view of GuestKit/Asm/ports.asm, a guest kernel's port I/O. Guest images
// only; it decides nothing: whether a port answers is the hypervisor's rule.

@_extern(c, "guest_port_out8") public func guest_port_out8(_ port: UInt32, _ value: UInt32)
@_extern(c, "guest_port_out16") public func guest_port_out16(_ port: UInt32, _ value: UInt32)
@_extern(c, "guest_port_out32") public func guest_port_out32(_ port: UInt32, _ value: UInt32)
@_extern(c, "guest_port_in8") public func guest_port_in8(_ port: UInt32) -> UInt32
@_extern(c, "guest_port_in16") public func guest_port_in16(_ port: UInt32) -> UInt32
@_extern(c, "guest_port_in32") public func guest_port_in32(_ port: UInt32) -> UInt32
