/* heap.c: the allocator hooks Embedded Swift needs (posix_memalign, free, malloc) over a fixed
 * heap in the image's bss. First fit with splitting and coalescing of neighbours; the search starts
 * at the lowest free block (no free block ever lies below `first_free`), so the long-lived blocks
 * packed at the bottom are not walked on every allocation. Large requests (HEAP_LARGE and up: a
 * kernel image staged for the domain builder) are carved from the top of the highest block that
 * holds them, so the small long-lived blocks allocated while one is held never land in the hole it
 * leaves, and the next large request finds it whole. It must never grow past its arena, never call
 * Swift, and answer exhaustion with an error, not a crash. */

#include <stddef.h>
#include <stdint.h>

#ifndef HEAP_SIZE
#define HEAP_SIZE (6u * 1024u * 1024u)   /* guests build this file with a smaller -DHEAP_SIZE */
#endif
#define HEADER_SIZE 16u
#define HEAP_LARGE (256u * 1024u)
#define ENOMEM 12
#define EINVAL 22

typedef struct block {
    uint32_t size;         /* payload bytes after this header */
    uint32_t free;         /* 1 when the block is on no one's hands */
    struct block *prev;    /* the block just below in the arena, or 0 */
    uint32_t pad;
} block_t;

static uint8_t arena[HEAP_SIZE] __attribute__((aligned(16)));
static block_t *first;
static block_t *first_free;    /* a block header; no free block lies below it */
static uint32_t heap_in_use;
static uint32_t heap_peak;
static uint32_t heap_allocations;   /* successful allocations since boot (make bench: per operation) */

static block_t *next_of(block_t *b) {
    uint8_t *n = (uint8_t *)b + HEADER_SIZE + b->size;
    return n >= arena + HEAP_SIZE ? 0 : (block_t *)n;
}

static void init_once(void) {
    if (first) return;
    first = (block_t *)arena;
    first->size = HEAP_SIZE - HEADER_SIZE;
    first->free = 1;
    first->prev = 0;
    first_free = first;
}

static void split(block_t *b, uint32_t want) {
    if (b->size < want + HEADER_SIZE + 16) return;
    block_t *rest = (block_t *)((uint8_t *)b + HEADER_SIZE + want);
    rest->size = b->size - want - HEADER_SIZE;
    rest->free = 1;
    rest->prev = b;
    block_t *after = next_of(rest);
    if (after) after->prev = rest;
    b->size = want;
}

/* The payload address a `size`-byte request at `align` would get in free block b: from its bottom
 * (first fit) or its top (large requests); 0 when it does not fit. A gap before the payload must be
 * able to hold a free block of its own (a header and 16 bytes). */
static uintptr_t place(block_t *b, uint32_t size, uint32_t align, int from_top) {
    if (b->size < size) return 0;
    uintptr_t payload = (uintptr_t)b + HEADER_SIZE;
    uintptr_t end = payload + b->size;
    if (!from_top) {
        uintptr_t aligned = (payload + align - 1) & ~(uintptr_t)(align - 1);
        while (aligned != payload && aligned - payload < HEADER_SIZE + 16) aligned += align;
        return aligned - payload + size <= b->size ? aligned : 0;
    }
    uintptr_t aligned = (end - size) & ~(uintptr_t)(align - 1);
    while (aligned > payload && aligned - payload < HEADER_SIZE + 16) aligned -= align;
    return aligned >= payload && (aligned == payload || aligned - payload >= HEADER_SIZE + 16) ? aligned : 0;
}

/* Carve the payload at `aligned` (from place) out of free block b; the part before it becomes a
 * free block of its own, the part after it too when big enough (otherwise it stays in the payload's block). */
static void *take(block_t *b, uint32_t size, uintptr_t aligned) {
    uintptr_t payload = (uintptr_t)b + HEADER_SIZE;
    uint32_t lead = (uint32_t)(aligned - payload);
    if (lead) {
        block_t *nb = (block_t *)(aligned - HEADER_SIZE);
        nb->size = b->size - lead;
        nb->free = 1;
        nb->prev = b;
        block_t *after = next_of(nb);
        if (after) after->prev = nb;
        b->size = lead - HEADER_SIZE;
        b = nb;
    }
    split(b, size);
    b->free = 0;
    heap_in_use += b->size + HEADER_SIZE;
    if (heap_in_use > heap_peak) heap_peak = heap_in_use;
    return (void *)((uint8_t *)b + HEADER_SIZE);
}

int posix_memalign(void **out, size_t align, size_t size) {
    init_once();
    if (align < 16) align = 16;
    if (align & (align - 1)) return EINVAL;
    if (size == 0) size = 16;
    if (size > HEAP_SIZE) { *out = 0; return ENOMEM; }
    uint32_t want = (uint32_t)((size + 15) & ~(size_t)15);
    if (want >= HEAP_LARGE) {
        block_t *fit = 0;
        uintptr_t at = 0;
        for (block_t *b = first_free; b; b = next_of(b)) {
            uintptr_t a = b->free ? place(b, want, (uint32_t)align, 1) : 0;
            if (a) { fit = b; at = a; }
        }
        if (!fit) { *out = 0; return ENOMEM; }
        /* The lead left below the payload keeps fit's header, still free: first_free still holds. */
        *out = take(fit, want, at);
        heap_allocations++;
        return 0;
    }
    block_t *lowest_free = 0;
    for (block_t *b = first_free; b; b = next_of(b)) {
        if (!b->free) continue;
        if (!lowest_free) lowest_free = b;
        uintptr_t at = place(b, want, (uint32_t)align, 0);
        if (at) {
            void *p = take(b, want, at);
            /* Below lowest_free nothing was free; b itself (now used, or its free lead) is a
             * block header at or above it. */
            first_free = lowest_free;
            *out = p;
            heap_allocations++;
            return 0;
        }
    }
    *out = 0;
    return ENOMEM;
}

void *malloc(size_t size) {
    void *p = 0;
    return posix_memalign(&p, 16, size) == 0 ? p : 0;
}

void free(void *p) {
    if (!p) return;
    block_t *b = (block_t *)((uint8_t *)p - HEADER_SIZE);
    if ((uint8_t *)b < arena || (uint8_t *)b >= arena + HEAP_SIZE || b->free) return;
    b->free = 1;
    heap_in_use -= b->size + HEADER_SIZE;
    block_t *n = next_of(b);
    if (n && n->free) {                      /* merge with the block above */
        if (first_free == n) first_free = b; /* n stops being a header */
        b->size += HEADER_SIZE + n->size;
        block_t *after = next_of(b);
        if (after) after->prev = b;
    }
    if (b->prev && b->prev->free) {          /* and with the block below */
        block_t *p2 = b->prev;
        if (first_free == b) first_free = p2;
        p2->size += HEADER_SIZE + b->size;
        block_t *after = next_of(p2);
        if (after) after->prev = p2;
        b = p2;
    }
    if (b < first_free) first_free = b;
}

uint32_t apus_heap_in_use(void) { return heap_in_use; }
uint32_t apus_heap_peak(void) { return heap_peak; }
uint32_t apus_heap_allocations(void) { return heap_allocations; }
uint32_t apus_heap_size(void) { return HEAP_SIZE; }

/* For Swift callers that must survive exhaustion (Swift's own allocate cannot answer it): 0 when no
 * block can hold `size` bytes at `align`; the block goes back with free (deallocate). */
void *apus_try_allocate(uint32_t size, uint32_t align) {
    void *p = 0;
    return posix_memalign(&p, align, size) == 0 ? p : 0;
}
