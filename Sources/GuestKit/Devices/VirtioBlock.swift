// VirtioBlock.swift: the virtio-blk device's wire format (virtio 1.0, 5.2): its configuration
// (capacity in 512-byte sectors), the 16-byte request header, and the status byte the device writes
// last. Pure; a status the spec does not define is reported as such, never taken for success.

public enum VirtioBlock {
    /// Request types.
    public static let read: UInt32 = 0, write: UInt32 = 1, flush: UInt32 = 4
    /// Feature bits the driver asks for: read-only (5), block size (6), flush (9).
    public static let featureReadOnly: UInt64 = 1 << 5, featureBlockSize: UInt64 = 1 << 6, featureFlush: UInt64 = 1 << 9
    public static let sectorSize = 512

    /// The capacity from the device configuration structure (le64 at offset 0), read as two halves
    /// under the configuration generation as the spec asks, at most `tries` times.
    public static func capacity<R: VirtioRegisters>(_ r: inout R, tries: Int = 4) -> UInt64? {
        for _ in 0..<tries {
            let before = r.read8(.common, VirtioCommon.configGeneration)
            let value = UInt64(r.read32(.device, 0)) | UInt64(r.read32(.device, 4)) << 32
            if r.read8(.common, VirtioCommon.configGeneration) == before { return value }
        }
        return nil
    }

    /// The request header: type, a reserved word, and the first sector.
    public static func header(type: UInt32, sector: UInt64) -> InlineArray<16, UInt8> {
        var h = InlineArray<16, UInt8>(repeating: 0)
        for i in 0..<4 { h[i] = UInt8(truncatingIfNeeded: type >> (8 * UInt32(i))) }
        for i in 0..<8 { h[8 + i] = UInt8(truncatingIfNeeded: sector >> (8 * UInt64(i))) }
        return h
    }

    public enum Status: Equatable, Sendable {
        case ok
        case ioError
        case unsupported
        /// A byte the spec does not define: the device is not to be believed.
        case nonsense(UInt8)
    }

    public static func status(_ byte: UInt8) -> Status {
        switch byte {
        case 0: return .ok
        case 1: return .ioError
        case 2: return .unsupported
        default: return .nonsense(byte)
        }
    }
}
