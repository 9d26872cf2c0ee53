/* Internals shared by the tensor-file readers: little-endian
 * decoding, half-precision widening, overflow-checked sizes, printable names. */
#ifndef BCL_IO_UTIL_H
#define BCL_IO_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "support/file.h"

/* Decoding is byte-wise so that unaligned buffers and big-endian hosts both work. */
static inline uint16_t io_le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t io_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t io_le64(const unsigned char *p)
{
    return (uint64_t)io_le32(p) | (uint64_t)io_le32(p + 4) << 32;
}
static inline void io_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

static inline float io_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t io_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline double io_bits_f64(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

/* IEEE binary16 -> binary32, exact for every value (subnormals, inf, NaN included). */
static inline float io_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        /* subnormal or zero: mant * 2^-24 is exact in binary32 */
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return io_bits_f32(sign | 0x7f800000u | mant << 13);
    return io_bits_f32(sign | (exp - 15 + 127) << 23 | mant << 13);
}

/* bfloat16 is the high half of a binary32. */
static inline float io_bf16_to_f32(uint16_t h) { return io_bits_f32((uint32_t)h << 16); }

/* *out = a * b; false when the product exceeds INT64_MAX (a, b >= 0). */
static inline bool io_mul_ok(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a) return false;
    *out = a * b;
    return true;
}

#endif
