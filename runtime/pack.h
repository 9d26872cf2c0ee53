/* Weight pre-packing for the JIT's blocked kernels (layouts in backend/llvm/libjit/
 * kernels.h). Each returns a 64-byte aligned buffer (free with free()) holding the
 * packed weights followed by the bias padded to whole 16-blocks (zeros without a
 * bias, and zeros in every padded channel), or NULL when out of memory. */
#ifndef BCL_RT_PACK_H
#define BCL_RT_PACK_H
#include <stddef.h>
#include <stdint.h>

/* w[O][C/G][KH][KW] -> [G*OBG][C/G/16][KH][KW][16c][16o] + bias[G*OBG*16], OBG = ceil(O/G/16):
 * each group's outputs and inputs start new 16-blocks (zero-padded when O/G or C/G is not a
 * multiple of 16); dense (G = 1): [O/16][C/16]... */
float *bcl_pack_conv16c(const float *w, const float *b, int64_t O, int64_t C, int64_t G, int64_t KH,
                        int64_t KW, size_t *n_floats);
/* depthwise w[C][1][KH][KW] -> [C/16][KH][KW][16] + bias[C/16*16] */
float *bcl_pack_dw16c(const float *w, const float *b, int64_t C, int64_t KH, int64_t KW, size_t *n_floats);
/* w[O][I] -> [O/16][I][16] + bias[O/16*16] */
float *bcl_pack_linear16(const float *w, const float *b, int64_t O, int64_t I, size_t *n_floats);
/* 1x1 conv as GEMM: w[O][C] -> [O/ot][C][ot] + bias[O/ot*ot] */
float *bcl_pack_gemm(const float *w, const float *b, int64_t O, int64_t C, int64_t ot, size_t *n_floats);
/* Winograd F(2x2, 3x3): w[O][C][3][3] -> U = G w G^T as [16][O/16][C/16*16][16o]
 * + bias[O/16*16] */
float *bcl_pack_wino23(const float *w, const float *b, int64_t O, int64_t C, size_t *n_floats);
/* Winograd F(4x4, 3x3): the same with U = G w G^T as [36][O/16][C/16*16][16o] + bias */
float *bcl_pack_wino43(const float *w, const float *b, int64_t O, int64_t C, size_t *n_floats);
/* A zeroed 64-byte aligned buffer of n floats (at least one). */
float *bcl_alloc_floats(size_t n);

#endif
