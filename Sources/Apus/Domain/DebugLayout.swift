// DebugLayout.swift: the byte offsets of the Domain and VCPU fields that gdb's apus-* commands read
// (Scripts/apus.gdb), measured once from the first real domain when it joins Domains.all, so the
// commands stay right when Domain's stored properties change. Each offset is checked against the
// value the domain holds there; a failed check marks the table invalid and names the field, and gdb
// refuses to guess. It only reads the domain; it must never run on a hot path (once per boot).

import ApusCore

/// What gdb reads (in this order, 32-bit words). Offsets into a Domain object count from its start
/// (the object header included); `l3MFN`, `pdptEntries`, `pdptPhysical` and `vcpuSaved` are into the
/// VCPU object (each vCPU has its own address space: gdb reads the current vCPU's, `vcpu`).
public struct DomainFieldOffsets {
    /// DebugLayout.valid once every check passed, DebugLayout.invalid when one failed, 0 before.
    var magic: UInt32 = 0
    /// How many offset words follow `failedField` (gdb checks it knows them all).
    var words: UInt32 = 0
    /// 1-based index, among the offset words, of the first field whose check failed; 0: none.
    var failedField: UInt32 = 0
    var id: UInt32 = 0
    var privileged: UInt32 = 0
    var state: UInt32 = 0
    var sharedInfo: UInt32 = 0
    var l3MFN: UInt32 = 0
    var pdptEntries: UInt32 = 0
    var pdptPhysical: UInt32 = 0
    var vcpu: UInt32 = 0
    var name: UInt32 = 0
    var paused: UInt32 = 0
    var cpuTime: UInt32 = 0
    var eventPorts: UInt32 = 0
    var vcpuInfo: UInt32 = 0
    var vcpuSaved: UInt32 = 0
}

public enum DebugLayout {
    static let valid: UInt32 = 0x594C_5041       // "APLY"
    static let invalid: UInt32 = 0x2144_4142     // "BAD!"
    static let offsetWords: UInt32 = 14
    /// Public so that it stays in the image although no Swift code reads it (gdb does).
    public static var domain = DomainFieldOffsets()

    /// Fills `domain` from `d` (the first domain built; later calls return at once).
    static func measure(_ d: Domain) {
        guard domain.magic == 0 else { return }
        let object = UnsafeRawPointer(Unmanaged.passUnretained(d).toOpaque())
        let vcpuObject = UnsafeRawPointer(Unmanaged.passUnretained(d.vcpu).toOpaque())
        var t = DomainFieldOffsets()
        t.words = offsetWords
        var failed: UInt32 = 0
        func check(_ ok: Bool, _ field: UInt32) { if !ok && failed == 0 { failed = field } }
        func offset<T>(_ p: UnsafeMutablePointer<T>, in base: UnsafeRawPointer) -> UInt32 {
            let delta = UInt(bitPattern: p) &- UInt(bitPattern: base)
            return delta < 4096 ? UInt32(delta) : 0xFFFF_FFFF
        }
        func align(_ x: UInt32, _ a: Int) -> UInt32 { (x &+ UInt32(a) &- 1) & ~(UInt32(a) &- 1) }
        func load<T: Equatable>(_ at: UInt32, _ expected: T) -> Bool {
            at < 4096 && object.load(fromByteOffset: Int(at), as: T.self) == expected
        }
        let word = MemoryLayout<UInt>.size

        // Stored `var`s: their storage's own address.
        t.state = withUnsafeMutablePointer(to: &d.state) { offset($0, in: object) }
        t.sharedInfo = withUnsafeMutablePointer(to: &d.sharedInfo) { offset($0, in: object) }
        t.l3MFN = withUnsafeMutablePointer(to: &d.vcpu.l3MFN) { offset($0, in: vcpuObject) }
        t.pdptEntries = withUnsafeMutablePointer(to: &d.vcpu.hardwarePDPT) { offset($0, in: vcpuObject) }
        t.pdptPhysical = t.pdptEntries &+ UInt32(word)
        t.name = withUnsafeMutablePointer(to: &d.name) { offset($0, in: object) }
        t.paused = withUnsafeMutablePointer(to: &d.paused) { offset($0, in: object) }
        t.cpuTime = withUnsafeMutablePointer(to: &d.cpuTime) { offset($0, in: object) }
        t.eventPorts = withUnsafeMutablePointer(to: &d.eventPorts) { offset($0, in: object) }
        t.vcpuInfo = offset(d.vcpuInfoStorage(), in: object)
        t.vcpuSaved = withUnsafeMutablePointer(to: &d.vcpu.saved) { offset($0, in: vcpuObject) }
        let vmAssist = withUnsafeMutablePointer(to: &d.vmAssist) { offset($0, in: object) }

        // The `let`s have no address to take: each follows the field before it, at its alignment
        // (a class lays out its stored properties in declaration order, after a 2-word header), and
        // the next `var` must then sit where measured.
        t.id = align(UInt32(2 * word), MemoryLayout<UInt16>.alignment)
        t.privileged = t.id + UInt32(MemoryLayout<UInt16>.size)
        t.vcpu = align(withUnsafeMutablePointer(to: &d.sharedInfoMFN) { offset($0, in: object) } &+ 4, MemoryLayout<VCPU>.alignment)

        // Every offset against the value the domain holds there (fields numbered as gdb reads them).
        check(load(t.id, d.id), 1)
        check(load(t.privileged, UInt8(d.privileged ? 1 : 0)), 2)
        check(align(t.privileged &+ 1, MemoryLayout<DomainState>.alignment) == t.state, 3)
        check(load(t.sharedInfo, UInt(bitPattern: d.sharedInfo)), 4)
        func loadVCPU<T: Equatable>(_ at: UInt32, _ expected: T) -> Bool {
            at < 4096 && vcpuObject.load(fromByteOffset: Int(at), as: T.self) == expected
        }
        check(loadVCPU(t.l3MFN, d.vcpu.l3MFN), 5)
        check(loadVCPU(t.pdptEntries, UInt(bitPattern: d.vcpu.hardwarePDPT.entries)), 6)
        check(loadVCPU(t.pdptPhysical, d.vcpu.hardwarePDPTPhysical), 7)
        check(load(t.vcpu, UInt(bitPattern: vcpuObject)) && align(t.vcpu &+ UInt32(word), 4) == vmAssist, 8)
        check(load(t.name, d.name[0]), 9)
        check(load(t.paused, UInt8(d.paused ? 1 : 0)), 10)
        check(load(t.cpuTime, d.cpuTime), 11)
        check(load(t.eventPorts &+ 4, d.eventPorts.count) && load(t.eventPorts &+ 8, d.eventPorts.limit), 12)
        check(load(t.vcpuInfo, UInt(bitPattern: d.vcpuInfo)), 13)
        check(t.vcpuSaved < 4096 && vcpuObject.load(fromByteOffset: Int(t.vcpuSaved) + 14 * 4, as: UInt32.self) == d.vcpu.saved.eip, 14)
        t.failedField = failed
        t.magic = failed == 0 ? valid : invalid
        domain = t
        if failed != 0 { Log.info("debug layout: Domain field \(failed) is not where DebugLayout.swift expects it; gdb's apus-* commands refuse") }
    }
}
