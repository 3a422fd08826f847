// GrantTableOp.swift: grant_table_op (20) acted on: setup_table, query_size, map_grant_ref and unmap_grant_ref with
// GNTMAP_host_map, copy, set_version and get_version. ApusCore's GrantTableRequest decodes, GrantSystem decides every
// rule and the paging core writes and clears the grant PTE; this file only sequences them and reports each element's
// GNTST status (a refused element is logged with its reason). It must never write a PTE or an entry itself.

import ApusCore
import PVABI

enum GrantTableOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let request: GrantTableRequest
        switch GrantTableRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(let r): request = r
        }
        var shared = MachineGrantMemory()
        var refs = MachineGrantReferences()
        switch request {
        case .setupTable(let domain, let frames, let frameList, let statusOut):
            var status = GrantStatus.okay
            do throws(GrantError) {
                guard let list = frameList else { throw .tooManyFrames }
                let target = try Grants.system.setupTable(caller: d.id, domain: domain, frames: frames, &shared)
                for i in 0..<frames {
                    guard let slot = list.element(i), memory.write32(Grants.system.tableFrame(target, i) ?? 0, to: slot) else {
                        return .refused(.EFAULT, "setup_table frame list is not writable guest memory")
                    }
                }
            } catch {
                status = refused(d, .setupTable, error)
            }
            return memory.write16(status.field, to: statusOut) ? .ok : unwritable
        case .querySize(let domain, let out):
            var block = GrantQuerySizeOut.bytes(frames: 0, maxFrames: 0, status: .okay)
            do throws(GrantError) {
                let size = try Grants.system.querySize(caller: d.id, domain: domain)
                block = GrantQuerySizeOut.bytes(frames: size.frames, maxFrames: size.maxFrames, status: .okay)
            } catch {
                block = GrantQuerySizeOut.bytes(frames: 0, maxFrames: 0, status: refused(d, .querySize, error))
            }
            return memory.write(block, to: out) ? .ok : unwritable
        case .setVersion(let version, let out):
            do throws(Refusal) {
                let now = try Grants.system.setVersion(caller: d.id, version: version)
                return memory.write32(now, to: out) ? .ok : unwritable
            } catch {
                _ = memory.write32(1, to: out)
                return error.outcome
            }
        case .getVersion(let domain, let out):
            do throws(Refusal) {
                let version = try Grants.system.getVersion(caller: d.id, domain: domain)
                return memory.write32(version, to: out) ? .ok : unwritable
            } catch {
                return error.outcome
            }
        case .mapGrantRef(let list):
            for i in 0..<list.count {
                guard let e = GrantMapElement.read(list, i, &memory) else { return unreadable }
                let block = map(e, d, &shared, &refs)
                guard memory.write(block, to: e.out) else { return unwritable }
            }
            return .ok
        case .unmapGrantRef(let list):
            for i in 0..<list.count {
                guard let e = GrantUnmapElement.read(list, i, &memory) else { return unreadable }
                let status = unmap(e, d, &shared, &refs)
                guard memory.write16(status.field, to: e.status) else { return unwritable }
            }
            return .ok
        case .copy(let list):
            for i in 0..<list.count {
                guard let e = GrantCopyElement.read(list, i, &memory) else { return unreadable }
                var status = GrantStatus.okay
                do throws(GrantError) {
                    try Grants.system.copy(caller: d.id, source: e.source, dest: e.dest, length: e.length, &shared, &refs)
                } catch {
                    status = refused(d, .copy, error)
                }
                guard memory.write16(status.field, to: e.status) else { return unwritable }
            }
            return .ok
        }
    }

    static let unreadable = HypercallOutcome.refused(.EFAULT, "grant_table_op element is not readable guest memory")
    static let unwritable = HypercallOutcome.refused(.EFAULT, "grant_table_op status is not writable guest memory")

    /// One map: the core checks and takes its references, then the grant PTE goes into the caller's current tables;
    /// if that is refused the core's mapping is undone.
    static func map(_ e: GrantMapElement, _ d: Domain, _ shared: inout MachineGrantMemory, _ refs: inout MachineGrantReferences) -> GuestBytes<16> {
        let result: GrantMapResult
        do throws(GrantError) {
            result = try Grants.system.map(caller: d.id, granter: e.domain, ref: e.ref, flags: e.flags, hostAddress: e.hostAddress, &shared, &refs)
        } catch {
            return GrantMapElement.result(refused(d, .mapGrantRef, error))
        }
        let va = UInt32(truncatingIfNeeded: e.hostAddress)
        if let refusal = Machine.frames.installGrantPTE(va: va, frame: result.frame, writable: result.writable,
                                                       user: e.flags & GrantMapFlags.applicationMap != 0,
                                                       state: d.memory, memory: &Machine.memory) {
            _ = try? Grants.system.unmap(caller: d.id, handle: result.handle, hostAddress: e.hostAddress, deviceAddress: 0, &shared, &refs)
            logElement(d, .mapGrantRef, .generalError, refusal.reason)
            return GrantMapElement.result(.generalError)
        }
        TLB.flush(page: va)
        return GrantMapElement.result(.okay, handle: result.handle, deviceAddress: result.deviceAddress)
    }

    /// One unmap: the core checks the handle and address, the PTE is cleared (it must still map the granted frame),
    /// then the core drops the mapping and its references.
    static func unmap(_ e: GrantUnmapElement, _ d: Domain, _ shared: inout MachineGrantMemory, _ refs: inout MachineGrantReferences) -> GrantStatus {
        let m: GrantMapping
        do throws(GrantError) {
            m = try Grants.system.checkUnmap(caller: d.id, handle: e.handle, hostAddress: e.hostAddress, deviceAddress: e.deviceAddress)
        } catch {
            return refused(d, .unmapGrantRef, error)
        }
        if let refusal = Machine.frames.removeGrantPTE(va: m.hostAddress, frame: m.frame, state: d.memory, memory: &Machine.memory) {
            logElement(d, .unmapGrantRef, .generalError, refusal.reason)
            return .generalError
        }
        TLB.flush(page: m.hostAddress)
        _ = try? Grants.system.unmap(caller: d.id, handle: e.handle, hostAddress: e.hostAddress, deviceAddress: e.deviceAddress, &shared, &refs)
        return .okay
    }

    static func refused(_ d: Domain, _ op: GrantTableOp, _ error: GrantError) -> GrantStatus {
        logElement(d, op, error.status, error.reason)
        return error.status
    }

    static func logElement(_ d: Domain, _ op: GrantTableOp, _ status: GrantStatus, _ reason: StaticString) {
        d.refusalsLogged &+= 1
        guard d.refusalsLogged <= Hypercalls.maxRefusalsLogged else { return }
        Log.info("d\(d.id): grant_table_op \(op.name) -> \(status.name): \(reason)")
    }
}
