// StoreTree.swift: the XenStore tree as one array of nodes sorted by path, so a node's whole
// subtree is one contiguous run. Every change stamps the node (and, when children come or go,
// its parent) with a fresh generation, which transactions compare. No permission checks here.

/// One node: its value, its access list and the generation of its last change.
public struct StoreNode: Equatable, Sendable {
    public var path: [UInt8]
    public var value: [UInt8]
    public var permissions: StorePermissions
    public var generation: UInt64
}

public struct StoreTree: Sendable {
    /// Sorted by path (byte order); every node's parent is present; "/" always is.
    public private(set) var nodes: [StoreNode]
    var nextGeneration: UInt64 = 1
    /// What the nodes cost in memory, as `StoreTree.cost` counts it: dom0's heap is small and
    /// the daemon refuses growth past its budget rather than fail an allocation.
    public private(set) var bytes = 0
    /// The index of the node set last: only a guess, checked before it is used.
    var hint = 0

    /// A node's approximate footprint: its path, value and access list, plus fixed overhead.
    public static func cost(path: Int, value: Int, permissions: Int) -> Int {
        path + value + 4 * permissions + 64
    }

    static func cost(_ n: StoreNode) -> Int {
        cost(path: n.path.count, value: n.value.count, permissions: n.permissions.entries.count)
    }

    public init() {
        nodes = [StoreNode(path: [StorePath.slash], value: [], permissions: StorePermissions(owner: 0),
                           generation: 0)]
        bytes = StoreTree.cost(nodes[0])
    }

    /// The first index whose path is not below `path` in byte order.
    func lowerBound(_ path: [UInt8]) -> Int {
        path.withUnsafeBufferPointer { lowerBound($0) }
    }

    /// The same over raw bytes (a path's prefix is looked up without a new array).
    /// Every node between the two bounds shares with `path` the shorter of the bounds' common
    /// prefixes with it, so each comparison starts past that prefix ("/local/domain/N/" is compared
    /// once or twice, not at every step).
    func lowerBound(_ path: UnsafeBufferPointer<UInt8>) -> Int {
        nodes.withUnsafeBufferPointer { all in
            var low = 0, high = all.count
            var lowCommon = 0, highCommon = 0
            while low < high {
                let mid = (low + high) / 2
                let skip = lowCommon < highCommon ? lowCommon : highCommon
                let (below, common) = all[mid].path.withUnsafeBufferPointer { StorePath.compare($0, path, from: skip) }
                if below { low = mid + 1; lowCommon = common } else { high = mid; highCommon = common }
            }
            return low
        }
    }

    func index(of path: [UInt8]) -> Int? {
        path.withUnsafeBufferPointer { index(of: $0) }
    }

    func index(of path: UnsafeBufferPointer<UInt8>) -> Int? {
        // The node written last is often looked up next (its access list after its value).
        if hint < nodes.count && nodes[hint].path.withUnsafeBufferPointer({ StorePath.same($0, path) }) { return hint }
        let i = lowerBound(path)
        guard i < nodes.count else { return nil }
        return nodes[i].path.withUnsafeBufferPointer { StorePath.same($0, path) } ? i : nil
    }

    /// Restamps the node at `path`'s parent (a child came or went); no new array for the parent.
    mutating func stampParent(of path: [UInt8]) {
        let p: Int? = path.withUnsafeBufferPointer { whole in
            guard let n = StorePath.parentLength(whole) else { return nil }
            return index(of: UnsafeBufferPointer(rebasing: whole[0..<n]))
        }
        if let p { nodes[p].generation = stamp() }
    }

    public func node(_ path: [UInt8]) -> StoreNode? {
        index(of: path).map { nodes[$0] }
    }

    public func generation(_ path: [UInt8]) -> UInt64? { node(path)?.generation }

    /// The indexes of `path`'s strict descendants (empty when it has none).
    func descendants(of path: [UInt8]) -> Range<Int> {
        let prefix = StorePath.descendantPrefix(path)
        var start = lowerBound(prefix)
        // The root's prefix is its own path: it is not its own descendant.
        if start < nodes.count && nodes[start].path == path { start += 1 }
        var end = start
        while end < nodes.count && hasPrefix(nodes[end].path, prefix) { end += 1 }
        return start..<end
    }

    private func hasPrefix(_ p: [UInt8], _ prefix: [UInt8]) -> Bool {
        guard p.count >= prefix.count else { return false }
        for i in 0..<prefix.count where p[i] != prefix[i] { return false }
        return true
    }

    /// The names of `path`'s children, in byte order.
    public func children(of path: [UInt8]) -> [[UInt8]] {
        var names: [[UInt8]] = []
        let prefixCount = StorePath.descendantPrefix(path).count
        for i in descendants(of: path) where !nodes[i].path[prefixCount...].contains(StorePath.slash) {
            names.append(Array(nodes[i].path[prefixCount...]))
        }
        return names
    }

    /// DIRECTORY's payload: every child name of `path` followed by its NUL, in byte order, built in
    /// one buffer (no array per child: a directory of a thousand nodes must stay cheap for dom0).
    public func childList(of path: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let prefixCount = StorePath.descendantPrefix(path).count
        for i in descendants(of: path) {
            nodes[i].path.withUnsafeBufferPointer { p in
                let name = UnsafeBufferPointer(rebasing: p[prefixCount...])
                guard !name.contains(StorePath.slash) else { return }
                out.append(contentsOf: name)
                out.append(0)
            }
        }
        return out
    }

    /// The deepest existing node at or above `path`.
    public func nearestExisting(_ path: [UInt8]) -> StoreNode {
        nodes[path.withUnsafeBufferPointer { nearestIndex(from: $0.count, of: $0) }]
    }

    /// The index of the deepest existing node strictly above `path` (the write of a missing node
    /// looks there).
    func nearestAbove(_ path: [UInt8]) -> Int {
        path.withUnsafeBufferPointer { whole in
            StorePath.parentLength(whole).map { nearestIndex(from: $0, of: whole) } ?? 0
        }
    }

    /// The index of the deepest existing node among `whole`'s first `length` bytes and its
    /// ancestors; the root's (0) when none is.
    private func nearestIndex(from length: Int, of whole: UnsafeBufferPointer<UInt8>) -> Int {
        var n = length
        while true {
            let prefix = UnsafeBufferPointer(rebasing: whole[0..<n])
            if let i = index(of: prefix) { return i }
            guard let up = StorePath.parentLength(prefix) else { return 0 }
            n = up
        }
    }

    /// How many nodes `domain` owns.
    public func nodeCount(ownedBy domain: UInt16) -> Int {
        var count = 0
        for n in nodes where n.permissions.owner == domain { count += 1 }
        return count
    }

    private mutating func stamp() -> UInt64 {
        let g = nextGeneration
        nextGeneration += 1
        return g
    }

    /// Sets a node's value and access list, creating it when absent; its parent must exist.
    /// Returns whether it was created.
    @discardableResult
    public mutating func set(_ path: [UInt8], value: [UInt8], permissions: StorePermissions) -> Bool {
        let (i, found) = position(of: path)
        if found {
            update(at: i, value: value, permissions: permissions)
            return false
        }
        let node = StoreNode(path: path, value: value, permissions: permissions, generation: stamp())
        bytes += StoreTree.cost(node)
        nodes.insert(node, at: i)
        hint = i
        stampParent(of: path)
        return true
    }

    /// Where `path`'s node is, or where it would go, and whether it is there.
    func position(of path: [UInt8]) -> (index: Int, found: Bool) {
        path.withUnsafeBufferPointer { p in
            let i = lowerBound(p)
            return (i, i < nodes.count && nodes[i].path.withUnsafeBufferPointer { StorePath.same($0, p) })
        }
    }

    /// Sets the value and access list of the node at `index`.
    mutating func update(at index: Int, value: [UInt8], permissions: StorePermissions) {
        hint = index
        bytes -= StoreTree.cost(nodes[index])
        nodes[index].value = value
        nodes[index].permissions = permissions
        nodes[index].generation = stamp()
        bytes += StoreTree.cost(nodes[index])
    }

    /// Creates `path`'s node at `index`, its position (`position(of:)`, not found), when its parent
    /// is the node at `parent`: no lookup. The parent is restamped as `set` does.
    mutating func insert(_ path: [UInt8], value: [UInt8], permissions: StorePermissions, at index: Int, parent: Int) {
        let node = StoreNode(path: path, value: value, permissions: permissions, generation: stamp())
        bytes += StoreTree.cost(node)
        nodes.insert(node, at: index)
        hint = index
        // The parent sorts before its child: the insertion did not move it.
        nodes[parent].generation = stamp()
    }

    /// Gives the node at `index` a new access list (SET_PERMS once its checks passed).
    mutating func setPermissions(at index: Int, _ permissions: StorePermissions) {
        bytes -= StoreTree.cost(nodes[index])
        nodes[index].permissions = permissions
        nodes[index].generation = stamp()
        bytes += StoreTree.cost(nodes[index])
    }

    /// Removes a node and its subtree (never "/"); returns the removed paths, the node's first.
    @discardableResult
    public mutating func remove(_ path: [UInt8]) -> [[UInt8]] {
        guard path.count > 1, let i = index(of: path) else { return [] }
        let below = descendants(of: path)
        var removed: [[UInt8]] = [path]
        bytes -= StoreTree.cost(nodes[i])
        for j in below {
            removed.append(nodes[j].path)
            bytes -= StoreTree.cost(nodes[j])
        }
        // "/a-b" sorts between "/a" and "/a/x": the subtree run starts after, not at, the node.
        nodes.removeSubrange(below)
        nodes.remove(at: i)
        stampParent(of: path)
        return removed
    }
}

extension StoreTree {
    /// The tree's invariant: sorted strictly by path, every node but "/" has its parent and a valid
    /// path, and the byte count adds up. The tests and the fuzzer check it after hostile input.
    public var isWellFormed: Bool {
        guard nodes.first?.path == [0x2F] else { return false }
        guard bytes == nodes.reduce(0, { $0 + StoreTree.cost($1) }) else { return false }
        for i in 1..<nodes.count {
            guard StorePath.less(nodes[i - 1].path, nodes[i].path) else { return false }
            guard let parent = StorePath.parent(nodes[i].path), node(parent) != nil else { return false }
            guard StorePath.isValidAbsolute(nodes[i].path) else { return false }
        }
        return true
    }
}
