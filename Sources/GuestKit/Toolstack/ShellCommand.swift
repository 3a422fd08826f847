// ShellCommand.swift: decodes one line typed at dom0's toolstack shell into a command, or into the
// reason it is not one. Decoding only: it never acts on a domain, and it never traps on any bytes.

/// The commands the shell knows.
public enum ShellVerb: UInt8, Equatable, Sendable, CaseIterable {
    case list, create, destroy, pause, unpause, info, top, dmesg, help, shutdown, reboot, console, store
    /// dom0's devices (issue #13): the PCI functions, the network interface, ping, the virtio disk.
    case lspci, ifconfig, ping, disk
    /// The split drivers (issue #14): dom0's bridge, its ports and the vifs on it.
    case net

    public var spelling: StaticString {
        switch self {
        case .list: return "list"
        case .create: return "create"
        case .destroy: return "destroy"
        case .pause: return "pause"
        case .unpause: return "unpause"
        case .info: return "info"
        case .top: return "top"
        case .dmesg: return "dmesg"
        case .help: return "help"
        case .shutdown: return "shutdown"
        case .reboot: return "reboot"
        case .console: return "console"
        case .store: return "store"
        case .lspci: return "lspci"
        case .ifconfig: return "ifconfig"
        case .ping: return "ping"
        case .disk: return "disk"
        case .net: return "net"
        }
    }
}

/// How a command names a domain: all digits that fit 16 bits are an id, anything else a name.
public enum DomainReference: Equatable, Sendable {
    case id(UInt16)
    case name([UInt8])

    public init(_ word: UnsafeBufferPointer<UInt8>) {
        var value: UInt32 = 0
        for b in word {
            guard b >= 48 && b <= 57 && value <= 0xFFFF else { value = 0x1_0000; break }
            value = value * 10 + UInt32(b - 48)
        }
        self = !word.isEmpty && value <= 0xFFFF ? .id(UInt16(value)) : .name(Array(word))
    }

    public init(_ word: [UInt8]) {
        self = word.withUnsafeBufferPointer { DomainReference($0) }
    }
}

public enum ShellCommand: Equatable, Sendable {
    /// A blank line: print the prompt again.
    case empty
    case list
    /// `list -l`: every domain's configuration as JSON, as xl prints it.
    case listLong
    /// `create <file>`: the name of a .cfg file in dom0's initrd.
    case create(file: [UInt8])
    case destroy(DomainReference)
    case pause(DomainReference)
    case unpause(DomainReference)
    case info(DomainReference)
    case top
    case dmesg
    case help
    /// `shutdown <domain>` and `reboot <domain>`: ask the guest through control/shutdown and wait.
    case shutdown(DomainReference)
    case reboot(DomainReference)
    /// `console <domain>`: typed bytes go to its console ring until Ctrl-].
    case console(DomainReference)
    /// `store ls [path]`, `store read <path>`, `store write <path> <value...>`, `store rm <path>`.
    case store(StoreVerb)
    case lspci
    case ifconfig
    /// `net`: the bridge's ports (the card, dom0, each vif) with their frame counts.
    case net
    /// `ping <a.b.c.d>`: the address as lwIP keeps it (first octet in the low byte).
    case ping(UInt32)
    /// `disk` (what the virtio disk is) or `disk read <sector>`.
    case disk(read: UInt64?)
    /// The first word is no command the shell knows (the word as typed).
    case unknown([UInt8])
    /// A known command with the wrong arguments, and a sentence saying what it needs.
    case usage(ShellVerb, reason: StaticString)

    /// Decodes a line without its terminator. Words are split on spaces and tabs (a stray '\r' or
    /// '\n' counts as a blank too); commands are lower case.
    public init(parsing line: UnsafeBufferPointer<UInt8>) {
        var words: [UnsafeBufferPointer<UInt8>] = []
        var at = 0
        while at < line.count {
            while at < line.count && isBlank(line[at]) { at += 1 }
            let start = at
            while at < line.count && !isBlank(line[at]) { at += 1 }
            if at > start { words.append(UnsafeBufferPointer(rebasing: line[start..<at])) }
        }
        guard let first = words.first else { self = .empty; return }
        guard let verb = ShellVerb.allCases.first(where: { v in v.spelling.withUTF8Buffer { equal($0, first) } }) else {
            self = .unknown(Array(first))
            return
        }
        let arguments = words.count - 1
        switch verb {
        case .list where arguments == 1 && equal(words[1], "-l"):
            self = .listLong
        case .list, .top, .dmesg, .help, .lspci, .ifconfig, .net:
            guard arguments == 0 else { self = .usage(verb, reason: ShellCommand.noArguments(verb)); return }
            switch verb {
            case .list: self = .list
            case .top: self = .top
            case .dmesg: self = .dmesg
            case .lspci: self = .lspci
            case .ifconfig: self = .ifconfig
            case .net: self = .net
            default: self = .help
            }
        case .ping:
            guard arguments == 1, let address = ShellCommand.ipv4(words[1]) else {
                self = .usage(.ping, reason: "ping needs one IPv4 address, such as ping 10.0.2.2.")
                return
            }
            self = .ping(address)
        case .disk:
            if arguments == 0 { self = .disk(read: nil); return }
            guard arguments == 2, equal(words[1], "read"), let sector = ShellCommand.decimal(words[2]) else {
                self = .usage(.disk, reason: "disk takes nothing, or read and a sector number.")
                return
            }
            self = .disk(read: sector)
        case .create:
            guard arguments == 1 else {
                self = .usage(.create, reason: arguments == 0
                    ? "create needs the name of a .cfg file in dom0's initrd, such as create web.cfg."
                    : "create takes exactly one file name.")
                return
            }
            self = .create(file: Array(words[1]))
        case .store:
            self = ShellCommand.store(words)
        case .destroy, .pause, .unpause, .info, .shutdown, .reboot, .console:
            guard arguments == 1 else {
                self = .usage(verb, reason: arguments == 0 ? ShellCommand.needsDomain(verb) : ShellCommand.oneDomain(verb))
                return
            }
            let domain = DomainReference(words[1])
            switch verb {
            case .destroy: self = .destroy(domain)
            case .pause: self = .pause(domain)
            case .unpause: self = .unpause(domain)
            case .shutdown: self = .shutdown(domain)
            case .reboot: self = .reboot(domain)
            case .console: self = .console(domain)
            default: self = .info(domain)
            }
        }
    }

    public init(parsing line: [UInt8]) {
        self = line.withUnsafeBufferPointer { ShellCommand(parsing: $0) }
    }

    /// StaticString is not Equatable; two reasons are equal when their text is.
    public static func == (a: ShellCommand, b: ShellCommand) -> Bool {
        switch (a, b) {
        case (.empty, .empty), (.list, .list), (.listLong, .listLong), (.top, .top), (.dmesg, .dmesg), (.help, .help),
             (.lspci, .lspci), (.ifconfig, .ifconfig), (.net, .net): return true
        case (.ping(let x), .ping(let y)): return x == y
        case (.disk(let x), .disk(let y)): return x == y
        case (.create(let x), .create(let y)): return x == y
        case (.destroy(let x), .destroy(let y)), (.pause(let x), .pause(let y)),
             (.unpause(let x), .unpause(let y)), (.info(let x), .info(let y)),
             (.shutdown(let x), .shutdown(let y)), (.reboot(let x), .reboot(let y)), (.console(let x), .console(let y)):
            return x == y
        case (.store(let x), .store(let y)): return x == y
        case (.unknown(let x), .unknown(let y)): return x == y
        case (.usage(let v, let r), .usage(let w, let s)):
            return v == w && r.withUTF8Buffer { x in s.withUTF8Buffer { y in equal(x, y) } }
        default: return false
        }
    }

    private static let storeUsage: StaticString = "store needs ls [path], read <path>, write <path> <value> or rm <path>."

    private static func store(_ words: [UnsafeBufferPointer<UInt8>]) -> ShellCommand {
        guard words.count >= 2 else { return .usage(.store, reason: storeUsage) }
        let sub = words[1]
        let paths = words.count - 2
        if equal(sub, "ls") {
            guard paths <= 1 else { return .usage(.store, reason: "store ls takes at most one path.") }
            return .store(.list(paths == 1 ? Array(words[2]) : [0x2F]))
        }
        if equal(sub, "read") {
            guard paths == 1 else { return .usage(.store, reason: "store read takes exactly one path.") }
            return .store(.read(Array(words[2])))
        }
        if equal(sub, "rm") {
            guard paths == 1 else { return .usage(.store, reason: "store rm takes exactly one path.") }
            return .store(.remove(Array(words[2])))
        }
        if equal(sub, "write") {
            guard paths >= 1 else { return .usage(.store, reason: "store write needs a path and a value.") }
            var value: [UInt8] = []
            for (i, w) in words.dropFirst(3).enumerated() {
                if i > 0 { value.append(32) }
                value += Array(w)
            }
            return .store(.write(Array(words[2]), value))
        }
        return .usage(.store, reason: storeUsage)
    }

    /// A dotted-quad IPv4 address (four decimal octets, no leading sign), first octet in the low byte.
    public static func ipv4(_ word: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var address: UInt32 = 0, octet: UInt32 = 0, digits = 0, octets = 0
        for b in word {
            if b == 46 {
                guard digits > 0, octets < 3 else { return nil }
                address |= octet << (8 * UInt32(octets))
                octets += 1
                octet = 0
                digits = 0
                continue
            }
            guard b >= 48 && b <= 57, digits < 3 else { return nil }
            octet = octet * 10 + UInt32(b - 48)
            digits += 1
            guard octet <= 255 else { return nil }
        }
        guard digits > 0, octets == 3 else { return nil }
        return address | octet << 24
    }

    /// A decimal number of at most 18 digits.
    static func decimal(_ word: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !word.isEmpty, word.count <= 18 else { return nil }
        var v: UInt64 = 0
        for b in word {
            guard b >= 48 && b <= 57 else { return nil }
            v = v * 10 + UInt64(b - 48)
        }
        return v
    }

    private static func noArguments(_ verb: ShellVerb) -> StaticString {
        switch verb {
        case .lspci: return "lspci takes no arguments."
        case .ifconfig: return "ifconfig takes no arguments."
        case .net: return "net takes no arguments."
        case .list: return "list takes no arguments, or -l."
        case .top: return "top takes no arguments."
        case .dmesg: return "dmesg takes no arguments."
        default: return "help takes no arguments."
        }
    }

    private static func needsDomain(_ verb: ShellVerb) -> StaticString {
        switch verb {
        case .destroy: return "destroy needs a domain id or name."
        case .pause: return "pause needs a domain id or name."
        case .unpause: return "unpause needs a domain id or name."
        case .shutdown: return "shutdown needs a domain id or name."
        case .reboot: return "reboot needs a domain id or name."
        case .console: return "console needs a domain id or name."
        default: return "info needs a domain id or name."
        }
    }

    private static func oneDomain(_ verb: ShellVerb) -> StaticString {
        switch verb {
        case .destroy: return "destroy takes exactly one domain id or name."
        case .pause: return "pause takes exactly one domain id or name."
        case .unpause: return "unpause takes exactly one domain id or name."
        case .shutdown: return "shutdown takes exactly one domain id or name."
        case .reboot: return "reboot takes exactly one domain id or name."
        case .console: return "console takes exactly one domain id or name."
        default: return "info takes exactly one domain id or name."
        }
    }
}

/// What `store` does; paths as typed (relative ones are dom0's, under /local/domain/0).
public enum StoreVerb: Equatable, Sendable {
    case list([UInt8])
    case read([UInt8])
    /// The value is the rest of the line, words joined by one space (may be empty).
    case write([UInt8], [UInt8])
    case remove([UInt8])
}

private func equal(_ a: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
    word.withUTF8Buffer { equal($0, a) }
}

private func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 || b == 10 }

private func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where a[i] != b[i] { return false }
    return true
}
