// Virtqueue.swift: a virtio 1.0 split virtqueue, driver side: buffers chained into descriptors,
// published on the driver ring, and taken back from the device ring. Every answer of the device is
// checked before it is believed (an index the device advanced past what is outstanding, a
// descriptor id that is not an outstanding chain's head, a length beyond the buffers the device may
// write): the queue then stops as broken, so a device that returns nonsense cannot make the driver
// read or free the wrong buffers. The free list is kept in driver memory, never read back from the
// descriptor table the device can see.

/// One buffer of a request: where it is (a machine address the device can reach), how long, and
/// whether the device writes it.
public struct VirtqueueBuffer: Equatable, Sendable {
    public let address: UInt64
    public let length: UInt32
    public let deviceWrites: Bool
    public init(address: UInt64, length: UInt32, deviceWrites: Bool) {
        self.address = address
        self.length = length
        self.deviceWrites = deviceWrites
    }
}

/// What a device did wrong; the queue is broken from then on.
public enum VirtqueueFault: Equatable, Sendable {
    /// The device ring's index moved by more than the chains outstanding.
    case deviceIndexRanAhead(seen: UInt16, outstanding: Int)
    /// A completion named a descriptor that is not the head of an outstanding chain.
    case badDescriptor(UInt32)
    /// A completion wrote more bytes than the chain's device-writable buffers hold.
    case lengthBeyondBuffers(id: UInt32, length: UInt32, writable: UInt32)

    public var reason: StaticString {
        switch self {
        case .deviceIndexRanAhead: return "the device's used index ran past the requests outstanding"
        case .badDescriptor: return "the device completed a descriptor that is not an outstanding request"
        case .lengthBeyondBuffers: return "the device wrote more than the request's buffers hold"
        }
    }
}

/// One completed request: the caller's token and the bytes the device wrote.
public struct VirtqueueCompletion: Equatable, Sendable {
    public let token: UInt32
    public let written: UInt32
}

public struct Virtqueue<Memory: VirtqueueMemory> {
    /// Descriptor flags (virtio 1.0, 2.6.5).
    static var flagNext: UInt16 { 1 }
    static var flagWrite: UInt16 { 2 }

    public let layout: VirtqueueLayout
    public private(set) var memory: Memory

    /// Driver-side shadow state: the free chain, and per head its chain length, writable bytes and token.
    private var nextFree: [UInt16]
    private var freeHead: UInt16 = 0
    public private(set) var freeCount: Int
    private var chainLength: [UInt16]
    private var writable: [UInt32]
    private var tokens: [UInt32]
    private var outstandingHead: [Bool]
    public private(set) var outstanding = 0
    /// The driver ring's next index and the device ring entries already taken.
    private var driverIndex: UInt16 = 0
    private var deviceSeen: UInt16 = 0
    public private(set) var fault: VirtqueueFault? = nil

    /// A queue over `memory`, which must hold `layout.byteCount` bytes; nil otherwise. The rings
    /// start empty (the caller zeroed the area before handing it to the device).
    public init?(layout: VirtqueueLayout, memory: Memory) {
        guard memory.byteCount >= layout.byteCount else { return nil }
        self.layout = layout
        self.memory = memory
        let n = layout.size
        nextFree = (0..<n).map { UInt16(truncatingIfNeeded: $0 + 1) }
        freeCount = n
        chainLength = [UInt16](repeating: 0, count: n)
        writable = [UInt32](repeating: 0, count: n)
        tokens = [UInt32](repeating: 0, count: n)
        outstandingHead = [Bool](repeating: false, count: n)
    }

    public var isBroken: Bool { fault != nil }

    /// Chains `buffers` (device-readable ones first, as virtio requires of a driver) and publishes
    /// them. False when the queue is broken, the chain is empty or longer than the free descriptors,
    /// or a readable buffer follows a writable one.
    public mutating func submit(_ buffers: [VirtqueueBuffer], token: UInt32) -> Bool {
        guard fault == nil, !buffers.isEmpty, buffers.count <= freeCount else { return false }
        var sawWritable = false
        var writableBytes: UInt64 = 0
        for b in buffers {
            if b.deviceWrites { sawWritable = true; writableBytes += UInt64(b.length) } else if sawWritable { return false }
        }
        guard writableBytes <= UInt64(UInt32.max) else { return false }
        let head = freeHead
        var d = head
        for (i, b) in buffers.enumerated() {
            let last = i == buffers.count - 1
            let next = nextFree[Int(d)]
            let at = layout.descriptors + 16 * Int(d)
            memory.store64(at, b.address)
            memory.store32(at + 8, b.length)
            memory.store16(at + 12, (b.deviceWrites ? Self.flagWrite : 0) | (last ? 0 : Self.flagNext))
            memory.store16(at + 14, last ? 0 : next)
            if !last { d = next }
            else { freeHead = next }
        }
        freeCount -= buffers.count
        chainLength[Int(head)] = UInt16(buffers.count)
        writable[Int(head)] = UInt32(writableBytes)
        tokens[Int(head)] = token
        outstandingHead[Int(head)] = true
        outstanding += 1
        memory.store16(layout.driverRing + 4 + 2 * (Int(driverIndex) & (layout.size - 1)), head)
        memory.barrier()
        driverIndex &+= 1
        memory.store16(layout.driverRing + 2, driverIndex)
        memory.barrier()
        return true
    }

    /// Takes every completion the device published since the last call, checked, handing each to
    /// `completed`. Returns the fault that broke the queue, if the device's answers made no sense
    /// (completions before the bad one are handed over).
    public mutating func collect(_ completed: (VirtqueueCompletion) -> Void) -> VirtqueueFault? {
        guard fault == nil else { return fault }
        let published = memory.load16(layout.deviceRing + 2)
        memory.barrier()
        let fresh = Int(published &- deviceSeen)
        guard fresh <= outstanding else {
            fault = .deviceIndexRanAhead(seen: published, outstanding: outstanding)
            return fault
        }
        for _ in 0..<fresh {
            let at = layout.deviceRing + 4 + 8 * (Int(deviceSeen) & (layout.size - 1))
            let id = memory.load32(at), length = memory.load32(at + 4)
            guard id < UInt32(layout.size), outstandingHead[Int(id)] else {
                fault = .badDescriptor(id)
                return fault
            }
            guard length <= writable[Int(id)] else {
                fault = .lengthBeyondBuffers(id: id, length: length, writable: writable[Int(id)])
                return fault
            }
            release(head: UInt16(id))
            deviceSeen &+= 1
            completed(VirtqueueCompletion(token: tokens[Int(id)], written: length))
        }
        return nil
    }

    /// Returns a completed chain's descriptors to the free list, walking the driver's own links.
    private mutating func release(head: UInt16) {
        var last = head
        for _ in 1..<Int(chainLength[Int(head)]) { last = nextFree[Int(last)] }
        nextFree[Int(last)] = freeHead
        freeHead = head
        freeCount += Int(chainLength[Int(head)])
        outstandingHead[Int(head)] = false
        outstanding -= 1
    }
}

extension Virtqueue {
    /// Tests hand the queue the memory their device model wrote (dom0's memory is shared for real).
    mutating func replaceMemoryForTests(_ m: Memory) { memory = m }
}
