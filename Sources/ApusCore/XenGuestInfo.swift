// Reads the legacy `__xen_guest` section ("GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,...") the way Xen's libelf does.
// Bounded by the section: it must never read past it, and a number that does not fit 32 bits is refused, never truncated.

/// The rules (Xen's, restated): pairs are separated by ",", the string ends at a NUL or at
/// the end of the section. A name is at most 31 bytes and a value at most 127: longer ones
/// are cut there and the rest is read as the next pair. Numbers are C `strtoull(..., 0)`:
/// "0x" hexadecimal, a leading "0" octal, otherwise decimal, up to the first other byte.
/// HYPERCALL_PAGE is a page number counted from VIRT_BASE (address = VIRT_BASE + n * 4096),
/// unlike the note, which is an address. PAE "yes[extended-cr3]" is kept as is, any other
/// value starting "yes" becomes "yes", anything else leaves PAE unset. BSD_SYMTAB with any
/// value asks for the symbol table. Unknown names are ignored.
enum XenGuestInfo {
    static let nameLimit = 31
    static let valueLimit = 127

    static func parse(_ bytes: UnsafeRawBufferPointer, into notes: inout XenGuestNotes) throws(BuildError) {
        notes.source = .guestInfo
        var hypercallPage: UInt64? = nil
        var at = 0
        func byte(_ k: Int) -> UInt8 { k < bytes.count ? bytes[k] : 0 }
        while byte(at) != 0 {
            var name: [UInt8] = []
            var value: [UInt8] = []
            while true {
                if name.count >= nameLimit { break }
                let c = byte(at)
                if c == 0 { break }
                at += 1
                if c == 0x2C { break }  // ","
                if c == 0x3D {  // "="
                    while value.count < valueLimit {
                        let v = byte(at)
                        if v == 0 { break }
                        at += 1
                        if v == 0x2C { break }
                        value.append(v)
                    }
                    break
                }
                name.append(c)
            }
            notes.count += 1
            if named(name, "LOADER") { notes.loader = value }
            if named(name, "GUEST_OS") { notes.guestOS = value }
            if named(name, "GUEST_VER") { notes.guestVersion = value }
            if named(name, "XEN_VER") { notes.xenVersion = value }
            if named(name, "PAE") {
                if XenNotes.equals(value, "yes[extended-cr3]") {
                    notes.paeMode = value
                } else if value.count >= 3, value[0] == 0x79, value[1] == 0x65, value[2] == 0x73 {
                    notes.paeMode = [0x79, 0x65, 0x73]
                }
            }
            if named(name, "BSD_SYMTAB") { notes.bsdSymtab = true }
            if named(name, "VIRT_BASE") {
                notes.virtBase = try fit(number(value))
                notes.virtBaseGiven = true
            }
            if named(name, "VIRT_ENTRY") { notes.entry = try fit(number(value)) }
            if named(name, "ELF_PADDR_OFFSET") {
                notes.paddrOffset = try fit(number(value))
                notes.paddrOffsetGiven = true
            }
            if named(name, "HYPERCALL_PAGE") { hypercallPage = number(value) }
            if named(name, "FEATURES") { XenNotes.parseFeatures(value, into: &notes) }
        }
        if let page = hypercallPage {
            // Page numbers past 2^20 cannot be addresses below 4 GiB; the sum stays in 64 bits.
            guard page < 1 << 20 else { throw .malformedGuestInfo }
            notes.hypercallPage = try fit(page << 12 + (notes.virtBaseGiven ? UInt64(notes.virtBase) : 0))
        }
        if notes.count == 0 { notes.count = 1 }  // an empty string still names the section: Xen then refuses its contents
    }

    static func named(_ name: [UInt8], _ text: StaticString) -> Bool { XenNotes.equals(name, text) }

    static func fit(_ value: UInt64) throws(BuildError) -> UInt32 {
        guard value <= UInt64(UInt32.max) else { throw .malformedGuestInfo }
        return UInt32(value)
    }

    /// C `strtoull(text, NULL, 0)` without its sign and blanks handling: saturates at
    /// UInt64.max on overflow, 0 when no digit.
    static func number(_ text: [UInt8]) -> UInt64 {
        var k = 0
        var base: UInt64 = 10
        if text.count >= 2, text[0] == 0x30, text[1] | 0x20 == 0x78 {  // "0x" / "0X"
            base = 16
            k = 2
        } else if text.count >= 1, text[0] == 0x30 {
            base = 8
        }
        var value: UInt64 = 0
        while k < text.count {
            let c = text[k]
            let digit: UInt64
            switch c {
            case 0x30...0x39: digit = UInt64(c - 0x30)
            case 0x61...0x66: digit = UInt64(c - 0x61 + 10)
            case 0x41...0x46: digit = UInt64(c - 0x41 + 10)
            default: return value
            }
            guard digit < base else { return value }
            let (times, overflow1) = value.multipliedReportingOverflow(by: base)
            let (sum, overflow2) = times.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return UInt64.max }
            value = sum
            k += 1
        }
        return value
    }
}
