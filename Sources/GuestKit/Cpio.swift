// Cpio.swift: reads a "newc" cpio archive (what the initrd is) in place: name, size and data
// of each entry, bounds-checked against the archive's length. It never trusts a header field.

public struct CpioEntry {
    public let name: UnsafeBufferPointer<UInt8>
    public let data: UnsafeBufferPointer<UInt8>
}

public struct CpioArchive {
    public let bytes: UnsafeBufferPointer<UInt8>
    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Every entry up to the trailer, or nil for a malformed archive.
    public func entries() -> [CpioEntry]? {
        var result: [CpioEntry] = []
        var at = 0
        while true {
            guard at + 110 <= bytes.count, magicOK(at) else { return nil }
            guard let fileSize = hex(at + 54), let nameSize = hex(at + 94), nameSize > 0 else { return nil }
            let nameStart = at + 110
            guard nameStart + nameSize <= bytes.count else { return nil }
            let name = UnsafeBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameSize - 1)])
            let dataStart = (nameStart + nameSize + 3) & ~3
            guard dataStart + fileSize <= bytes.count else { return nil }
            if isTrailer(name) { return result }
            result.append(CpioEntry(name: name, data: UnsafeBufferPointer(rebasing: bytes[dataStart..<(dataStart + fileSize)])))
            at = (dataStart + fileSize + 3) & ~3
        }
    }

    private func magicOK(_ at: Int) -> Bool {
        let m: [UInt8] = [48, 55, 48, 55, 48, 49]   // "070701"
        for i in 0..<6 where bytes[at + i] != m[i] { return false }
        return true
    }

    private func hex(_ at: Int) -> Int? {
        var v = 0
        for i in 0..<8 {
            let c = bytes[at + i]
            let d: Int
            switch c {
            case 48...57: d = Int(c) - 48
            case 65...70: d = Int(c) - 55
            case 97...102: d = Int(c) - 87
            default: return nil
            }
            v = v * 16 + d
        }
        return v
    }

    private func isTrailer(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let t: [UInt8] = Array("TRAILER!!!".utf8)
        return name.count == t.count && zip(name, t).allSatisfy { $0 == $1 }
    }
}
