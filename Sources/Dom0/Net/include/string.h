/* string.h: the few C library calls lwIP makes, for dom0's freestanding build. memcpy, memmove,
 * memset and memcmp are Boot/memory.asm's; the string ones are in lwip_libc.c. Declarations only. */
#ifndef APUS_STRING_H
#define APUS_STRING_H
#include <stddef.h>
void *memcpy(void *to, const void *from, size_t n);
void *memmove(void *to, const void *from, size_t n);
void *memset(void *to, int byte, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
#endif
