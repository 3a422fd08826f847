// PCIBars.swift: a type-0 function's base address registers and their sizes, found the standard way
// (decoding off, write all ones, read the mask back, restore). Pure over PCIConfigSpace: it restores
// every register it wrote and the command word, and never assigns addresses itself.

public enum PCIBar: Equatable, Sendable {
    case none
    case io(base: UInt32, size: UInt32)
    case memory(base: UInt64, size: UInt64, prefetchable: Bool)

    /// True when `[offset, offset + length)` lies inside a memory BAR.
    public func holds(offset: UInt32, length: UInt32) -> Bool {
        guard case .memory(_, let size, _) = self else { return false }
        return UInt64(offset) + UInt64(length) <= size
    }
}

public enum PCIBars {
    /// The six BARs of a type-0 header (the upper half of a 64-bit BAR reads as `.none`).
    public static func read<C: PCIConfigSpace>(_ a: PCIAddress, _ config: inout C) -> [PCIBar] {
        var bars = [PCIBar](repeating: .none, count: 6)
        let command = config.read32(a, PCIHeader.command)
        // Decoding off while the BARs hold all ones, so the function answers no stray address.
        config.write32(a, PCIHeader.command, command & ~UInt32(PCIHeader.commandIO | PCIHeader.commandMemory))
        var i = 0
        while i < 6 {
            let offset = PCIHeader.bar0 + UInt8(4 * i)
            let original = config.read32(a, offset)
            config.write32(a, offset, 0xFFFF_FFFF)
            let mask = config.read32(a, offset)
            config.write32(a, offset, original)
            if original & 1 == 1 {
                let sizeMask = mask & 0xFFFF_FFFC
                if sizeMask != 0 { bars[i] = .io(base: original & 0xFFFF_FFFC, size: ~sizeMask &+ 1 & 0xFFFF) }
                i += 1
                continue
            }
            let is64 = (original >> 1) & 3 == 2 && i < 5
            var base = UInt64(original & 0xFFFF_FFF0)
            var sizeMask = UInt64(mask & 0xFFFF_FFF0)
            if is64 {
                let high = PCIHeader.bar0 + UInt8(4 * (i + 1))
                let originalHigh = config.read32(a, high)
                config.write32(a, high, 0xFFFF_FFFF)
                let maskHigh = config.read32(a, high)
                config.write32(a, high, originalHigh)
                base |= UInt64(originalHigh) << 32
                sizeMask |= UInt64(maskHigh) << 32
            } else if sizeMask != 0 {
                sizeMask |= 0xFFFF_FFFF_0000_0000
            }
            if sizeMask != 0 { bars[i] = .memory(base: base, size: ~sizeMask &+ 1, prefetchable: original & 8 != 0) }
            i += is64 ? 2 : 1
        }
        config.write32(a, PCIHeader.command, command)
        return bars
    }
}
