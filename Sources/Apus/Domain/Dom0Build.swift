// Dom0Build.swift: the control domain from Multiboot module 1 (its kernel, the rest of the module
// string is its command line) and module 2 (its initrd), built like any domain by DomainBuild.
// A kernel the builder refuses is reported with the reason; nothing half-built is started.

import ApusCore
import PVABI

enum Dom0Build {
    static let defaultMemory: UInt64 = 64 << 20
    /// What the hypervisor keeps back from a dom0_mem that would take everything.
    static let keptBack: UInt64 = 16 << 20

    static func run(_ options: BootOptions) -> Domain? {
        guard Machine.modules.count >= 1 else {
            Log.info("dom0: no kernel module was loaded (module 1); nothing to run")
            return nil
        }
        let kernelModule = Machine.modules[0]
        guard let kernel = ModuleBytes.view(kernelModule) else {
            Log.info("dom0: module 1 could not be read")
            return nil
        }
        let initrd = Machine.modules.count >= 2 ? ModuleBytes.view(Machine.modules[1]) : nil
        let available = UInt64(Machine.frames.freeCount) << 12
        var bytes = options.dom0MemoryBytes ?? defaultMemory
        if bytes + keptBack > available { bytes = available > keptBack ? available - keptBack : available / 2 }
        Log.info("dom0: \(mib: bytes) requested, kernel \(kib: UInt64(kernel.count)), initrd \(kib: UInt64(initrd?.count ?? 0))")
        let request = DomainRequest(id: 0, privileged: true, image: kernel, memoryBytes: bytes,
                                    commandLine: ModuleBytes.commandLineAfterName(kernelModule), initrd: initrd,
                                    name: Array("Domain-0".utf8))
        let built = DomainBuild.build(request)
        // The builder copied them into dom0: a module above the direct map was staged in the heap.
        ModuleBytes.release(kernel, of: kernelModule)
        if let initrd { ModuleBytes.release(initrd, of: Machine.modules[1]) }
        switch built {
        case .failure: return nil
        case .success(let d):
            // The modules' frames go back to the pool now; count them as if they always had been.
            d.freeFramesBefore += releaseModules()
            return d
        }
    }

    /// The modules were copied into dom0: their frames go back to the free pool.
    static func releaseModules() -> UInt32 {
        var released: UInt32 = 0
        for m in Machine.modules {
            let range = MemorySetup.frameRange(m.range)
            for f in range.first..<range.end where Machine.frames.release(f, from: .bootModule) == .released { released += 1 }
        }
        Log.info("boot modules released: \(released) frames back to the free pool")
        return released
    }
}

/// A Multiboot module as bytes the builder can read.
enum ModuleBytes {
    static func view(_ m: BootModule) -> UnsafeRawBufferPointer? {
        guard UInt64(m.end) <= UInt64(AddressMap.directMapSize) else {
            // Above the direct map: copy it to the heap a frame at a time.
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(m.length), alignment: 16)
            var done: UInt32 = 0
            while done < m.length {
                let pa = UInt64(m.start + done)
                guard let window = Mapcache.map(frame: pa >> 12, writable: false) else { return nil }
                let offset = UInt32(pa & 0xFFF)
                let n = min(4096 - offset, m.length - done)
                buffer.advanced(by: Int(done)).copyMemory(from: UnsafeRawPointer(bitPattern: UInt(window + offset))!, byteCount: Int(n))
                Mapcache.unmap(window)
                done += n
            }
            return UnsafeRawBufferPointer(start: buffer, count: Int(m.length))
        }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(AddressMap.directMapStart + m.start)), count: Int(m.length))
    }

    /// Gives back the heap copy `view` made of a module above the direct map (nothing otherwise).
    static func release(_ bytes: UnsafeRawBufferPointer, of m: BootModule) {
        guard UInt64(m.end) > UInt64(AddressMap.directMapSize) else { return }
        bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0).deallocate() }
    }

    /// The module's string minus its first word (the file name GRUB was given): dom0's command line.
    static func commandLineAfterName(_ m: BootModule) -> [UInt8] {
        guard m.stringAddress != 0, let text = MultibootInfo.readString(at: m.stringAddress, maxLength: 1023, memory: Machine.memory) else { return [] }
        guard let space = text.firstIndex(of: 32) else { return [] }
        return Array(text[(space + 1)...])
    }
}
