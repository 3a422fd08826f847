// IdleScrub.swift: what the CPU does while no domain can run and free memory is dirty: it zeroes free
// frames (Xen's idle scrubbing), so that building a domain takes frames already scrubbed instead of
// zeroing them while dom0 waits. Bounded and preemptible: an interrupt that is waiting is taken after
// every frame, and the loop hands the CPU back as soon as a domain woke. It never runs while a domain does.

import ApusCore

enum IdleScrub {
    /// Frames per call at most: the scheduler looks for work again after each call.
    static let batch = 32
    /// Frames scrubbed while idle since boot (for the logs).
    static var scrubbed: UInt64 = 0

    /// Scrubs up to `batch` dirty free frames, opening an interrupt window after each. False,
    /// having done nothing, when there is nothing to scrub: the caller halts instead.
    static func step() -> Bool {
        guard Machine.frames.dirtyCount > 0 else { return false }
        var done = 0
        while done < batch, Machine.frames.scrubOneFree(memory: &Machine.memory) {
            done += 1
            apus_interrupt_window()
            if Scheduler.preemptRequested { break }
        }
        scrubbed &+= UInt64(done)
        return done > 0
    }
}
