// VirtqueueMemory.swift: the seam between a split virtqueue and the memory it shares with the device:
// little-endian loads and stores at byte offsets inside the queue's area, and the barrier between
// filling a ring entry and publishing its index. Dom0 implements it over its DMA pages; tests over a
// byte array with a device model. An implementation must never touch memory outside the area.

public protocol VirtqueueMemory {
    /// Bytes in the area; every offset the queue uses is below it.
    var byteCount: Int { get }
    func load16(_ offset: Int) -> UInt16
    func load32(_ offset: Int) -> UInt32
    mutating func store16(_ offset: Int, _ value: UInt16)
    mutating func store32(_ offset: Int, _ value: UInt32)
    mutating func store64(_ offset: Int, _ value: UInt64)
    /// Orders the stores before it ahead of those after (and loads after it behind loads before).
    mutating func barrier()
}

/// Where the three parts of a split virtqueue of `size` entries lie in one area (virtio 1.0, 2.6):
/// the descriptor table (16 bytes each), the driver ("available") ring and the device ("used") ring,
/// the last aligned to 4 bytes.
public struct VirtqueueLayout: Equatable, Sendable {
    public let size: Int
    public var descriptors: Int { 0 }
    public var driverRing: Int { 16 * size }
    public var deviceRing: Int { (driverRing + 6 + 2 * size + 3) & ~3 }
    public var byteCount: Int { deviceRing + 6 + 8 * size }

    /// nil unless `size` is a power of two from 1 to 32768 (what virtio allows).
    public init?(size: Int) {
        guard size >= 1, size <= 32768, size & (size - 1) == 0 else { return nil }
        self.size = size
    }
}
