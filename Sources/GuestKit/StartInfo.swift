// StartInfo.swift: a read-only view of the start_info page the domain builder leaves for the
// guest (ESI at entry), by the offsets in PVABI. It never writes to the page.

import PVABI

public struct StartInfoView {
    public let base: UnsafeRawPointer
    public init(_ address: UInt32) { base = UnsafeRawPointer(bitPattern: UInt(address))! }

    private func u32(_ offset: Int) -> UInt32 { base.load(fromByteOffset: offset, as: UInt32.self) }

    public var nrPages: UInt32 { u32(StartInfoLayout.nrPages) }
    public var sharedInfoMachineAddress: UInt32 { u32(StartInfoLayout.sharedInfo) }
    public var flags: UInt32 { u32(StartInfoLayout.flags) }
    public var storeMFN: UInt32 { u32(StartInfoLayout.storeMFN) }
    public var storeEvtchn: UInt32 { u32(StartInfoLayout.storeEvtchn) }
    public var consoleMFN: UInt32 { u32(StartInfoLayout.consoleMFN) }
    public var consoleEvtchn: UInt32 { u32(StartInfoLayout.consoleEvtchn) }
    public var ptBase: UInt32 { u32(StartInfoLayout.ptBase) }
    public var nrPtFrames: UInt32 { u32(StartInfoLayout.nrPtFrames) }
    public var mfnList: UInt32 { u32(StartInfoLayout.mfnList) }
    public var modStart: UInt32 { u32(StartInfoLayout.modStart) }
    public var modLen: UInt32 { u32(StartInfoLayout.modLen) }
    public var isPrivileged: Bool { flags & StartInfoFlags.privileged != 0 }
    public var isInitialDomain: Bool { flags & StartInfoFlags.initDomain != 0 }

    /// The magic string, up to its NUL (at most 32 bytes).
    public var magic: UnsafeBufferPointer<UInt8> { cString(at: StartInfoLayout.magic, max: 32) }
    public var commandLine: UnsafeBufferPointer<UInt8> { cString(at: StartInfoLayout.cmdLine, max: 1024) }

    public func magicIs(_ text: StaticString) -> Bool {
        let m = magic
        return text.withUTF8Buffer { t in t.count == m.count && zip(t, m).allSatisfy { $0 == $1 } }
    }

    private func cString(at offset: Int, max: Int) -> UnsafeBufferPointer<UInt8> {
        let p = base.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
        var n = 0
        while n < max && p[n] != 0 { n += 1 }
        return UnsafeBufferPointer(start: p, count: n)
    }

    /// The machine frame behind a pseudo-physical frame, from the P2M list (mfn_list).
    public func machineFrame(ofPFN pfn: UInt32) -> UInt32 {
        UnsafePointer<UInt32>(bitPattern: UInt(mfnList))![Int(pfn)]
    }
}
