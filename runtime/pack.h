/* Weight pre-packing for the JIT's blocked kernels (layouts in backend/llvm/libjit/
 * kernels.h). Each writes into p (zeroed, 64-byte aligned) the packed weights followed
 * by the bias padded to whole 16-blocks (zeros without a bias, and zeros in every
 * padded channel), and returns how many floats that is; with p NULL it only returns
 * the count, so that a caller can lay out all packs in one buffer. */
#ifndef BCL_RT_PACK_H
#define BCL_RT_PACK_H
#include <stddef.h>
#include <stdint.h>

/* w[O][C/G][KH][KW] -> [G*OBG][C/G/16][KH][KW][16c][16o] + bias[G*OBG*16], OBG = ceil(O/G/16):
 * each group's outputs and inputs start new 16-blocks (zero-padded when O/G or C/G is not a
 * multiple of 16); dense (G = 1): [O/16][C/16]... */
size_t bcl_pack_conv16c(float *p, const float *w, const float *b, int64_t O, int64_t C, int64_t G, int64_t KH,
                        int64_t KW);
/* depthwise w[C][1][KH][KW] -> [C/16][KH][KW][16] + bias[C/16*16] */
size_t bcl_pack_dw16c(float *p, const float *w, const float *b, int64_t C, int64_t KH, int64_t KW);
/* w[O][I] -> [O/16][I][16] + bias[O/16*16] */
size_t bcl_pack_linear16(float *p, const float *w, const float *b, int64_t O, int64_t I);
/* 1x1 conv as GEMM: w[O][C] -> [O/ot][C][ot] + bias[O/ot*ot] */
size_t bcl_pack_gemm(float *p, const float *w, const float *b, int64_t O, int64_t C, int64_t ot);
/* Winograd F(2x2, 3x3): w[O][C][3][3] -> U = G w G^T as [16][O/16][C/16*16][16o]
 * + bias[O/16*16] */
size_t bcl_pack_wino23(float *p, const float *w, const float *b, int64_t O, int64_t C);
/* Winograd F(4x4, 3x3): the same with U = G w G^T as [36][O/16][C/16*16][16o] + bias */
size_t bcl_pack_wino43(float *p, const float *w, const float *b, int64_t O, int64_t C);

#endif
