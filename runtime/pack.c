/* Weight packing into the blocked layouts the JIT kernels read. */
#include "runtime/pack.h"

#include <stdlib.h>
#include <string.h>

static int64_t blocks(int64_t n) { return (n + 15) / 16; }

size_t bcl_pack_conv16c(float *p, const float *w, const float *b, int64_t O, int64_t C, int64_t G, int64_t KH,
                        int64_t KW)
{
    C /= G;   /* input channels per group: the packed block row of an output block */
    int64_t OG = O / G, OBG = blocks(OG), OB = G * OBG, CB = blocks(C), nw = OB * CB * KH * KW * 256;
    size_t n_floats = (size_t)(nw + OB * 16);
    if (!p) return n_floats;
    for (int64_t o = 0; o < O; o++) {
        int64_t ob = (o / OG) * OBG + (o % OG) / 16, lane = (o % OG) % 16;   /* blocks per group */
        for (int64_t c = 0; c < C; c++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    p[(((ob * CB + c / 16) * KH + kh) * KW + kw) * 256 + (c % 16) * 16 + lane] =
                        w[((o * C + c) * KH + kh) * KW + kw];
        if (b) p[nw + ob * 16 + lane] = b[o];
    }
    return n_floats;
}

size_t bcl_pack_dw16c(float *p, const float *w, const float *b, int64_t C, int64_t KH, int64_t KW)
{
    int64_t CB = blocks(C), nw = CB * KH * KW * 16;
    size_t n_floats = (size_t)(nw + CB * 16);
    if (!p) return n_floats;
    for (int64_t c = 0; c < C; c++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                p[(((c / 16) * KH + kh) * KW + kw) * 16 + c % 16] = w[(c * KH + kh) * KW + kw];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)C);
    return n_floats;
}

size_t bcl_pack_linear16(float *p, const float *w, const float *b, int64_t O, int64_t I)
{
    int64_t OB = blocks(O), nw = OB * I * 16;
    size_t n_floats = (size_t)(nw + OB * 16);
    if (!p) return n_floats;
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) p[((o / 16) * I + i) * 16 + o % 16] = w[o * I + i];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return n_floats;
}

size_t bcl_pack_gemm(float *p, const float *w, const float *b, int64_t O, int64_t C, int64_t ot)
{
    int64_t OBK = (O + ot - 1) / ot, nw = OBK * C * ot;
    size_t n_floats = (size_t)(nw + OBK * ot);
    if (!p) return n_floats;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) p[((o / ot) * C + c) * ot + o % ot] = w[o * C + c];
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return n_floats;
}

/* Winograd F(4x4, 3x3) weights: U = G g G^T (6x6 per channel pair, interpolation
 * points 0, +-1, +-2, infinity), as bcl_pack_wino23 with 36 positions. */
size_t bcl_pack_wino43(float *p, const float *w, const float *b, int64_t O, int64_t C)
{
    static const double G[6][3] = {{1.0 / 4, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};
    int64_t OB = blocks(O), Cp = blocks(C) * 16, nw = 36 * OB * Cp * 16;
    size_t n_floats = (size_t)(nw + OB * 16);
    if (!p) return n_floats;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (o * C + c) * 9;
            double t[6][3];   /* G g */
            for (int i = 0; i < 6; i++)
                for (int k = 0; k < 3; k++) t[i][k] = G[i][0] * g[k] + G[i][1] * g[3 + k] + G[i][2] * g[6 + k];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {   /* (G g) G^T */
                    double u = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                    p[(((i * 6 + j) * OB + o / 16) * Cp + c) * 16 + o % 16] = (float)u;
                }
        }
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return n_floats;
}

size_t bcl_pack_wino23(float *p, const float *w, const float *b, int64_t O, int64_t C)
{
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    int64_t OB = blocks(O), Cp = blocks(C) * 16, nw = 16 * OB * Cp * 16;
    size_t n_floats = (size_t)(nw + OB * 16);
    if (!p) return n_floats;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (o * C + c) * 9;
            double t[4][3];   /* G g */
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 3; k++) t[i][k] = G[i][0] * g[k] + G[i][1] * g[3 + k] + G[i][2] * g[6 + k];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {   /* (G g) G^T */
                    double u = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                    p[(((i * 4 + j) * OB + o / 16) * Cp + c) * 16 + o % 16] = (float)u;
                }
        }
    if (b) memcpy(p + nw, b, sizeof(float) * (size_t)O);
    return n_floats;
}
