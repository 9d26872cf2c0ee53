/* Weight packing into the blocked layouts the JIT kernels read. */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

static int64_t blocks(int64_t n) { return (n + 15) / 16; }

float *bcl_alloc_floats(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

float *bcl_pack_conv16c(const float *w, const float *b, int64_t O, int64_t C, int64_t KH, int64_t KW,
                        size_t *n_floats)
{
    int64_t OB = blocks(O), CB = blocks(C), nw = OB * CB * KH * KW * 256;
    *n_floats = (size_t)(nw + OB * 16);
    float *p = bcl_alloc_floats(*n_floats);
    if (!p) return NULL;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    p[((((o / 16) * CB + c / 16) * KH + kh) * KW + kw) * 256 + (c % 16) * 16 + o % 16] =
                        w[((o * C + c) * KH + kh) * KW + kw];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return p;
}

float *bcl_pack_dw16c(const float *w, const float *b, int64_t C, int64_t KH, int64_t KW, size_t *n_floats)
{
    int64_t CB = blocks(C), nw = CB * KH * KW * 16;
    *n_floats = (size_t)(nw + CB * 16);
    float *p = bcl_alloc_floats(*n_floats);
    if (!p) return NULL;
    for (int64_t c = 0; c < C; c++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                p[(((c / 16) * KH + kh) * KW + kw) * 16 + c % 16] = w[(c * KH + kh) * KW + kw];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)C);
    return p;
}

float *bcl_pack_linear16(const float *w, const float *b, int64_t O, int64_t I, size_t *n_floats)
{
    int64_t OB = blocks(O), nw = OB * I * 16;
    *n_floats = (size_t)(nw + OB * 16);
    float *p = bcl_alloc_floats(*n_floats);
    if (!p) return NULL;
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) p[((o / 16) * I + i) * 16 + o % 16] = w[o * I + i];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return p;
}

float *bcl_pack_gemm(const float *w, const float *b, int64_t O, int64_t C, int64_t ot, size_t *n_floats)
{
    int64_t OBK = (O + ot - 1) / ot, nw = OBK * C * ot;
    *n_floats = (size_t)(nw + OBK * ot);
    float *p = bcl_alloc_floats(*n_floats);
    if (!p) return NULL;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) p[((o / ot) * C + c) * ot + o % ot] = w[o * C + c];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return p;
}
