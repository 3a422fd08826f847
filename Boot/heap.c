/* heap.c: the allocator hooks Embedded Swift needs (posix_memalign, free, malloc) over a fixed
 * heap in the image's bss. First fit with splitting and coalescing of neighbours; the search starts
 * at the lowest free block (no free block ever lies below `first_free`), so the long-lived blocks
 * packed at the bottom are not walked on every allocation. It must never grow past its arena,
 * never call Swift, and answer exhaustion with an error, not a crash. */

#include <stddef.h>
#include <stdint.h>

#ifndef HEAP_SIZE
#define HEAP_SIZE (6u * 1024u * 1024u)   /* guests build this file with a smaller -DHEAP_SIZE */
#endif
#define HEADER_SIZE 16u
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

/* Carve an aligned payload out of a free block; the part before the alignment point becomes a
 * free block of its own when big enough, otherwise it is folded into the previous block. */
static void *take(block_t *b, uint32_t size, uint32_t align) {
    uintptr_t payload = (uintptr_t)b + HEADER_SIZE;
    uintptr_t aligned = (payload + align - 1) & ~(uintptr_t)(align - 1);
    while (aligned != payload && aligned - payload < HEADER_SIZE + 16) aligned += align;
    uint32_t lead = (uint32_t)(aligned - payload);
    if (lead + size > b->size) return 0;
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
    uint32_t want = (uint32_t)((size + 15) & ~(size_t)15);
    block_t *lowest_free = 0;
    for (block_t *b = first_free; b; b = next_of(b)) {
        if (!b->free) continue;
        if (!lowest_free) lowest_free = b;
        if (b->size < want) continue;
        void *p = take(b, want, (uint32_t)align);
        if (p) {
            /* Below lowest_free nothing was free; b itself (now used, or its free lead) is a
             * block header at or above it. */
            first_free = lowest_free;
            *out = p;
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
uint32_t apus_heap_size(void) { return HEAP_SIZE; }
