// StoreTreeModelTests.swift: the store tree (sorted node array, binary search past shared prefixes,
// inserts at a known place, as set and as the write path do them) against a dictionary model over seeded random sets and removals:
// the same nodes, values, access lists and generations, lookups, nearest ancestors and children.

import XCTest
@testable import GuestKit

final class StoreTreeModelTests: XCTestCase {
    private struct Model {
        var nodes: [[UInt8]: StoreNode] = [[0x2F]: StoreNode(path: [0x2F], value: [], permissions: StorePermissions(owner: 0), generation: 0)]
        var next: UInt64 = 1
        mutating func stamp() -> UInt64 { next += 1; return next - 1 }
        mutating func set(_ p: [UInt8], _ v: [UInt8], _ perms: StorePermissions) {
            if nodes[p] != nil {
                nodes[p]!.value = v; nodes[p]!.permissions = perms; nodes[p]!.generation = stamp()
                return
            }
            nodes[p] = StoreNode(path: p, value: v, permissions: perms, generation: stamp())
            if let up = StorePath.parent(p), nodes[up] != nil { nodes[up]!.generation = stamp() }
        }
        mutating func remove(_ p: [UInt8]) -> Set<[UInt8]> {
            guard p.count > 1, nodes[p] != nil else { return [] }
            let gone = Set(nodes.keys.filter { StorePath.isSelfOrDescendant($0, of: p) })
            for g in gone { nodes[g] = nil }
            if let up = StorePath.parent(p), nodes[up] != nil { nodes[up]!.generation = stamp() }
            return gone
        }
        var sorted: [StoreNode] { nodes.values.sorted { $0.path.lexicographicallyPrecedes($1.path) } }
    }

    func testTheTreeMatchesADictionaryModel() {
        let names = ["a", "a-b", "a0", "b", "local", "domain", "1", "12", "x_y", "Z"]
        var r: UInt64 = 0xC0FF_EE11
        func draw(_ n: Int) -> Int { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return Int(r % UInt64(n)) }
        func path() -> [UInt8] {
            var p: [UInt8] = []
            for _ in 0..<(1 + draw(4)) { p += [0x2F] + Array(names[draw(names.count)].utf8) }
            return p
        }
        for _ in 0..<30 {
            var tree = StoreTree()
            var model = Model()
            for step in 0..<400 {
                let p = path()
                switch draw(10) {
                case 0, 1:
                    let gone = Set(tree.remove(p))
                    XCTAssertEqual(gone, model.remove(p), "step \(step)")
                default:
                    // The tree's contract: the parent exists.
                    guard let up = StorePath.parent(p), model.nodes[up] != nil else {
                        XCTAssertEqual(tree.nearestExisting(p).path, StorePath.parent(p).map { u -> [UInt8] in
                            var q = u
                            while model.nodes[q] == nil { q = StorePath.parent(q)! }
                            return q
                        })
                        continue
                    }
                    let v = Array(String(draw(100)).utf8)
                    let perms = StorePermissions(owner: UInt16(draw(3)))
                    let (at, found) = tree.position(of: p)
                    XCTAssertEqual(found, model.nodes[p] != nil)
                    if !found && draw(2) == 0 {
                        // The write's path: the place and the parent already known.
                        tree.insert(p, value: v, permissions: perms, at: at, parent: tree.index(of: up)!)
                    } else {
                        XCTAssertEqual(tree.set(p, value: v, permissions: perms), !found)
                    }
                    model.set(p, v, perms)
                }
                XCTAssertEqual(tree.nodes, model.sorted, "step \(step)")
                XCTAssertEqual(tree.node(p), model.nodes[p])
                XCTAssertEqual(tree.children(of: [0x2F]).count, model.nodes.keys.filter { StorePath.parent($0) == [0x2F] }.count)
            }
            XCTAssertTrue(tree.isWellFormed)
        }
    }
}
