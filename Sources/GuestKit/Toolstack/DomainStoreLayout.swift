// DomainStoreLayout.swift: the XenStore nodes a toolstack writes for a new domain, in libxl's layout
// (libxl_create.c, libxl_dom.c, libxl_console.c, libxl_device.c) with libxl's owners and access
// lists: /local/domain/N/{name,domid,vm,memory/*,store/*,console/*,control/*,device,data,...},
// vif and vbd frontends under device/ and their backends under /local/domain/0/backend/. It only
// lists nodes; dom0 writes them into its store, and never lets a guest choose a path here.

/// One node to create: its absolute path, value and exact access list.
public struct StoreSetting: Equatable, Sendable {
    public var path: [UInt8]
    public var value: [UInt8]
    public var permissions: StorePermissions
}

/// What the toolstack knows about a domain when it writes its tree.
public struct DomainStoreFacts: Equatable, Sendable {
    public var id: UInt16
    public var name: [UInt8]
    public var memoryKiB: UInt32
    public var storePort: UInt32
    public var storeMFN: UInt32
    public var consolePort: UInt32
    public var consoleMFN: UInt32
    public var vifs: [VifSpec]
    public var disks: [DiskSpec]

    public init(id: UInt16, name: [UInt8], memoryKiB: UInt32, storePort: UInt32, storeMFN: UInt32,
                consolePort: UInt32, consoleMFN: UInt32, vifs: [VifSpec] = [], disks: [DiskSpec] = []) {
        self.id = id
        self.name = name
        self.memoryKiB = memoryKiB
        self.storePort = storePort
        self.storeMFN = storeMFN
        self.consolePort = consolePort
        self.consoleMFN = consoleMFN
        self.vifs = vifs
        self.disks = disks
    }
}

public enum DomainStoreLayout {
    /// Xenbus state 1 (XenbusStateInitialising).
    static let initialising: [UInt8] = [0x31]
    /// The console ring's byte limit libxl writes (LIBXL_XENCONSOLE_LIMIT).
    static let consoleLimit: UInt32 = 1_048_576

    /// Every node to create for `f`, parents before children.
    public static func settings(_ f: DomainStoreFacts) -> [StoreSetting] {
        let n = f.id
        let dom = StorePath.domainPath(n)
        // libxl's three access lists for the domain's own directory.
        let ro = StorePermissions(owner: 0, others: .none, grants: [StorePermission(domain: n, access: .read)])
        let rw = StorePermissions(owner: n, others: .none)
        var out: [StoreSetting] = []
        func add(_ base: [UInt8], _ relative: StaticString, _ value: [UInt8], _ p: StorePermissions) {
            out.append(StoreSetting(path: join(base, relative), value: value, permissions: p))
        }

        out.append(StoreSetting(path: dom, value: [], permissions: ro))
        add(dom, "vm", text("/vm/") + decimal(UInt32(n)), ro)
        add(dom, "name", f.name, ro)
        add(dom, "domid", decimal(UInt32(n)), ro)
        add(dom, "cpu", [], ro)
        add(dom, "memory", [], ro)
        add(dom, "memory/static-max", decimal(f.memoryKiB), ro)
        add(dom, "memory/target", decimal(f.memoryKiB), ro)
        add(dom, "memory/videoram", decimal(0), ro)
        add(dom, "store", [], ro)
        add(dom, "store/port", decimal(f.storePort), ro)
        add(dom, "store/ring-ref", decimal(f.storeMFN), ro)
        add(dom, "device", [], ro)
        add(dom, "control", [], ro)
        add(dom, "control/shutdown", [], rw)
        add(dom, "control/feature-poweroff", [], rw)
        add(dom, "control/feature-reboot", [], rw)
        add(dom, "control/feature-suspend", [], rw)
        add(dom, "control/sysrq", [], rw)
        for d: StaticString in ["data", "drivers", "feature", "attr", "error"] { add(dom, d, [], rw) }

        // Console 0: the frontend directory is dom0's, the guest may only read it (libxl's ro_front).
        let console = join(dom, "console")
        let consoleBackend = backendPath("console", n, 0)
        let backendList = StorePermissions(owner: 0, others: .none, grants: [StorePermission(domain: n, access: .read)])
        /// A backend directory under dom0 and the four nodes every backend has (libxl's layout).
        func backend(_ bpath: [UInt8], for fpath: [UInt8]) {
            out.append(StoreSetting(path: bpath, value: [], permissions: backendList))
            add(bpath, "frontend", fpath, backendList)
            add(bpath, "frontend-id", decimal(UInt32(n)), backendList)
            add(bpath, "online", [0x31], backendList)
            add(bpath, "state", initialising, backendList)
        }
        out.append(StoreSetting(path: console, value: [], permissions: ro))
        add(console, "backend", consoleBackend, ro)
        add(console, "backend-id", decimal(0), ro)
        add(console, "limit", decimal(consoleLimit), ro)
        add(console, "type", text("xenconsoled"), ro)
        add(console, "output", text("pty"), ro)
        add(console, "tty", [], ro)
        add(console, "port", decimal(f.consolePort), ro)
        add(console, "ring-ref", decimal(f.consoleMFN), ro)
        backend(consoleBackend, for: console)
        add(consoleBackend, "protocol", text("vt100"), backendList)

        // Other devices: the frontend directory belongs to the guest, dom0 (the backend) may read it.
        let front = StorePermissions(owner: n, others: .none, grants: [StorePermission(domain: 0, access: .read)])
        for (i, vif) in f.vifs.enumerated() {
            let handle = decimal(UInt32(i))
            let mac = VifSpec.spell(mac: vif.address(domain: n, index: i))
            let fpath = join(join(dom, "device/vif"), handle)
            let bpath = backendPath("vif", n, UInt32(i))
            out.append(StoreSetting(path: fpath, value: [], permissions: front))
            add(fpath, "backend", bpath, front)
            add(fpath, "backend-id", decimal(0), front)
            add(fpath, "state", initialising, front)
            add(fpath, "handle", handle, front)
            add(fpath, "mac", mac, front)
            backend(bpath, for: fpath)
            add(bpath, "script", text("vif-bridge"), backendList)
            add(bpath, "mac", mac, backendList)
            add(bpath, "bridge", vif.bridge, backendList)
            add(bpath, "handle", handle, backendList)
            add(bpath, "type", text("vif"), backendList)
        }
        for disk in f.disks {
            let number = decimal(disk.number)
            let fpath = join(join(dom, "device/vbd"), number)
            let bpath = backendPath("vbd", n, disk.number)
            let mode: [UInt8] = disk.writable ? [0x77] : [0x72]
            out.append(StoreSetting(path: fpath, value: [], permissions: front))
            add(fpath, "backend", bpath, front)
            add(fpath, "backend-id", decimal(0), front)
            add(fpath, "state", initialising, front)
            add(fpath, "virtual-device", number, front)
            add(fpath, "device-type", text("disk"), front)
            backend(bpath, for: fpath)
            add(bpath, "removable", [0x30], backendList)
            add(bpath, "bootable", [0x31], backendList)
            add(bpath, "dev", disk.vdev, backendList)
            add(bpath, "type", text("phy"), backendList)
            add(bpath, "mode", mode, backendList)
            add(bpath, "device-type", text("disk"), backendList)
            add(bpath, "params", disk.target, backendList)
        }
        return out
    }

    /// The subtrees to remove when domain `id` goes: its own directory and every backend directory
    /// dom0 keeps for it.
    public static func removals(_ id: UInt16) -> [[UInt8]] {
        var out = [StorePath.domainPath(id)]
        for kind: StaticString in ["console", "vif", "vbd"] {
            out.append(join(join(join(StorePath.domainPath(0), "backend"), kind), decimal(UInt32(id))))
        }
        return out
    }

    /// /local/domain/0/backend/KIND/N/DEV
    static func backendPath(_ kind: StaticString, _ id: UInt16, _ dev: UInt32) -> [UInt8] {
        join(join(join(join(StorePath.domainPath(0), "backend"), kind), decimal(UInt32(id))), decimal(dev))
    }

    static func text(_ s: StaticString) -> [UInt8] { s.withUTF8Buffer { Array($0) } }
    static func decimal(_ v: UInt32) -> [UInt8] { StorePayload.decimal(v) }
    static func join(_ base: [UInt8], _ relative: StaticString) -> [UInt8] {
        relative.withUTF8Buffer { join(base, $0) }
    }
    static func join(_ base: [UInt8], _ relative: [UInt8]) -> [UInt8] {
        relative.withUnsafeBufferPointer { join(base, $0) }
    }
    /// base + "/" + relative in one allocation (a domain's tree is about a hundred paths).
    static func join(_ base: [UInt8], _ relative: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(base.count + 1 + relative.count)
        out.append(contentsOf: base)
        out.append(0x2F)
        out.append(contentsOf: relative)
        return out
    }
}
