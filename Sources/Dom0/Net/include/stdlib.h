/* stdlib.h: what lwIP names from the C library in dom0's freestanding build (atoi, for netif_find).
 * No allocator: lwIP uses its own static heap (MEM_LIBC_MALLOC 0). Declarations only. */
#ifndef APUS_STDLIB_H
#define APUS_STDLIB_H
int atoi(const char *s);
#endif
