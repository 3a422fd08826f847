// CpioLookup.swift: finds files in dom0's initrd by name: one entry by its exact name, or every
// domain configuration (names ending in ".cfg"). Lookups only: it never copies or changes the archive.

extension CpioArchive {
    /// The entry whose name is exactly `name` (no "./" is stripped), or nil when there is none or
    /// the archive is malformed.
    public func entry(named name: UnsafeBufferPointer<UInt8>) -> CpioEntry? {
        guard let entries = entries() else { return nil }
        for entry in entries where sameBytes(entry.name, name) { return entry }
        return nil
    }

    public func entry(named name: [UInt8]) -> CpioEntry? {
        name.withUnsafeBufferPointer { entry(named: $0) }
    }

    /// Every entry whose name is at least one byte followed by ".cfg", in archive order; nil when the
    /// archive is malformed.
    public func configurationFiles() -> [CpioEntry]? {
        guard let entries = entries() else { return nil }
        var result: [CpioEntry] = []
        for entry in entries where isConfigurationName(entry.name) { result.append(entry) }
        return result
    }
}

private func isConfigurationName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
    let suffix: (UInt8, UInt8, UInt8, UInt8) = (46, 99, 102, 103)   // ".cfg"
    let n = name.count
    guard n > 4 else { return false }
    return name[n - 4] == suffix.0 && name[n - 3] == suffix.1 && name[n - 2] == suffix.2 && name[n - 1] == suffix.3
}

private func sameBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where a[i] != b[i] { return false }
    return true
}
