// MemoryTeardown.swift: a stopped domain gives everything back: over its own frames (never the whole table) the paging
// core drops every reference its tables, pins, every vCPU's base pointer and descriptor frames held, then each frame returns to the
// free pool, dirty until the idle loop scrubs it, its M2P entry invalid. It must never free a frame still referenced.

import ApusCore

enum MemoryTeardown {
    static func run(_ d: Domain) {
        if Domains.isRunning(d) { Scheduler.leave(d) }
        VcpuInfoPlacement.release(d)
        FifoEventChannelHypercall.release(d, why: "the domain is torn down")
        for v in d.vcpus {
            LocalDescriptorTable.release(v.ldtFrames)
            v.ldtFrames = []
            for f in v.gdtFrames { Machine.frames.putDescriptorFrame(f, memory: &Machine.memory) }
            v.gdtFrames = []
            v.gdtEntries = 0
        }
        let stuck = Machine.frames.teardown(state: &d.memory, frames: d.frames, memory: &Machine.memory)
        // Its mappings of other domains' grants go, and its table with them unless others still map its
        // grants: a frame of its they map stays allocated and is freed at their last unmap.
        Grants.destroyDomain(d.id)
        var returned: UInt32 = 0
        for mfn in d.frames {
            if Machine.frames.release(mfn, from: .domain(d.id)) == .released {
                returned += 1
                MachineToPhysicalTable.invalidate(mfn)
            }
        }
        d.frames = []
        let free = Machine.frames.freeCount
        if d.id == 0 || TestHooks.logsEveryTeardown {
            Log.info("d\(d.id): \(returned) frames returned to the free pool (\(UInt32(stuck)) still referenced); \(free) free, \(d.freeFramesBefore) before it was built: \(free == d.freeFramesBefore ? "back to the starting value" : "NOT back to the starting value")")
        }
    }
}
