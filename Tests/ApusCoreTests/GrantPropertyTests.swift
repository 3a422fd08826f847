// The property test of the grant-table core: seeded random grant/map/unmap/copy/destroy sequences from three live domains
// (destroyed ones replaced by new ids), checked after every step against a reference model.
// The model must never ask the core what is allowed: it predicts each answer from the entries the granters wrote and the
// mappings it recorded, and recomputes flags, frame references, freed frames and table frames from them.
//
// Reproduce a failure with the seed and step the message names.

import XCTest
import PVABI
@testable import ApusCore

private struct ModelMapping: Equatable {
    var mapper: UInt16, handle: UInt32, granter: UInt16, ref: UInt32, address: UInt32, frame: UInt32, writable: Bool
}

private struct Model {
    var live: [UInt16] = []
    var dead: Set<UInt16> = []
    var mappings: [ModelMapping] = []
    /// What each granter wrote in its entries (type, readonly, domid, frame), ref -> entry.
    var entries: [UInt16: [UInt32: GrantEntry]] = [:]
    var pageTables: Set<UInt32> = []
    static let refs: UInt32 = 16
    static let maxHandles: UInt32 = 12

    func owner(_ frame: UInt32, _ ft: FakeFrameTable) -> UInt16? { ft.owner[frame] }
    func isLiveTable(_ d: UInt16) -> Bool { live.contains(d) }
    func dying(_ d: UInt16) -> Bool { dead.contains(d) && mappings.contains { $0.granter == d } }

    /// The frame a grant gives, or the error the core must answer.
    func granted(_ granter: UInt16, _ ref: UInt32, to grantee: UInt16, writable: Bool) -> Result<UInt32, GrantError> {
        guard isLiveTable(granter) else { return .failure(dying(granter) ? .domainDying : .noSuchDomain) }
        guard ref < 512 else { return .failure(.refBeyondTable) }
        let e = entries[granter]?[ref] ?? GrantEntry(flags: 0, domid: 0, frame: 0)
        guard e.flags & 3 == GrantEntryFlags.permitAccess else { return .failure(.notPermitAccess) }
        guard e.domid == grantee else { return .failure(.grantedToAnother) }
        guard !writable || e.flags & GrantEntryFlags.readonly == 0 else { return .failure(.readonlyGrant) }
        if let m = mappings.first(where: { $0.granter == granter && $0.ref == ref }) {
            return m.mapper == grantee ? .success(m.frame) : .failure(.grantedToAnother)
        }
        return .success(e.frame)
    }

    func canReference(_ frame: UInt32, owner o: UInt16, writable: Bool, _ ft: FakeFrameTable) -> Bool {
        ft.owner[frame] == o && !(writable && pageTables.contains(frame))
    }
}

final class GrantPropertyTests: XCTestCase {
    static let va: UInt32 = 0x40_0000

    func testRandomSequencesAgreeWithTheModel() {
        var steps = 0
        for seed in 0..<UInt64(150) { steps += run(seed: seed, steps: 400) }
        XCTAssertGreaterThanOrEqual(steps, 60_000)
    }

    func frames(of d: UInt16) -> ClosedRange<UInt32> { UInt32(d) * 0x100 ... UInt32(d) * 0x100 + 7 }

    @discardableResult
    func run(seed: UInt64, steps: Int) -> Int {
        var rng = SplitMix64(seed: seed &* 0x9E37 &+ 17)
        var g = GrantSystem(domainCapacity: 64)
        var mem = FakeGrantMemory()
        var ft = FakeFrameTable()
        var model = Model()
        var nextID: UInt16 = 1
        var tally = (ok: 0, refused: 0, maps: 0, copies: 0)

        func create() {
            let d = nextID
            nextID += 1
            XCTAssertTrue(g.addDomain(d, privileged: false, maxFrames: 2, maxHandles: Model.maxHandles))
            ft.give(frames(of: d), to: d)
            if rng.oneIn(4) { let pt = frames(of: d).lowerBound + 7; ft.pageTables.insert(pt); model.pageTables.insert(pt) }
            XCTAssertNoThrow(try g.setupTable(caller: d, domain: SpecialDomainID.selfID, frames: 1, &mem))
            model.live.append(d)
        }
        for _ in 0..<3 { create() }

        func anyDomain() -> UInt16 {
            switch rng.below(10) {
            case 0: return UInt16(truncatingIfNeeded: rng.below(UInt32(nextID) + 2))
            case 1: return SpecialDomainID.selfID
            default: return model.live[Int(rng.below(UInt32(model.live.count)))]
            }
        }
        func anyFrame() -> UInt32 {
            let d = rng.oneIn(5) ? UInt16(truncatingIfNeeded: rng.below(UInt32(nextID))) : model.live[Int(rng.below(3))]
            return frames(of: d).lowerBound + rng.below(rng.oneIn(8) ? 9 : 8)
        }
        func anyRef() -> UInt32 { rng.oneIn(20) ? 512 + rng.below(4) : rng.below(Model.refs) }
        func resolve(_ d: UInt16, _ caller: UInt16) -> UInt16 { d == SpecialDomainID.selfID ? caller : d }
        /// Usually a grant some live domain made to `caller`, else anything.
        func grantFor(_ caller: UInt16) -> (UInt16, UInt32) {
            if !rng.oneIn(4) {
                var offers: [(UInt16, UInt32)] = []
                // Sorted: dictionary order changes from run to run, and a seed must replay the same sequence.
                for d in model.live where d != caller {
                    let mine = model.entries[d] ?? [:]
                    for ref in mine.keys.sorted() where mine[ref]!.domid == caller { offers.append((d, ref)) }
                }
                if !offers.isEmpty { return offers[Int(rng.below(UInt32(offers.count)))] }
            }
            return (anyDomain(), anyRef())
        }

        for step in 0..<steps {
            let caller = model.live[Int(rng.below(3))]
            var expected: GrantError? = nil
            var got: GrantError? = nil
            var what = ""
            switch rng.below(40) {
            case 0..<9:
                // The granter writes an entry (usually a sensible grant, sometimes anything).
                what = "grant"
                let ref = rng.below(Model.refs)
                let type: UInt16 = rng.oneIn(6) ? UInt16(rng.below(4)) : GrantEntryFlags.permitAccess
                let ro = rng.oneIn(3)
                // Usually to one of the two other live domains (a domain never maps its own grants).
                let others = model.live.filter { $0 != caller }
                let to = rng.oneIn(6) ? anyDomain() : others[Int(rng.below(UInt32(others.count)))]
                let frame = rng.oneIn(5) ? anyFrame() : frames(of: caller).lowerBound + rng.below(8)
                mem.grant(g, caller, ref: ref, to: to, frame: frame, readonly: ro, type: type)
                model.entries[caller, default: [:]][ref] = GrantEntry(flags: type | (ro ? GrantEntryFlags.readonly : 0), domid: to, frame: frame)
            case 9..<21:
                what = "map"
                let (granter, ref) = grantFor(caller)
                let writable = rng.oneIn(2)
                let address = Self.va + rng.below(64) * 4096
                let r = resolve(granter, caller)
                switch r == caller ? .failure(.ownGrant) : model.granted(r, ref, to: caller, writable: writable) {
                case .failure(let e): expected = e
                case .success(let frame):
                    let held = model.mappings.filter { $0.mapper == caller }.count
                    let pins = model.mappings.filter { $0.granter == r && $0.ref == ref }.count
                    if held >= Int(Model.maxHandles) { expected = .handlesExhausted }
                    else if pins >= Int(GrantSystem.maxPinsPerGrant) { expected = .pinOverflow }
                    else if !model.canReference(frame, owner: r, writable: writable, ft) { expected = .frameNotGranters }
                }
                do throws(GrantError) {
                    let res = try g.map(caller: caller, granter: granter, ref: ref,
                                        flags: GrantMapFlags.hostMap | (writable ? 0 : GrantMapFlags.readonly), hostAddress: UInt64(address), &mem, &ft)
                    XCTAssertFalse(model.mappings.contains { $0.mapper == caller && $0.handle == res.handle }, "seed \(seed) step \(step): handle reused")
                    model.mappings.append(ModelMapping(mapper: caller, handle: res.handle, granter: r, ref: ref, address: address, frame: res.frame, writable: writable))
                    if case .success(let f) = model.granted(r, ref, to: caller, writable: writable) { XCTAssertEqual(res.frame, f) }
                } catch { got = error }
            case 21..<30:
                what = "unmap"
                let mine = model.mappings.enumerated().filter { $0.element.mapper == caller }
                var handle = rng.below(Model.maxHandles + 2)
                var address = Self.va + rng.below(64) * 4096
                if !mine.isEmpty && !rng.oneIn(5) {
                    let m = mine[Int(rng.below(UInt32(mine.count)))].element
                    handle = m.handle
                    if !rng.oneIn(6) { address = m.address }
                }
                if let i = model.mappings.firstIndex(where: { $0.mapper == caller && $0.handle == handle }) {
                    if model.mappings[i].address != address { expected = .wrongHostAddress }
                } else { expected = .badHandle }
                do throws(GrantError) {
                    let m = try g.unmap(caller: caller, handle: handle, hostAddress: UInt64(address), deviceAddress: 0, &mem, &ft)
                    let i = model.mappings.firstIndex { $0.mapper == caller && $0.handle == handle }!
                    XCTAssertEqual(m.frame, model.mappings[i].frame)
                    model.mappings.remove(at: i)
                } catch { got = error }
            case 30..<39:
                what = "copy"
                func side(_ writable: Bool) -> GrantCopySide {
                    let (gd, gr) = grantFor(caller)
                    return rng.oneIn(2) ? GrantCopySide(isGrant: true, refOrFrame: gr, domain: gd, offset: UInt16(rng.below(4033)))
                                 : GrantCopySide(isGrant: false, refOrFrame: rng.oneIn(4) ? anyFrame() : frames(of: caller).lowerBound + rng.below(8),
                                                 domain: rng.oneIn(4) ? anyDomain() : SpecialDomainID.selfID, offset: UInt16(rng.below(4033)))
                }
                let s = side(false), d = side(true)
                let len = UInt16(rng.oneIn(8) ? rng.below(4097) : rng.below(64))
                func predict(_ x: GrantCopySide, writable: Bool) -> GrantError? {
                    let dom = resolve(x.domain, caller)
                    if x.isGrant {
                        switch model.granted(dom, x.refOrFrame, to: caller, writable: writable) {
                        case .failure(let e): return e
                        case .success(let f): return model.canReference(f, owner: dom, writable: writable, ft) ? nil : .frameNotGranters
                        }
                    }
                    guard dom == caller else { return .copyFrameNotOwn }
                    return model.canReference(x.refOrFrame, owner: caller, writable: writable, ft) ? nil : .copyFrameNotOwned
                }
                if Int(s.offset) + Int(len) > 4096 || Int(d.offset) + Int(len) > 4096 { expected = .copyPastPage } else {
                    // The core resolves both sides' grants before taking either reference.
                    let sd = resolve(s.domain, caller), dd = resolve(d.domain, caller)
                    let sg: GrantError? = s.isGrant ? { if case .failure(let e) = model.granted(sd, s.refOrFrame, to: caller, writable: false) { return e }; return nil }()
                                                    : (sd == caller ? nil : .copyFrameNotOwn)
                    let dg: GrantError? = d.isGrant ? { if case .failure(let e) = model.granted(dd, d.refOrFrame, to: caller, writable: true) { return e }; return nil }()
                                                    : (dd == caller ? nil : .copyFrameNotOwn)
                    expected = sg ?? dg ?? predict(s, writable: false) ?? predict(d, writable: true)
                }
                let before = mem.copies
                do throws(GrantError) { try g.copy(caller: caller, source: s, dest: d, length: len, &mem, &ft) } catch { got = error }
                XCTAssertEqual(mem.copies - before, got == nil ? 1 : 0, "seed \(seed) step \(step)")
            default:
                what = "destroy"
                let d = caller
                g.destroyDomain(d, &mem, &ft)
                ft.destroy(d)
                model.mappings.removeAll { $0.mapper == d }
                model.live.removeAll { $0 == d }
                model.dead.insert(d)
                create()
            }
            if got != nil { tally.refused += 1 } else {
                tally.ok += 1
                if what == "map" { tally.maps += 1 }
                if what == "copy" { tally.copies += 1 }
            }
            XCTAssertEqual(got, expected, "seed \(seed) step \(step): \(what)")
            if let problem = check(g, mem, ft, model) {
                XCTFail("seed \(seed) step \(step) (\(what)): \(problem)")
                return step
            }
        }
        XCTAssertGreaterThan(tally.ok, steps / 3, "seed \(seed)")
        XCTAssertGreaterThan(tally.maps, steps / 20, "seed \(seed)")
        XCTAssertGreaterThan(tally.copies, steps / 80, "seed \(seed)")
        XCTAssertGreaterThan(tally.refused, steps / 20, "seed \(seed)")
        return steps
    }

    /// Everything the model implies, recomputed from scratch. Nil when the core and the fakes agree with it.
    private func check(_ g: GrantSystem, _ mem: FakeGrantMemory, _ ft: FakeFrameTable, _ model: Model) -> String? {
        var refsPerFrame: [UInt32: Int] = [:]
        for m in model.mappings { refsPerFrame[m.frame, default: 0] += 1 }
        if ft.refs != refsPerFrame { return "frame references \(ft.refs) but mappings imply \(refsPerFrame)" }
        for m in model.mappings {
            guard let c = g.mapping(m.mapper, handle: m.handle) else { return "mapping \(m) missing from the core" }
            if c.granter != m.granter || c.ref != m.ref || c.frame != m.frame || c.writable != m.writable || UInt64(c.hostAddress) != UInt64(m.address) {
                return "mapping \(m) differs in the core: \(c)"
            }
        }
        var tableFrames: Set<UInt32> = []
        for id in 0..<UInt16(64) {
            let t = g.table(id)
            let shouldLive = model.live.contains(id), shouldDie = model.dying(id)
            switch (t?.life, shouldLive, shouldDie) {
            case (.live?, true, false), (.dying?, false, true), (nil, false, false): break
            default: return "domain \(id): table \(String(describing: t?.life)), model live \(shouldLive) dying \(shouldDie)"
            }
            guard let t else { continue }
            tableFrames.formUnion(t.frames)
            let held = model.mappings.filter { $0.mapper == id }.count
            if Int(t.mappingCount) != held { return "domain \(id) holds \(t.mappingCount) mappings, model \(held)" }
            let pinned = model.mappings.filter { $0.granter == id }
            if Int(t.pins) != pinned.count { return "domain \(id) has \(t.pins) pins, model \(pinned.count)" }
            for ref in 0..<Model.refs {
                let on = pinned.filter { $0.ref == ref }
                let flags = mem.flags(g, id, ref: ref) & (GrantEntryFlags.reading | GrantEntryFlags.writing)
                let want = (on.isEmpty ? 0 : GrantEntryFlags.reading) | (on.contains { $0.writable } ? GrantEntryFlags.writing : 0)
                if flags != want { return "d\(id) ref \(ref): flags \(flags), model \(want)" }
            }
        }
        if Set(mem.allocated.keys) != tableFrames { return "allocated table frames \(mem.allocated.keys.sorted()) but tables hold \(tableFrames.sorted())" }
        for d in model.dead {
            for f in frames(of: d) where ft.owner[f] != nil && refsPerFrame[f] == nil { return "frame \(f) of destroyed d\(d) leaked" }
            for f in frames(of: d) where refsPerFrame[f] != nil && ft.owner[f] == nil { return "frame \(f) of destroyed d\(d) freed while mapped" }
        }
        return nil
    }
}
