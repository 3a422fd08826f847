// DomainConfig.swift: dom0's reader of a domain configuration in a subset of xl.cfg (`key = value`
// lines, `#` comments, quoted strings, decimal integers, and one-line lists of quoted strings for vif
// and disk), answering a DomainConfig or the first error
// with its line. It works on bytes only and must never trap or read past its input, whatever the bytes.

/// What dom0 does when the domain crashes (xl.cfg's `on_crash`).
public enum CrashAction: UInt8, Equatable, Sendable {
    case destroy, preserve, restart
}

/// The keys a configuration may set, each at most once.
public enum ConfigKey: UInt8, Equatable, Sendable, CaseIterable {
    case name, kernel, memory, weight, cap, onCrash, autostart, extra, vif, disk, ramdisk
    /// Devices passed through to a driver domain (xl's ioports, iomem, irqs).
    case ioports, iomem, irqs
    /// How many vCPUs (xl's vcpus), 1...8.
    case vcpus

    /// The key as written in the file.
    public var spelling: StaticString {
        switch self {
        case .name: return "name"
        case .kernel: return "kernel"
        case .memory: return "memory"
        case .weight: return "weight"
        case .cap: return "cap"
        case .onCrash: return "on_crash"
        case .autostart: return "autostart"
        case .extra: return "extra"
        case .vif: return "vif"
        case .disk: return "disk"
        case .ramdisk: return "ramdisk"
        case .ioports: return "ioports"
        case .iomem: return "iomem"
        case .irqs: return "irqs"
        case .vcpus: return "vcpus"
        }
    }

    /// One sentence saying which values the key accepts.
    public var requirement: StaticString {
        switch self {
        case .name: return "name must be a quoted string of 1 to 31 letters, digits, '_', '.' or '-', such as name = \"web\"."
        case .kernel: return "kernel must be the quoted name of a file in dom0's initrd, without '/', such as kernel = \"domu.elf\"."
        case .memory: return "memory must be a whole number of MiB between 1 and 4096."
        case .weight: return "weight must be a whole number between 1 and 65535."
        case .cap: return "cap must be a whole percentage between 0 and 100 (0 means no cap)."
        case .onCrash: return "on_crash must be \"destroy\", \"preserve\" or \"restart\"."
        case .autostart: return "autostart must be 0, 1, \"yes\" or \"no\"."
        case .extra: return "extra must be a quoted command line of at most 1023 bytes."
        case .vif: return "vif must be a list of at most 4 quoted 'mac=00:16:3e:xx:xx:xx,bridge=NAME' entries, such as vif = [ 'mac=00:16:3e:00:00:01' ]."
        case .ramdisk: return "ramdisk must be the quoted name of a file in dom0's initrd, without '/', such as ramdisk = \"initrd.gz\"."
        case .ioports: return "ioports must be a list of at most 8 hexadecimal port ranges, such as ioports = [ '2f8-2ff', '3e8' ]."
        case .iomem: return "iomem must be a list of at most 8 hexadecimal 'first frame,pages' entries, such as iomem = [ 'febf0,4' ]."
        case .vcpus: return "vcpus must be a whole number of vCPUs between 1 and 8."
        case .irqs: return "irqs must be a list of at most 8 interrupt lines from 1 to 15, such as irqs = [ 10 ]."
        case .disk: return "disk must be a list of at most 4 quoted 'target,format,vdev,access' entries, such as disk = [ 'disk.img,raw,hda,w' ]."
        }
    }

    fileprivate var bit: UInt16 { 1 << UInt16(rawValue) }

    fileprivate static func named(_ bytes: UnsafeBufferPointer<UInt8>) -> ConfigKey? {
        for key in ConfigKey.allCases where key.spelling.withUTF8Buffer({ bytesEqual($0, bytes) }) { return key }
        return nil
    }
}

/// Why a configuration was refused, and on which line.
public struct ConfigError: Error, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// A line starts with something other than a key or a comment (e.g. `= 5`).
        case missingKey
        /// The key is not followed by '='.
        case missingEquals
        /// Nothing but blanks or a comment after '='.
        case missingValue
        /// A quoted string runs to the end of its line.
        case unterminatedQuote
        /// A quoted string holds a control byte (anything below 0x20 but tab, or 0x7F).
        case controlCharacter
        /// Something other than blanks or a comment follows the value.
        case garbageAfterValue
        case unknownKey
        case duplicateKey(ConfigKey)
        /// A string where a number belongs, a number where a string belongs, or an unquoted word.
        case wrongType(ConfigKey)
        /// A number outside the key's range, negative, or too large for 32 bits.
        case outOfRange(ConfigKey)
        /// The name is empty or longer than 31 bytes.
        case nameLength
        /// The name holds a byte other than [A-Za-z0-9_.-].
        case nameCharacters
        /// A string the key does not accept: on_crash or autostart words, a kernel with '/' or
        /// empty, an extra longer than 1023 bytes, a vif or disk entry that does not parse.
        /// A list that is not closed by ']', or holds something other than quoted strings and commas,
        /// is a wrong type.
        case invalid(ConfigKey)
        /// The file never sets a required key (name, kernel, memory); reported on line 0.
        case missingRequired(ConfigKey)
    }

    /// 1-based line of the error; 0 when it concerns the whole file (a required key is missing).
    public let line: Int
    public let kind: Kind

    public init(line: Int, _ kind: Kind) {
        self.line = line
        self.kind = kind
    }

    /// One sentence for the person who wrote the file, without the line number.
    public var reason: StaticString {
        switch kind {
        case .missingKey: return "each setting must start with a key such as memory, then '=' and a value."
        case .missingEquals: return "a key must be followed by '=' and a value, as in memory = 64."
        case .missingValue: return "the value after '=' is missing."
        case .unterminatedQuote: return "a quoted string is not closed before the end of the line."
        case .controlCharacter: return "a quoted string holds a control character; only printable text and tabs are allowed."
        case .garbageAfterValue: return "there is text after the value; only a '#' comment may follow it."
        case .unknownKey: return "the key is not one Apus knows: name, kernel, ramdisk, memory, vcpus, weight, cap, on_crash, autostart, extra, vif or disk."
        case .duplicateKey: return "this key is already set on an earlier line."
        case .wrongType(let key), .outOfRange(let key), .invalid(let key): return key.requirement
        case .nameLength: return "name must be 1 to 31 characters long."
        case .nameCharacters: return "name may only hold letters, digits, '_', '.' and '-'."
        case .missingRequired(.name): return "the configuration has no name line; name is required."
        case .missingRequired(.kernel): return "the configuration has no kernel line; kernel is required."
        case .missingRequired(.memory): return "the configuration has no memory line; memory is required."
        case .missingRequired: return "the configuration lacks a required key."
        }
    }

    /// The text to print: "line 3: " and the reason, or the reason alone on line 0.
    public var message: [UInt8] {
        var text: [UInt8] = []
        if line > 0 {
            text += [108, 105, 110, 101, 32]   // "line "
            text += decimal(line)
            text += [58, 32]                   // ": "
        }
        reason.withUTF8Buffer { text += $0 }
        return text
    }
}

/// An I/O port range given to a driver domain (xl's `ioports`).
public struct IOPortGrant: Equatable, Sendable {
    public let first: UInt16
    public let last: UInt16
    public init(first: UInt16, last: UInt16) { self.first = first; self.last = last }
}

/// Device-memory frames given to a driver domain (xl's `iomem`, without the @GFN a PV domain has no use for).
public struct IOMemGrant: Equatable, Sendable {
    public let firstFrame: UInt64
    public let pages: UInt64
    public init(firstFrame: UInt64, pages: UInt64) { self.firstFrame = firstFrame; self.pages = pages }
}

/// A domain's configuration, checked: every field within its documented range.
public struct DomainConfig: Equatable, Sendable {
    public static let maxNameLength = 31
    public static let maxExtraLength = 1023
    public static let memoryRange: ClosedRange<UInt32> = 1...4096

    /// 1...31 bytes of [A-Za-z0-9_.-].
    public var name: [UInt8]
    /// A file name inside dom0's initrd, without '/'.
    public var kernel: [UInt8]
    /// The domain's initrd (xl's `ramdisk`): a file name inside dom0's initrd, without '/'; empty when none.
    public var ramdisk: [UInt8]
    /// 1...4096.
    public var memoryMiB: UInt32
    /// Credit-scheduler weight, 1...65535 (default 256).
    public var weight: UInt16
    /// vCPUs, 1...8 (default 1): dom0's toolstack gives them with domctl max_vcpus before the first unpause.
    public var vcpus: UInt32 = 1
    public static let vcpuRange: ClosedRange<UInt32> = 1...8
    /// Percent of one CPU, 0...100; 0 means no cap (the default).
    public var cap: UInt8
    public var onCrash: CrashAction
    public var autostart: Bool
    /// The guest's command line, at most 1023 bytes, empty by default.
    public var extra: [UInt8]
    /// Network interfaces (device/vif/0, 1...) and disks, at most `maxDevices` each.
    public var vifs: [VifSpec]
    public var disks: [DiskSpec]
    public static let maxDevices = 4
    /// Driver-domain passthrough (dom0 passes them on with domctl *_permission, and maps each
    /// interrupt line as the domain's pirq, before it unpauses the domain); at most 8 entries each.
    public var ioports: [IOPortGrant] = []
    public var iomem: [IOMemGrant] = []
    public var irqs: [UInt8] = []
    public static let maxPassthrough = 8

    public init(name: [UInt8], kernel: [UInt8], memoryMiB: UInt32, weight: UInt16 = 256, cap: UInt8 = 0,
                onCrash: CrashAction = .destroy, autostart: Bool = false, extra: [UInt8] = [],
                vifs: [VifSpec] = [], disks: [DiskSpec] = [], ramdisk: [UInt8] = []) {
        self.name = name
        self.kernel = kernel
        self.ramdisk = ramdisk
        self.memoryMiB = memoryMiB
        self.weight = weight
        self.cap = cap
        self.onCrash = onCrash
        self.autostart = autostart
        self.extra = extra
        self.vifs = vifs
        self.disks = disks
    }

    /// Reads a whole file. Lines end in "\n" (a "\r" before it is dropped); the first error wins,
    /// and the required keys are checked only once every line has passed.
    public init(parsing text: UnsafeBufferPointer<UInt8>) throws(ConfigError) {
        var name: [UInt8]? = nil
        var kernel: [UInt8]? = nil
        var ramdisk: [UInt8] = []
        var memory: UInt32? = nil
        var weight: UInt16 = 256
        var vcpus: UInt32 = 1
        var cap: UInt8 = 0
        var onCrash = CrashAction.destroy
        var autostart = false
        var extra: [UInt8] = []
        var vifs: [VifSpec] = []
        var disks: [DiskSpec] = []
        var ioports: [IOPortGrant] = []
        var iomem: [IOMemGrant] = []
        var irqs: [UInt8] = []
        var seen: UInt16 = 0

        var line = 0
        var start = 0
        while start < text.count {
            line += 1
            var end = start
            while end < text.count && text[end] != 10 { end += 1 }
            let next = end + 1
            if end > start && text[end - 1] == 13 { end -= 1 }
            guard let setting = try ConfigLine.parse(text, start, end, line: line) else { start = next; continue }

            let key = setting.key
            if seen & key.bit != 0 { throw ConfigError(line: line, .duplicateKey(key)) }
            seen |= key.bit
            let value = setting.value
            switch key {
            case .name:
                let bytes = try value.string(key, text, line: line)
                for b in bytes where !isNameByte(b) { throw ConfigError(line: line, .nameCharacters) }
                guard bytes.count >= 1 && bytes.count <= DomainConfig.maxNameLength else { throw ConfigError(line: line, .nameLength) }
                name = bytes
            case .kernel:
                let bytes = try value.string(key, text, line: line)
                guard !bytes.isEmpty && !bytes.contains(47) else { throw ConfigError(line: line, .invalid(key)) }   // '/'
                kernel = bytes
            case .ramdisk:
                let bytes = try value.string(key, text, line: line)
                guard !bytes.isEmpty && !bytes.contains(47) else { throw ConfigError(line: line, .invalid(key)) }   // '/'
                ramdisk = bytes
            case .memory:
                memory = try value.number(key, in: DomainConfig.memoryRange, line: line)
            case .weight:
                weight = UInt16(try value.number(key, in: 1...65535, line: line))
            case .vcpus:
                vcpus = try value.number(key, in: DomainConfig.vcpuRange, line: line)
            case .cap:
                cap = UInt8(try value.number(key, in: 0...100, line: line))
            case .onCrash:
                let bytes = try value.string(key, text, line: line)
                if isWord(bytes, "destroy") { onCrash = .destroy }
                else if isWord(bytes, "preserve") { onCrash = .preserve }
                else if isWord(bytes, "restart") { onCrash = .restart }
                else { throw ConfigError(line: line, .invalid(key)) }
            case .autostart:
                if case .string = value {
                    let bytes = try value.string(key, text, line: line)
                    if isWord(bytes, "yes") { autostart = true }
                    else if isWord(bytes, "no") { autostart = false }
                    else { throw ConfigError(line: line, .invalid(key)) }
                } else {
                    autostart = try value.number(key, in: 0...1, line: line) == 1
                }
            case .extra:
                let bytes = try value.string(key, text, line: line)
                guard bytes.count <= DomainConfig.maxExtraLength else { throw ConfigError(line: line, .invalid(key)) }
                extra = bytes
            case .vif:
                let entries = try value.list(key, text, line: line)
                guard entries.count <= DomainConfig.maxDevices else { throw ConfigError(line: line, .invalid(key)) }
                for e in entries {
                    guard let v = VifSpec(e) else { throw ConfigError(line: line, .invalid(key)) }
                    vifs.append(v)
                }
            case .ioports, .iomem, .irqs:
                let entries = try value.list(key, text, line: line)
                guard entries.count <= DomainConfig.maxPassthrough else { throw ConfigError(line: line, .invalid(key)) }
                for e in entries {
                    switch key {
                    case .ioports:
                        guard let r = DomainConfig.portRange(e) else { throw ConfigError(line: line, .invalid(key)) }
                        ioports.append(r)
                    case .iomem:
                        guard let m = DomainConfig.memoryRange(e) else { throw ConfigError(line: line, .invalid(key)) }
                        iomem.append(m)
                    default:
                        guard let n = hexOrDecimal(e, hex: false), n >= 1, n <= 15 else { throw ConfigError(line: line, .invalid(key)) }
                        irqs.append(UInt8(n))
                    }
                }
            case .disk:
                let entries = try value.list(key, text, line: line)
                guard entries.count <= DomainConfig.maxDevices else { throw ConfigError(line: line, .invalid(key)) }
                for e in entries {
                    guard let d = DiskSpec(e), !disks.contains(where: { $0.number == d.number }) else {
                        throw ConfigError(line: line, .invalid(key))
                    }
                    disks.append(d)
                }
            }
            start = next
        }

        guard let name else { throw ConfigError(line: 0, .missingRequired(.name)) }
        guard let kernel else { throw ConfigError(line: 0, .missingRequired(.kernel)) }
        guard let memory else { throw ConfigError(line: 0, .missingRequired(.memory)) }
        self.init(name: name, kernel: kernel, memoryMiB: memory, weight: weight, cap: cap,
                  onCrash: onCrash, autostart: autostart, extra: extra, vifs: vifs, disks: disks, ramdisk: ramdisk)
        self.ioports = ioports
        self.iomem = iomem
        self.irqs = irqs
        self.vcpus = vcpus
    }

    /// "FROM" or "FROM-TO", hexadecimal (xl.cfg's ioports), FROM <= TO <= 0xffff.
    static func portRange(_ bytes: [UInt8]) -> IOPortGrant? {
        let parts = bytes.split(separator: 45, omittingEmptySubsequences: false)   // '-'
        guard parts.count <= 2, let first = hexOrDecimal(Array(parts[0]), hex: true), first <= 0xFFFF else { return nil }
        let last = parts.count == 2 ? hexOrDecimal(Array(parts[1]), hex: true) : first
        guard let last, last <= 0xFFFF, first <= last else { return nil }
        return IOPortGrant(first: UInt16(first), last: UInt16(last))
    }

    /// "FIRST_FRAME,PAGES", hexadecimal (xl.cfg's iomem), at least one page, not past frame 2^40.
    static func memoryRange(_ bytes: [UInt8]) -> IOMemGrant? {
        let parts = bytes.split(separator: 44, omittingEmptySubsequences: false)   // ','
        guard parts.count == 2, let first = hexOrDecimal(Array(parts[0]), hex: true),
              let pages = hexOrDecimal(Array(parts[1]), hex: true), pages >= 1,
              first < 1 << 40, pages <= (1 << 40) - first else { return nil }
        return IOMemGrant(firstFrame: first, pages: pages)
    }

    public init(parsing text: [UInt8]) throws(ConfigError) {
        self = try text.withUnsafeBufferPointer { buffer throws(ConfigError) in try DomainConfig(parsing: buffer) }
    }
}

// MARK: one line

/// A value as written, before its key decides what it must be.
private enum RawValue {
    /// The bytes between the quotes (indices into the file).
    case string(Range<Int>)
    /// Decimal digits; nil when the number does not fit 32 bits.
    case number(UInt32?)
    /// '-' and digits.
    case negative
    /// Unquoted text that is not a number, such as `destroy` or `-x`.
    case word
    /// `[ 'a', "b" ]`: the ranges between the quotes; nil when the list is malformed.
    case list([Range<Int>]?)

    func string(_ key: ConfigKey, _ text: UnsafeBufferPointer<UInt8>, line: Int) throws(ConfigError) -> [UInt8] {
        guard case .string(let range) = self else { throw ConfigError(line: line, .wrongType(key)) }
        return Array(UnsafeBufferPointer(rebasing: text[range]))
    }

    func number(_ key: ConfigKey, in range: ClosedRange<UInt32>, line: Int) throws(ConfigError) -> UInt32 {
        switch self {
        case .number(let n?) where range.contains(n): return n
        case .number, .negative: throw ConfigError(line: line, .outOfRange(key))
        case .string, .word, .list: throw ConfigError(line: line, .wrongType(key))
        }
    }

    func list(_ key: ConfigKey, _ text: UnsafeBufferPointer<UInt8>, line: Int) throws(ConfigError) -> [[UInt8]] {
        guard case .list(let ranges?) = self else { throw ConfigError(line: line, .wrongType(key)) }
        return ranges.map { Array(UnsafeBufferPointer(rebasing: text[$0])) }
    }
}

private struct ConfigLine {
    let key: ConfigKey
    let value: RawValue

    /// The setting on text[start..<end], nil for a blank or comment line. Checks the syntax of the
    /// whole line (key, '=', value, nothing after it) before it looks the key up.
    static func parse(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, line: Int) throws(ConfigError) -> ConfigLine? {
        var at = start
        func skipBlanks() { while at < end && isBlank(text[at]) { at += 1 } }

        skipBlanks()
        if at == end || text[at] == 35 { return nil }   // '#'
        let keyStart = at
        while at < end && isKeyByte(text[at]) { at += 1 }
        let keyRange = keyStart..<at
        guard !keyRange.isEmpty else { throw ConfigError(line: line, .missingKey) }
        skipBlanks()
        guard at < end && text[at] == 61 else { throw ConfigError(line: line, .missingEquals) }   // '='
        at += 1
        skipBlanks()
        guard at < end && text[at] != 35 else { throw ConfigError(line: line, .missingValue) }

        let value: RawValue
        let first = text[at]
        if first == 34 || first == 39 {   // '"' or '\''
            at += 1
            let contentStart = at
            while at < end && text[at] != first {
                let b = text[at]
                if (b < 32 && b != 9) || b == 127 { throw ConfigError(line: line, .controlCharacter) }
                at += 1
            }
            guard at < end else { throw ConfigError(line: line, .unterminatedQuote) }
            value = .string(contentStart..<at)
            at += 1
        } else if isDigit(first) {
            var n: UInt32? = 0
            while at < end && isDigit(text[at]) {
                if let m = n {
                    let (times10, o1) = m.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt32(text[at] - 48))
                    n = o1 || o2 ? nil : sum
                }
                at += 1
            }
            value = .number(n)
        } else if first == 91 {   // '['
            at += 1
            var ranges: [Range<Int>]? = []
            var expectEntry = true
            while true {
                skipBlanks()
                guard at < end else { ranges = nil; break }
                let b = text[at]
                if b == 93 { at += 1; break }   // ']'
                if b == 44 && !expectEntry { expectEntry = true; at += 1; continue }   // ','
                guard expectEntry else { ranges = nil; break }
                if b != 34 && b != 39 {
                    // An unquoted entry (xl writes irqs = [ 10, 11 ]): letters and digits only.
                    let tokenStart = at
                    while at < end && isKeyByte(text[at]) { at += 1 }
                    guard at > tokenStart else { ranges = nil; break }
                    ranges?.append(tokenStart..<at)
                    expectEntry = false
                    continue
                }
                at += 1
                let contentStart = at
                while at < end && text[at] != b {
                    let c = text[at]
                    if (c < 32 && c != 9) || c == 127 { throw ConfigError(line: line, .controlCharacter) }
                    at += 1
                }
                guard at < end else { throw ConfigError(line: line, .unterminatedQuote) }
                ranges?.append(contentStart..<at)
                at += 1
                expectEntry = false
            }
            if ranges == nil { at = end }
            value = .list(ranges)
        } else if first == 45 && at + 1 < end && isDigit(text[at + 1]) {   // '-'
            at += 1
            while at < end && isDigit(text[at]) { at += 1 }
            value = .negative
        } else {
            while at < end && !isBlank(text[at]) && text[at] != 35 { at += 1 }
            value = .word
        }

        skipBlanks()
        guard at == end || text[at] == 35 else { throw ConfigError(line: line, .garbageAfterValue) }
        guard let key = ConfigKey.named(UnsafeBufferPointer(rebasing: text[keyRange])) else {
            throw ConfigError(line: line, .unknownKey)
        }
        return ConfigLine(key: key, value: value)
    }
}

// MARK: bytes

private func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 }
private func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
private func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
private func isKeyByte(_ b: UInt8) -> Bool { isLetter(b) || isDigit(b) || b == 95 }
private func isNameByte(_ b: UInt8) -> Bool { isKeyByte(b) || b == 46 || b == 45 }   // also '.', '-'

private func bytesEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where a[i] != b[i] { return false }
    return true
}

/// Digits in base 16 (an optional "0x") or 10, at most 12 of them; nil for anything else.
private func hexOrDecimal(_ bytes: [UInt8], hex: Bool) -> UInt64? {
    var digits = bytes[...]
    if hex && digits.count > 2 && digits.first == 48 && (digits[digits.startIndex + 1] | 0x20) == 120 { digits = digits.dropFirst(2) }
    guard !digits.isEmpty, digits.count <= 12 else { return nil }
    var v: UInt64 = 0
    for b in digits {
        let d: UInt64
        if isDigit(b) { d = UInt64(b - 48) }
        else if hex && (b | 0x20) >= 97 && (b | 0x20) <= 102 { d = UInt64((b | 0x20) - 87) }
        else { return nil }
        v = v * (hex ? 16 : 10) + d
    }
    return v
}

private func isWord(_ bytes: [UInt8], _ word: StaticString) -> Bool {
    bytes.withUnsafeBufferPointer { b in word.withUTF8Buffer { bytesEqual($0, b) } }
}

private func decimal(_ value: Int) -> [UInt8] {
    var v = value
    var digits: [UInt8] = []
    repeat {
        digits.append(UInt8(48 + v % 10))
        v /= 10
    } while v > 0
    return digits.reversed()
}
