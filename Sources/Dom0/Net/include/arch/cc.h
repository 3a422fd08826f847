/* arch/cc.h: lwIP's port to dom0 (i686, freestanding, little-endian): integer formats, and what an
 * lwIP assertion does (dom0 prints it and crashes itself; the hypervisor and other domains go on). */
#ifndef APUS_ARCH_CC_H
#define APUS_ARCH_CC_H

#include <stdint.h>
#include <stddef.h>

#define BYTE_ORDER LITTLE_ENDIAN
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "u"

void apus_lwip_assert(const char *message, const char *file, int line);
uint32_t apus_lwip_random(void);

#define LWIP_PLATFORM_DIAG(x) do { } while (0)
#define LWIP_PLATFORM_ASSERT(x) apus_lwip_assert((x), __FILE__, __LINE__)
#endif
