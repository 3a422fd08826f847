/* heap_check.c: a host test of Boot/heap.c, the allocator under the hypervisor's and the guests' Swift
 * heaps. Random allocations (16-byte and page alignment, small and large) and frees, seeded, against
 * a reference: every allocation must land in the block a plain first-fit walk from the bottom of the
 * arena would pick (the search's starting hint must never skip a fitting block), and a large one at the
 * top of the highest block that holds it, payloads must never
 * overlap (each is filled with its own byte and checked before it is freed), exhaustion must answer
 * ENOMEM, and freeing everything must give every byte back as one free block. Built and run by
 * `make test` with the host's C compiler; it never runs in the hypervisor. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_SIZE (1024u * 1024u)
#define posix_memalign heap_posix_memalign
#define malloc heap_malloc
#define free heap_free            /* also renames block_t's `free` field, here as in heap.c */
#include "../../Boot/heap.c"

#define SLOTS 3000
static void *ptr[SLOTS];
static size_t len[SLOTS];
static unsigned char fill[SLOTS];
static unsigned long long state = 20261130;

static unsigned long long next(void) {          /* SplitMix64 */
    unsigned long long z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The block a first-fit walk from the bottom would carve `want` bytes at `align` from; for a large
 * request, the highest block whose top can hold it. */
static block_t *reference_block(uint32_t want, uint32_t align) {
    if (want >= HEAP_LARGE) {
        block_t *fit = 0;
        for (block_t *b = first; b; b = next_of(b)) {
            if (!b->free || b->size < want) continue;
            uintptr_t payload = (uintptr_t)b + HEADER_SIZE;
            uintptr_t aligned = (payload + b->size - want) & ~(uintptr_t)(align - 1);
            while (aligned > payload && aligned - payload < HEADER_SIZE + 16) aligned -= align;
            if (aligned >= payload && (aligned == payload || aligned - payload >= HEADER_SIZE + 16)) fit = b;
        }
        return fit;
    }
    for (block_t *b = first; b; b = next_of(b)) {
        if (!b->free || b->size < want) continue;
        uintptr_t payload = (uintptr_t)b + HEADER_SIZE;
        uintptr_t aligned = (payload + align - 1) & ~(uintptr_t)(align - 1);
        while (aligned != payload && aligned - payload < HEADER_SIZE + 16) aligned += align;
        if ((uint32_t)(aligned - payload) + want <= b->size) return b;
    }
    return 0;
}

static int fail(const char *what, long step) {
    printf("FAIL heap: %s (step %ld)\n", what, step);
    return 1;
}

/* The free list names exactly the free blocks, lowest first, and its back links agree. */
static int free_list_matches(void) {
    block_t *listed = free_head, *back = 0;
    for (block_t *b = first; b; b = next_of(b)) {
        if (!b->free) continue;
        if (listed != b || prev_free(b) != back) return 0;
        back = b;
        listed = next_free(b);
    }
    return listed == 0;
}

int main(void) {
    long steps = 1000000, allocations = 0, refusals = 0;
    for (long step = 0; step < steps; step++) {
        if (step % 997 == 0 && !free_list_matches()) return fail("the free list does not name the free blocks in address order", step);
        int i = (int)(next() % SLOTS);
        if (ptr[i]) {
            for (size_t k = 0; k < len[i]; k++)
                if (((unsigned char *)ptr[i])[k] != fill[i]) return fail("a payload was overwritten", step);
            heap_free(ptr[i]);
            ptr[i] = 0;
            continue;
        }
        size_t size = next() % 400 == 0 ? HEAP_LARGE + next() % (HEAP_SIZE / 3) : next() % 8 == 0 ? next() % 6000 : next() % 96;
        size_t align = next() % 12 == 0 ? 4096 : 16;
        init_once();
        uint32_t want = (uint32_t)(((size ? size : 16) + 15) & ~(size_t)15);
        block_t *expected = reference_block(want, (uint32_t)align);
        /* Its extent now: carving it splits it. */
        uint8_t *low = (uint8_t *)expected, *high = expected ? low + HEADER_SIZE + expected->size : 0;
        void *p = 0;
        int rc = heap_posix_memalign(&p, align, size);
        if (!expected) {
            if (rc != ENOMEM || p) return fail("an allocation no block can hold did not answer ENOMEM", step);
            refusals++;
            continue;
        }
        if (rc != 0 || !p) return fail("an allocation a block could hold was refused", step);
        if ((uintptr_t)p % align) return fail("a payload is misaligned", step);
        if ((uint8_t *)p < low || (uint8_t *)p + size > high)
            return fail("the allocation is not in the block first fit (or, when large, top fit) picks", step);
        if (want >= HEAP_LARGE && high - ((uint8_t *)p + want) >= align + HEADER_SIZE + 16)
            return fail("a large allocation is not at the top of its block", step);
        ptr[i] = p;
        len[i] = size;
        fill[i] = (unsigned char)next();
        memset(p, fill[i], size);
        allocations++;
    }
    for (int i = 0; i < SLOTS; i++) if (ptr[i]) heap_free(ptr[i]);
    if (apus_heap_in_use() != 0) return fail("bytes still in use after everything was freed", steps);
    if (!first->free || first->size != HEAP_SIZE - HEADER_SIZE) return fail("the arena did not coalesce back into one block", steps);
    printf("PASS heap: %ld allocations and %ld refusals in %ld steps, every one where first (or top) fit puts it\n",
           allocations, refusals, steps);
    return 0;
}
