// Shell.swift: dom0's toolstack shell on its console: input through console_io read when
// VIRQ_CONSOLE fires, line editing, and the commands list, create, destroy, pause, unpause, info,
// top, dmesg, shutdown, reboot, console, store and help (xl's verbs). Stopped domains are reaped as
// VIRQ_DOM_EXC arrives, following their config's on_crash (and restarted after a reboot); the
// domains' rings are serviced as their events arrive. Errors are sentences; nothing typed can crash dom0.

import ApusCore
import GuestKit
import PVABI

enum Shell {
    static var consolePort: UInt32 = 0
    static var inputSignals: UInt32 = 0
    static var editor = LineEditor()
    static var configs: [(id: UInt16, config: DomainConfig)] = []
    static var lastTop: [(id: UInt16, cpu: UInt64)] = []
    static var lastTopTime: UInt64 = 0
    /// A scenario's last checks when the shell is told to power off (LinuxShellTest); false powers
    /// dom0 off with reason crash. A plain shell has none.
    static var atPoweroff: () -> Bool = { true }

    static func run() -> Never {
        Reaper.start()
        let p = GuestEvents.bindVirq(Virq.console)
        if p > 0 { consolePort = UInt32(p) }
        let previous = GuestEvents.handler
        GuestEvents.handler = { port in
            if port == Shell.consolePort { Shell.inputSignals &+= 1 } else { previous(port) }
        }
        GuestEvents.enable()
        // The machine's virtio disk and network card, when QEMU has them (make run gives both).
        _ = Devices.attachDisk()
        _ = Devices.attachNetwork()
        autostart()
        console.print("toolstack shell ready; type 'help'")
        prompt()
        var seenSignals: UInt32 = 0
        var seenInput: UInt32 = 0
        while true {
            // With a network, lwIP's timers need a turn now and then: a 100 ms timer wakes the loop.
            let timer = Dom0Events.timerFired
            if NetStack.started {
                Dom0Events.bindTimer()
                _ = GuestTime.setTimer(GuestTime.now() + 100_000_000)
            }
            GuestEvents.wait {
                Reaper.signals != seenSignals || Shell.inputSignals != seenInput || DomainIO.isSignalled || pendingInput()
                    || (NetStack.nic?.hasWork ?? false) || Dom0Events.timerFired != timer
            }
            NetStack.poll()
            if NetStack.started && !NetStack.leaseShown && NetStack.hasLease { NetStack.printInterface() }
            DomainIO.serviceIfSignalled()
            // A stop (VIRQ_DOM_EXC) is seen here before the reaper destroys the domain.
            Lifecycle.observe()
            if Reaper.signals != seenSignals {
                seenSignals = Reaper.signals
                if reapAndReport() > 0 { prompt() }
            }
            seenInput = inputSignals
            readInput()
        }
    }

    static var buffered: [UInt8] = []
    static func pendingInput() -> Bool {
        var b = [UInt8](repeating: 0, count: 64)
        let n = b.withUnsafeMutableBufferPointer { xen.consoleRead(UInt32(UInt(bitPattern: $0.baseAddress)), 64) }
        if n > 0 { buffered.append(contentsOf: b[0..<Int(n)]) }
        return !buffered.isEmpty
    }

    static func readInput() {
        _ = pendingInput()
        var bytes = buffered
        buffered = []
        if let id = DomainIO.attached {
            // Attached: everything up to Ctrl-] goes to the domain's console ring.
            if let stop = bytes.firstIndex(of: ShellPower.detachByte) {
                DomainIO.type(Array(bytes[0..<stop]), to: id)
                DomainIO.attached = nil
                console.print("detached from d\(id)'s console")
                prompt()
                bytes = Array(bytes[(stop + 1)...])
            } else {
                DomainIO.type(bytes, to: id)
                return
            }
        }
        for (i, b) in bytes.enumerated() {
            if DomainIO.attached != nil {
                buffered = Array(bytes[i...])
                return
            }
            switch editor.feed(b) {
            case .appended(let c): write([c])
            case .erased: write([8, 32, 8])
            case .line(let line):
                write([10])
                execute(line)
                if DomainIO.attached == nil { prompt() }
            case .ignored: break
            }
        }
    }

    static func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { xen.consoleWrite(UInt32(UInt(bitPattern: $0.baseAddress)), UInt32($0.count)) }
    }

    static func prompt() { write(Array("apus# ".utf8)) }

    /// Starts every configuration in the initrd marked autostart.
    static func autostart() {
        guard let files = Toolstack.initrd.configurationFiles() else { return }
        for file in files {
            guard let config = try? DomainConfig(parsing: file.data), config.autostart else { continue }
            start(config)
        }
    }

    @discardableResult
    static func start(_ config: DomainConfig) -> Int32 {
        let id = Toolstack.create(config)
        config.name.withUnsafeBufferPointer { n in
            if id > 0 { console.print("created d\(id) (\(text: n)), \(config.memoryMiB) MiB, weight \(UInt32(config.weight))") }
            else { console.print("could not create \(text: n): the hypervisor answered \(id)") }
        }
        if id > 0 { configs.append((UInt16(id), config)) }
        return id
    }

    @discardableResult
    static func reapAndReport() -> Int {
        var reported = 0
        for info in Toolstack.all() where info.id != 0 && info.isShutdown {
            reported += 1
            let config = configs.first { $0.id == info.id }?.config
            let crashed = info.shutdownReason == ShutdownReason.crash.rawValue
            let rebooted = info.shutdownReason == ShutdownReason.reboot.rawValue
            info.name.withUnsafeBufferPointer { n in
                console.print("d\(info.id) (\(text: n)) shut down: \(Reaper.reasonName(info.shutdownReason))")
            }
            if crashed && config?.onCrash == .preserve { continue }
            _ = Toolstack.destroy(info.id)
            configs.removeAll { $0.id == info.id }
            if crashed, let config, config.onCrash == .restart {
                console.print("on_crash = restart: starting it again")
                start(config)
            }
            if rebooted, let config {
                console.print("rebooting: starting it again from its configuration")
                start(config)
            }
        }
        return reported
    }

    static func resolve(_ ref: DomainReference) -> UInt16? {
        switch ref {
        case .id(let id): return Toolstack.info(id) != nil ? id : nil
        case .name(let name): return Toolstack.all().first { $0.name == name }?.id
        }
    }

    static func execute(_ line: [UInt8]) {
        let command = ShellCommand(parsing: line)
        switch command {
        case .empty: break
        case .help:
            console.print("commands: list [-l] | create <file.cfg> | destroy <id|name> | pause <id|name> | unpause <id|name>")
            console.print("          info <id|name> | top | dmesg | help | poweroff")
            console.print("          shutdown <id|name> | reboot <id|name> | console <id|name> (Ctrl-] detaches)")
            console.print("          store ls [path] | store read <path> | store write <path> <value> | store rm <path>")
            console.print("          lspci | ifconfig | ping <a.b.c.d> | disk | disk read <sector> | net")
            if let files = Toolstack.initrd.configurationFiles() {
                // Wrapped at 100 columns: a LogLine holds 200 bytes, and the initrd's list grows.
                var names = LogLine("configurations in the initrd:")
                for f in files {
                    if names.count + 1 + f.name.count > 100 { console.print(names); names = LogLine("  ") }
                    names.append(byte: 32); for b in f.name { names.append(byte: b) }
                }
                console.print(names)
            }
        case .list:
            say(XlFormat.listHeader)
            for i in Toolstack.all() { say(XlFormat.listRow(row(i))) }
        case .listLong:
            let all = Toolstack.all().map { i in
                DomainDescription(id: i.id, name: i.name, memoryKiB: UInt64(i.pages) << 2, weight: i.weight, cap: i.cap,
                                  config: configs.first { $0.id == i.id }?.config)
            }
            for line in XlJSON.list(all) { say(line) }
        case .create(let file):
            guard let config = Toolstack.config(named: file) else { return }
            start(config)
        case .destroy(let ref):
            guard let id = resolveOrSay(ref) else { return }
            guard id != 0 else { console.print("dom0 cannot destroy itself; power off instead"); return }
            let rc = Toolstack.destroy(id)
            configs.removeAll { $0.id == id }
            console.print(rc == 0 ? "destroyed d\(id)" : "destroying d\(id) failed: \(rc)")
        case .pause(let ref):
            guard let id = resolveOrSay(ref) else { return }
            guard id != 0 else { console.print("dom0 cannot pause itself"); return }
            let rc = Toolstack.pause(id)
            console.print(rc == 0 ? "paused d\(id)" : "pausing d\(id) failed: \(rc)")
        case .unpause(let ref):
            guard let id = resolveOrSay(ref) else { return }
            let rc = Toolstack.unpause(id)
            console.print(rc == 0 ? "unpaused d\(id)" : "unpausing d\(id) failed: \(rc)")
        case .info(let ref):
            guard let id = resolveOrSay(ref), let i = Toolstack.info(id) else { return }
            say(XlFormat.listHeader)
            say(XlFormat.listRow(row(i)))
            console.print("    \(state(i)), pages \(i.pages), weight \(UInt32(i.weight)), cap \(UInt32(i.cap)), events sent \(i.eventsSent), received \(i.eventsReceived), flags \(hex: i.flags)")
        case .shutdown(let ref), .reboot(let ref):
            guard let id = resolveOrSay(ref) else { return }
            guard id != 0 else { console.print("dom0 cannot shut itself down this way; type poweroff"); return }
            var rebooting = false
            if case .reboot = command { rebooting = true }
            if ShellPower.stop(id, reboot: rebooting) != nil { reapAndReport() }
        case .console(let ref):
            guard let id = resolveOrSay(ref) else { return }
            guard id != 0 else { console.print("this is dom0's console already"); return }
            ShellPower.attach(id)
        case .store(let verb):
            ShellStore.run(verb)
        case .lspci:
            for f in DeviceList.functions { DeviceList.print(f) }
        case .ifconfig:
            NetStack.printInterface()
        case .net:
            Bridge.describe()
        case .ping(let address):
            Devices.ping(address)
        case .disk(let sector):
            if let sector { Devices.readSector(sector) } else { Devices.describeDisk() }
        case .top:
            top()
        case .dmesg:
            dmesg()
        case .unknown(let word) where BootOptions.equal(word, "poweroff"):
            console.print("powering off")
            Kernel.shutdown(atPoweroff() ? .poweroff : .crash)
        case .unknown(let word):
            word.withUnsafeBufferPointer { console.print("unknown command '\(text: $0)'; type 'help' for the list") }
        case .usage(_, let reason):
            console.print("\(reason)")
        }
    }

    static func resolveOrSay(_ ref: DomainReference) -> UInt16? {
        if let id = resolve(ref) { return id }
        console.print("there is no such domain; 'list' shows them")
        return nil
    }

    static func state(_ i: DomainInfo) -> StaticString {
        if i.isShutdown { return "shutdown" }
        if i.isPaused { return "paused" }
        if i.flags & DomainInfoFlags.running != 0 { return "running" }
        if i.isBlocked { return "blocked" }
        return "runnable"
    }

    /// A DomainInfo as the xl formats take it (GuestKit's XlFormat, host-tested).
    static func row(_ i: DomainInfo) -> DomainRow {
        DomainRow(id: i.id, name: i.name, pages: UInt64(i.pages), running: i.flags & DomainInfoFlags.running != 0,
                  blocked: i.isBlocked, paused: i.isPaused, shutdown: i.isShutdown,
                  crashed: i.isShutdown && i.shutdownReason == ShutdownReason.crash.rawValue, cpuTime: i.cpuTime)
    }

    /// Prints bytes formatted elsewhere as one console line.
    static func say(_ bytes: [UInt8]) {
        var line = LogLine()
        for b in bytes { line.append(byte: b) }
        console.print(line)
    }

    /// One snapshot like xentop: CPU share since the previous `top`, memory, events.
    static func top() {
        let now = GuestTime.now()
        let interval = now > lastTopTime ? now - lastTopTime : 1
        let total = UInt64(Toolstack.totalPages())
        say(XlFormat.topHeader)
        var snapshot: [(id: UInt16, cpu: UInt64)] = []
        for i in Toolstack.all() {
            let before = lastTop.first { $0.id == i.id }?.cpu ?? 0
            let used = i.cpuTime > before ? i.cpuTime - before : 0
            say(XlFormat.topRow(row(i), cpuUsed: used, interval: interval, totalPages: total,
                                eventsSent: UInt64(i.eventsSent), eventsReceived: UInt64(i.eventsReceived)))
            snapshot.append((i.id, i.cpuTime))
        }
        lastTop = snapshot
        lastTopTime = now
    }

    /// The hypervisor's log ring as it is now (up to 16 KiB), each line marked with "| ".
    static func dmesg() {
        var collected: [UInt8] = []
        var index: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 1024)
        while collected.count < 16384 {
            let (rc, out) = buffer.withUnsafeMutableBufferPointer { buf in
                Toolstack.sysctl(.readConsole) { s in
                    func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { s[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) } }
                    put32(SysctlLayout.readIndexOffset, index)
                    put32(SysctlLayout.readBufferOffset, UInt32(UInt(bitPattern: buf.baseAddress)))
                    put32(SysctlLayout.readCountOffset, 1024)
                }
            }
            guard rc == 0 else { console.print("dmesg: the hypervisor answered \(rc)"); return }
            func get32(_ o: Int) -> UInt32 { UInt32(out[o]) | UInt32(out[o + 1]) << 8 | UInt32(out[o + 2]) << 16 | UInt32(out[o + 3]) << 24 }
            let count = Int(get32(SysctlLayout.readCountOffset))
            index = get32(SysctlLayout.readIndexOffset)
            if count == 0 { break }
            collected.append(contentsOf: buffer.prefix(count))
        }
        // Printing adds to the log: everything was read first, so this ends.
        var line = LogLine("| ")
        for b in collected {
            if b == 10 { console.print(line); line = LogLine("| ") } else { line.append(byte: b) }
        }
        if line.count > 2 { console.print(line) }
    }
}
