// BootOptions.swift: the hypervisor command line GRUB passes (`apus.test=NAME dom0_mem=64M ...`).
// Pure byte parsing: unknown words are kept for the log, never trusted, never fatal.

/// The QEMU scenarios a test boot can ask for.
public enum TestScenario: UInt8, CaseIterable {
    case boot, exceptions, panic, dom0, memory, domains, hostile, churn, shell, bench
    /// make bench's whole-guest row on its own boot: Linux from dom0's request to its userspace.
    case benchLinux
    /// The fuzzing domain beside the clock domain (fuzz), and the same kernel as dom0 (fuzz-dom0).
    case fuzz, fuzzDom0
    /// Dom0 breaks the PV contract on purpose, one way per scenario; it must die alone.
    case crashNoHandler, crashBounce, crashReturn, crashShutdown
    /// Dom0 runs Xen's unmodified Mini-OS (plain, and with its test application).
    case minios, miniosTest, miniosBlk, miniosNet
    /// Dom0 boots an unmodified Linux 5.4 (i386 PAE PV) as a domU; from its shell, typed into on the
    /// serial line, with a shell on Linux's console (linux-shell); two at once beside the clock (linux-twice).
    case linux, linuxShell, linuxTwice
    /// Dom0 drives QEMU's virtio disk through DOMID_IO mappings and a pirq (issue #13).
    case devices
    /// The toolstack shell with the virtio disk and network card: lspci, ifconfig, ping, disk.
    case shellDevices
    /// make bench's device rows, with a virtio disk.
    case benchDevices
    /// Two netdemo domUs with GuestKit's blkfront and netfront, lwIP, DHCP and a TCP echo (issue #14).
    case netdemo
    /// The shell with loglvl=warning and console_to_ring, typed into with Ctrl-A x3 and debug keys.
    case debugKeys
    /// Dom0 checks what PV kernels rely on Xen doing: privileged instructions, debug registers, cpuid, vm_assist, Xen's interface versions.
    case conformance
    /// A domU with 4 vCPUs: bring-up, an IPI ring and per-vCPU CPU shares (issue #16).
    case smpGuest
    /// Linux with a vdisk and a vif beside a netdemo domU: disk, DHCP, ping and TCP both ways (issue #14).
    case linuxIO
    /// dom0's toolstack over HTTP, driven by a host-side client through hostfwd (issue #15).
    case http
    /// make bench's HTTP API rows: GET /v1/domains from 1 and 16 host clients, create through the API.
    case benchHttp

    public var name: StaticString {
        switch self {
        case .boot: return "boot"
        case .exceptions: return "exceptions"
        case .panic: return "panic"
        case .dom0: return "dom0"
        case .memory: return "memory"
        case .domains: return "domains"
        case .hostile: return "hostile"
        case .churn: return "churn"
        case .shell: return "shell"
        case .bench: return "bench"
        case .benchLinux: return "bench-linux"
        case .fuzz: return "fuzz"
        case .fuzzDom0: return "fuzz-dom0"
        case .crashNoHandler: return "crash-nohandler"
        case .crashBounce: return "crash-bounce"
        case .crashReturn: return "crash-return"
        case .crashShutdown: return "crash-shutdown"
        case .minios: return "minios"
        case .miniosTest: return "minios-test"
        case .miniosBlk: return "minios-blk"
        case .miniosNet: return "minios-net"
        case .linux: return "linux"
        case .linuxShell: return "linux-shell"
        case .linuxTwice: return "linux-twice"
        case .devices: return "devices"
        case .shellDevices: return "shell-devices"
        case .benchDevices: return "bench-devices"
        case .netdemo: return "netdemo"
        case .debugKeys: return "debugkeys"
        case .conformance: return "conformance"
        case .smpGuest: return "smp-guest"
        case .linuxIO: return "linux-io"
        case .http: return "http"
        case .benchHttp: return "bench-http"
        }
    }

    /// Scenarios the hypervisor runs by itself, before any domain exists.
    public var runsInHypervisor: Bool {
        switch self {
        case .boot, .exceptions, .panic: return true
        case .debugKeys: return false
        case .dom0, .memory, .domains, .hostile, .churn, .shell, .bench, .benchLinux, .fuzz, .fuzzDom0, .crashNoHandler, .crashBounce, .crashReturn, .crashShutdown, .minios, .miniosTest, .miniosBlk, .miniosNet, .linux, .linuxShell, .linuxTwice, .devices, .shellDevices, .benchDevices, .netdemo, .conformance, .linuxIO, .smpGuest: return false
        case .http: return false
        case .benchHttp: return false
        }
    }

    /// For scenarios where dom0 must be stopped by the hypervisor (or stop itself) with a crash.
    public var expectsGuestCrash: Bool {
        switch self {
        case .crashNoHandler, .crashBounce, .crashReturn, .crashShutdown: return true
        default: return false
        }
    }

    public init?<C: Collection>(name: C) where C.Element == UInt8 {
        for s in TestScenario.allCases where BootOptions.equal(name, s.name) { self = s; return }
        return nil
    }
}

public struct BootOptions {
    /// `apus.test=NAME`: nil for a normal boot.
    public var scenario: TestScenario? = nil
    /// The test name as given, when it names no scenario we know (reported, then the test fails).
    public var unknownScenario: [UInt8]? = nil
    /// `dom0_mem=`: bytes for dom0, nil for the default.
    public var dom0MemoryBytes: UInt64? = nil
    /// Words we did not understand, for the boot log.
    public var unknownWords: Int = 0
    /// `loglvl=`: the most detailed level of the hypervisor's own lines that reaches the serial line
    /// (Apus shows everything unless told otherwise; the ring keeps every line whatever the level).
    public var logLevel: LogLevel = .debug
    /// `guest_loglvl=`: the same for lines about a guest's doings (refusals, domU console text).
    public var guestLogLevel: LogLevel = .debug
    /// `console_to_ring`: domains' console text goes into the ring `dmesg` reads, too.
    public var consoleToRing = false
    /// `noreboot`: when dom0 asks for a reboot, halt instead (Xen's: stay to be looked at).
    public var noReboot = false

    public init() {}

    public static func parse(_ line: [UInt8]) -> BootOptions {
        var options = BootOptions()
        var i = 0
        while i < line.count {
            while i < line.count && line[i] == 32 { i += 1 }
            let start = i
            while i < line.count && line[i] != 32 { i += 1 }
            if i > start { options.take(Array(line[start..<i])) }
        }
        return options
    }

    private mutating func take(_ word: [UInt8]) {
        if let flag = BootOptions.boolean(word, "console_to_ring") { consoleToRing = flag; return }
        if let flag = BootOptions.boolean(word, "noreboot") { noReboot = flag; return }
        guard let eq = word.firstIndex(of: 61) else { unknownWords += 1; return }   // '='
        let key = word[..<eq]
        let value = Array(word[(eq + 1)...])
        if BootOptions.equal(key, "loglvl") || BootOptions.equal(key, "guest_loglvl") {
            guard let level = LogLevel(threshold: value) else { unknownWords += 1; return }
            if BootOptions.equal(key, "loglvl") { logLevel = level } else { guestLogLevel = level }
        } else if BootOptions.equal(key, "apus.test") {
            if let s = TestScenario(name: value) { scenario = s } else { unknownScenario = value }
        } else if BootOptions.equal(key, "dom0_mem") {
            dom0MemoryBytes = BootOptions.size(value)
        } else {
            unknownWords += 1
        }
    }

    /// A Xen boolean option NAME: `NAME`, `no-NAME`, or `NAME=` 1/0, yes/no, true/false, on/off;
    /// nil when the word is not about NAME (or its value is none of those).
    public static func boolean(_ word: [UInt8], _ name: StaticString) -> Bool? {
        if equal(word, name) { return true }
        if word.count > 3, word[0] == 110, word[1] == 111, word[2] == 45, equal(word[3...], name) { return false }  // "no-"
        guard let eq = word.firstIndex(of: 61), equal(word[..<eq], name) else { return nil }
        let value = word[(eq + 1)...]
        for yes: StaticString in ["1", "yes", "true", "on"] where equal(value, yes) { return true }
        for no: StaticString in ["0", "no", "false", "off"] where equal(value, no) { return false }
        return nil
    }

    /// "64M", "65536K", "1G" or plain bytes; nil for anything else.
    public static func size(_ text: [UInt8]) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        var i = 0
        while i < text.count, text[i] >= 48, text[i] <= 57 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(text[i] - 48))
            if o1 || o2 { return nil }
            value = a; digits += 1; i += 1
        }
        guard digits > 0 else { return nil }
        var shift: UInt64 = 0
        if i < text.count {
            switch text[i] {
            case 75, 107: shift = 10      // K k
            case 77, 109: shift = 20      // M m
            case 71, 103: shift = 30      // G g
            default: return nil
            }
            i += 1
        }
        guard i == text.count, value <= (UInt64.max >> shift) else { return nil }
        return value << shift
    }

    public static func equal<C: Collection>(_ bytes: C, _ text: StaticString) -> Bool where C.Element == UInt8 {
        text.withUTF8Buffer { t in
            guard bytes.count == t.count else { return false }
            var j = 0
            for b in bytes { if b != t[j] { return false }; j += 1 }
            return true
        }
    }
}

/// Xen's console log levels, from the most severe. A line is shown when its level is at or above
/// the threshold (`loglvl=warning` shows errors and warnings); `none` shows nothing.
public enum LogLevel: UInt8, CaseIterable, Comparable {
    case none, error, warning, info, debug

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var name: StaticString {
        switch self {
        case .none: return "none"
        case .error: return "error"
        case .warning: return "warning"
        case .info: return "info"
        case .debug: return "debug"
        }
    }

    /// A threshold as Xen writes it: a level name or `all` (= debug), optionally followed by
    /// `/LEVEL` (Xen's rate-limited threshold, which Apus does not have: it must still be a level).
    public init?<C: Collection>(threshold text: C) where C.Element == UInt8 {
        let bytes = Array(text)
        var head = bytes[...]
        if let slash = bytes.firstIndex(of: 47) {
            guard LogLevel(threshold: bytes[(slash + 1)...]) != nil, !bytes[(slash + 1)...].contains(47) else { return nil }
            head = bytes[..<slash]
        }
        if BootOptions.equal(head, "all") { self = .debug; return }
        for level in LogLevel.allCases where BootOptions.equal(head, level.name) { self = level; return }
        return nil
    }

    /// Whether a line of level `self` reaches a console whose threshold is `threshold`.
    public func shown(at threshold: LogLevel) -> Bool { self != .none && self <= threshold }
}
