/* heap.c: the allocator hooks Embedded Swift needs (posix_memalign, free, malloc) over a fixed
 * heap in the image's bss. First fit with splitting and coalescing of neighbours. The free blocks
 * are also linked to each other in address order (the links live in their payloads), so a search
 * walks only free blocks, lowest first, and never the blocks in use between them. Large requests (HEAP_LARGE and up: a
 * kernel image staged for the domain builder) are carved from the top of the highest block that
 * holds them, so the small long-lived blocks allocated while one is held never land in the hole it
 * leaves, and the next large request finds it whole. It must never grow past its arena, never call
 * Swift, and answer exhaustion with an error, not a crash. */

#include <stddef.h>
#include <stdint.h>

#ifndef HEAP_SIZE
#define HEAP_SIZE (8u * 1024u * 1024u)   /* guests build this file with a smaller -DHEAP_SIZE */
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
static block_t *free_head;     /* the lowest free block; each links to the next free one above */
static uint32_t heap_in_use;
static uint32_t heap_peak;
static uint32_t heap_allocations;   /* successful allocations since boot (make bench: per operation) */

static block_t *next_of(block_t *b) {
    uint8_t *n = (uint8_t *)b + HEADER_SIZE + b->size;
    return n >= arena + HEAP_SIZE ? 0 : (block_t *)n;
}

/* A free block's links, in its first payload bytes (every free block has 16 or more). */
static block_t **links(block_t *b) { return (block_t **)((uint8_t *)b + HEADER_SIZE); }
static block_t *next_free(block_t *b) { return links(b)[0]; }
static block_t *prev_free(block_t *b) { return links(b)[1]; }

/* Links free block b into the list just after `after` (0: at the head). */
static void link_after(block_t *after, block_t *b) {
    block_t *next = after ? next_free(after) : free_head;
    links(b)[0] = next;
    links(b)[1] = after;
    if (next) links(next)[1] = b;
    if (after) links(after)[0] = b; else free_head = b;
}

static void unlink(block_t *b) {
    block_t *next = next_free(b), *prev = prev_free(b);
    if (next) links(next)[1] = prev;
    if (prev) links(prev)[0] = next; else free_head = next;
}

/* The free block just below address b in the list (0 when none): where b goes. */
static block_t *free_below(block_t *b) {
    block_t *below = 0;
    for (block_t *f = free_head; f && f < b; f = next_free(f)) below = f;
    return below;
}

static void init_once(void) {
    if (first) return;
    first = (block_t *)arena;
    first->size = HEAP_SIZE - HEADER_SIZE;
    first->free = 1;
    first->prev = 0;
    free_head = 0;
    link_after(0, first);
}

/* Cuts b down to `want` bytes; the rest, when it can hold a block of its own, becomes a free block
 * (returned, not yet linked). */
static block_t *split(block_t *b, uint32_t want) {
    if (b->size < want + HEADER_SIZE + 16) return 0;
    block_t *rest = (block_t *)((uint8_t *)b + HEADER_SIZE + want);
    rest->size = b->size - want - HEADER_SIZE;
    rest->free = 1;
    rest->prev = b;
    block_t *after = next_of(rest);
    if (after) after->prev = rest;
    b->size = want;
    return rest;
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
    block_t *anchor;                         /* the free block the leftover goes after in the list */
    if (lead) {
        anchor = b;                          /* the lead stays free, where b was in the list */
        block_t *nb = (block_t *)(aligned - HEADER_SIZE);
        nb->size = b->size - lead;
        nb->free = 1;
        nb->prev = b;
        block_t *after = next_of(nb);
        if (after) after->prev = nb;
        b->size = lead - HEADER_SIZE;
        b = nb;
    } else {
        anchor = prev_free(b);
        unlink(b);
    }
    block_t *rest = split(b, size);
    if (rest) link_after(anchor, rest);
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
        for (block_t *b = free_head; b; b = next_free(b)) {
            uintptr_t a = place(b, want, (uint32_t)align, 1);
            if (a) { fit = b; at = a; }
        }
        if (!fit) { *out = 0; return ENOMEM; }
        *out = take(fit, want, at);
        heap_allocations++;
        return 0;
    }
    for (block_t *b = free_head; b; b = next_free(b)) {
        uintptr_t at = place(b, want, (uint32_t)align, 0);
        if (at) {
            void *p = take(b, want, at);
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
    int placed = 0;                          /* whether b is in the free list yet */
    block_t *n = next_of(b);
    if (n && n->free) {                      /* merge with the block above: b takes its place in the list */
        block_t *below = prev_free(n);
        unlink(n);
        b->size += HEADER_SIZE + n->size;
        block_t *after = next_of(b);
        if (after) after->prev = b;
        link_after(below, b);
        placed = 1;
    }
    if (b->prev && b->prev->free) {          /* and with the block below, which is listed already */
        block_t *p2 = b->prev;
        if (placed) unlink(b);
        p2->size += HEADER_SIZE + b->size;
        block_t *after = next_of(p2);
        if (after) after->prev = p2;
        return;
    }
    if (!placed) link_after(free_below(b), b);
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
