/* The transformer kernels of libjit: the register-blocked GEMM of Linear layers, the
 * row copies that data movement with a contiguous last axis becomes, and the one-pass
 * layer norm. Included at the end of kernels.c (one bitcode unit), so the helpers
 * there (ld16, splat, act16, store_lanes, min64) are in scope. Layouts: kernels.h. */

/* rt rows x nb 16-column blocks of x [rows, I] times packed w ([OB][I][16] + bias),
 * rt and nb constants after inlining: rt*nb vector accumulators, one broadcast of x per
 * row and one load of w per block for every i. */
INL void lin_tile(const float *restrict x, const float *restrict wp, const float *restrict res,
                   float *restrict y, int64_t r0, const int rt, const int nb, int64_t I, int64_t O, int64_t OB,
                   int64_t ob, int64_t act, float alpha)
{
    v16f acc[12][2];
#pragma clang loop unroll(full)
    for (int t = 0; t < rt; t++)
#pragma clang loop unroll(full)
        for (int c = 0; c < nb; c++) acc[t][c] = splat(0);
    const float *w0 = wp + ob * I * 16;
    const float *xr = x + r0 * I;
    for (int64_t i = 0; i < I; i++) {
        v16f wv[2];
#pragma clang loop unroll(full)
        for (int c = 0; c < nb; c++) {
            pf_ahead(w0 + (c * I + i) * 16);
            wv[c] = ld16(w0 + (c * I + i) * 16);
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < rt; t++) {
            v16f xs = splat(xr[t * I + i]);
#pragma clang loop unroll(full)
            for (int c = 0; c < nb; c++) acc[t][c] += xs * wv[c];
        }
    }
#pragma clang loop unroll(full)
    for (int c = 0; c < nb; c++) {
        v16f bv = ld16(wp + OB * I * 16 + (ob + c) * 16);
        int64_t o0 = (ob + c) * 16;
        for (int t = 0; t < rt; t++) {
            int64_t base = (r0 + t) * O + o0;
            v16f v = acc[t][c] + bv;
            if (o0 + 16 <= O) {   /* a full block: vector residual, activation, store */
                if (res) v += ld16(res + base);
                *(v16fu *)(y + base) = act16(act, v, alpha);
            } else {
                store_lanes(y, res, v, base, 1, O - o0, act, alpha);
            }
        }
    }
}

/* Items: column tiles (NB blocks of 16) outer, row tiles (RT rows) inner, so the packed
 * weights of a column tile stay in cache while the rows stream past them. */
KERNEL(gemm)
{
    PARAMS(gemm);
    int64_t rows = kp->rows, I = kp->I, O = kp->O, OB = kp->OB, act = kp->act, RT = kp->RT, NB = kp->NB;
    float alpha = fbits(kp->alpha);
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *res = slot_ptr(slots, kp->res);
    float *y = slot_ptr(slots, kp->y);
    int64_t nrt = (rows + RT - 1) / RT;
    for (int64_t it = begin; it < end; it++) {
        int64_t ob = (it / nrt) * NB, r0 = (it % nrt) * RT, r1 = min64(r0 + RT, rows);
        bool two = NB == 2 && ob + 1 < OB;
        int64_t r = r0;
        if (RT == 8 && r + 8 <= r1) {
            if (two) lin_tile(x, wp, res, y, r, 8, 2, I, O, OB, ob, act, alpha);
            else lin_tile(x, wp, res, y, r, 8, 1, I, O, OB, ob, act, alpha);
            r += 8;
        }
        if (RT == 6 && r + 6 <= r1) {
            lin_tile(x, wp, res, y, r, 6, 1, I, O, OB, ob, act, alpha);
            r += 6;
        }
        for (; r + 2 <= r1; r += 2) {
            if (two) lin_tile(x, wp, res, y, r, 2, 2, I, O, OB, ob, act, alpha);
            else lin_tile(x, wp, res, y, r, 2, 1, I, O, OB, ob, act, alpha);
        }
        for (; r < r1; r++) {
            if (two) lin_tile(x, wp, res, y, r, 1, 2, I, O, OB, ob, act, alpha);
            else lin_tile(x, wp, res, y, r, 1, 1, I, O, OB, ob, act, alpha);
        }
    }
}

/* A gather whose last axis is copied as it is (transpose, slice, roll or pad of the
 * other axes): one contiguous run of len floats per output row; the row's source is
 * found per row with the index rules of KERNEL(gather) (mode 0 out of range: the
 * pad value). */
KERNEL(gather_rows)
{
    PARAMS(gather_rows);
    int64_t rank = kp->rank, nrows = kp->nrows, len = kp->len, per = kp->per;
    float value = fbits(kp->value);
    const int64_t *yd = kp->ydims, *mode = kp->mode, *mul = kp->mul, *add = kp->add, *xd = kp->xdim, *xs = kp->xstr;
    const float *x = (const float *)slot_ptr(slots, kp->x) + kp->xoff;
    float *y = slot_ptr(slots, kp->y);
    int64_t hi = min64(end * per, nrows);
    for (int64_t r = begin * per; r < hi; r++) {
        int64_t rem = r, off = 0;
        int inside = 1;
        for (int64_t k = rank - 1; k >= 0; k--) {
            int64_t yi = rem % yd[k], xi;
            rem /= yd[k];
            if (mode[k] == 0) {
                xi = mul[k] * yi + add[k];
                if (xi < 0 || xi >= xd[k]) inside = 0;
            } else {
                xi = yi - add[k];
                xi = xi < 0 ? xi + xd[k] : xi >= xd[k] ? xi - xd[k] : xi;   /* |shift| < xd: planned so */
            }
            off += xi * xs[k];
        }
        float *yr = y + r * len;
        if (inside) {
            memcpy(yr, x + off, sizeof(float) * (size_t)len);
        } else {
            for (int64_t j = 0; j < len; j++) yr[j] = value;
        }
    }
}

INL float hsum16(v16f v)   /* a fixed pairwise order (clang has no float reduce builtin) */
{
    float h[8];
#pragma clang loop unroll(full)
    for (int j = 0; j < 8; j++) h[j] = v[j] + v[j + 8];
    return ((h[0] + h[4]) + (h[1] + h[5])) + ((h[2] + h[6]) + (h[3] + h[7]));
}

/* Layer norm, one row per item, in float vectors: the sum and the sum of squares of
 * the centred values (two reads of a row that is in L1), then the affine output. */
KERNEL(layer_norm_v)
{
    PARAMS(layer_norm_v);
    int64_t inner = kp->inner;
    float eps = fbits(kp->eps);
    const float *x = slot_ptr(slots, kp->x), *g = slot_ptr(slots, kp->g), *b = slot_ptr(slots, kp->b);
    float *y = slot_ptr(slots, kp->y);
    int64_t nv = inner / 16 * 16;
    for (int64_t r = begin; r < end; r++) {
        const float *px = x + r * inner;
        float *py = y + r * inner;
        v16f s = splat(0);
        float st = 0;
        for (int64_t i = 0; i < nv; i += 16) s += ld16(px + i);
        for (int64_t i = nv; i < inner; i++) st += px[i];
        float mean = (st + hsum16(s)) / (float)inner;
        v16f q = splat(0), m = splat(mean);
        float qt = 0;
        for (int64_t i = 0; i < nv; i += 16) {
            v16f d = ld16(px + i) - m;
            q += d * d;
        }
        for (int64_t i = nv; i < inner; i++) qt += (px[i] - mean) * (px[i] - mean);
        float inv = 1.0f / sqrtf((qt + hsum16(q)) / (float)inner + eps);
        v16f vi = splat(inv);
        for (int64_t i = 0; i < nv; i += 16) {
            v16f v = (ld16(px + i) - m) * vi;
            if (g) v *= ld16(g + i);
            if (b) v += ld16(b + i);
            *(v16fu *)(py + i) = v;
        }
        for (int64_t i = nv; i < inner; i++) {
            float v = (px[i] - mean) * inv;
            if (g) v *= g[i];
            if (b) v += b[i];
            py[i] = v;
        }
    }
}

/* Fused attention, tiled: an item is one batch index (head, window) and MB query rows.
 * K comes transposed, kt [nb][D][Np] (KERNEL(attn_kt) just before; Np: N rounded up to
 * 16, zero keys past N), so the scores of RT query rows are a small GEMM with 16 keys per vector
 * (RT x NBK vector accumulators); they stay in s (RT rows of Np) for the softmax
 * (float exp), and the weighted sum of V's rows is a second GEMM with RT x EB
 * accumulators of 16 output columns. bias and mask (either may be absent) broadcast
 * over the batch dims with their own strides and are added to the scaled scores. */
#define ATT_RT 4
#define ATT_MAX_NP BCL_JIT_ATTN_TILE_NP   /* keys per row in s */

/* The offset of batch index b (over the rank axes bd) in an operand with strides bs. */
INL int64_t batch_off(int64_t b, int64_t rank, const int64_t *bd, const int64_t *bs)
{
    int64_t off = 0;
    for (int64_t i = rank - 1; i >= 0; i--) {
        off += (b % bd[i]) * bs[i];
        b /= bd[i];
    }
    return off;
}

/* r[i][j] <- r[j][i] for 16 rows of 16: off-diagonal blocks of 8, 4, 2 and 1 swapped
 * in turn ([[A, B], [C, D]] -> [[A, C], [B, D]] at every scale), two-source shuffles. */
#define SWAP_STAGE(b, LO, HI)                                                                    \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < 16; i++)                                                                 \
        if (!(i & (b))) {                                                                        \
            v16f lo = __builtin_shufflevector(r[i], r[i + (b)], LO), hi = __builtin_shufflevector(r[i], r[i + (b)], HI); \
            r[i] = lo, r[i + (b)] = hi;                                                          \
        }
#define T8L 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define T8H 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define T4L 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define T4H 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define T2L 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define T2H 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define T1L 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define T1H 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
INL void transpose16(v16f r[16])
{
    SWAP_STAGE(8, T8L, T8H)
    SWAP_STAGE(4, T4L, T4H)
    SWAP_STAGE(2, T2L, T2H)
    SWAP_STAGE(1, T1L, T1H)
}
#undef SWAP_STAGE
#undef T8L
#undef T8H
#undef T4L
#undef T4H
#undef T2L
#undef T2H
#undef T1L
#undef T1H

/* kt [b][D][Np] = K [b][N][D] transposed, zero keys past N; an item is one batch index,
 * moved in 16 x 16 tiles: in registers (transpose16) where D has 16 columns left, else
 * through a local buffer. K's rows are read in place (row stride krow, batch strides kbs: a slice
 * of the qkv projection). */
KERNEL(attn_kt)
{
    PARAMS(attn_kt);
    int64_t N = kp->N, D = kp->D, Np = kp->Np, rank = kp->rank, koff = kp->koff, krow = kp->krow;
    const int64_t *bd = kp->bd, *kbs = kp->kbstr;
    const float *k = slot_ptr(slots, kp->k);
    float *kt = slot_ptr(slots, kp->kt);
    float tile[16][17];
    for (int64_t b = begin; b < end; b++) {
        const float *kb = k + koff + batch_off(b, rank, bd, kbs);
        float *tb = kt + b * D * Np;
        for (int64_t n0 = 0; n0 < Np; n0 += 16)
            for (int64_t d0 = 0; d0 < D; d0 += 16) {
                int64_t nd = min64(16, D - d0);
                if (nd == 16) {
                    v16f r[16];
#pragma clang loop unroll(full)
                    for (int n = 0; n < 16; n++) r[n] = n0 + n < N ? ld16(kb + (n0 + n) * krow + d0) : splat(0);
                    transpose16(r);
#pragma clang loop unroll(full)
                    for (int d = 0; d < 16; d++) *(v16fu *)(tb + (d0 + d) * Np + n0) = r[d];
                    continue;
                }
                for (int64_t n = 0; n < 16; n++)
                    for (int64_t d = 0; d < nd; d++) tile[d][n] = n0 + n < N ? kb[(n0 + n) * krow + d0 + d] : 0.0f;
                for (int64_t d = 0; d < nd; d++)
#pragma clang loop unroll(full)
                    for (int64_t n = 0; n < 16; n++) tb[(d0 + d) * Np + n0 + n] = tile[d][n];
            }
    }
}

INL float att_extra(const float *bias, int64_t boff, int64_t bsm, int64_t bsn, int64_t m, int64_t n)
{
    return bias ? bias[boff + m * bsm + n * bsn] : 0.0f;
}

/* The scaled scores of rows m..m+RT-1 (clamped to mlast) for nk key blocks from nb0. */
INL void att_scores(const float *restrict qb, const float *restrict kt, float s[ATT_RT][ATT_MAX_NP], int64_t m,
                    int64_t mlast, int64_t nb0, const int nk, int64_t D, int64_t qrow, int64_t N, int64_t Np, float alpha,
                    const float *bias, int64_t boff, int64_t bsm, int64_t bsn, const float *mask, int64_t moff,
                    int64_t msm, int64_t msn)
{
    v16f acc[ATT_RT][4];
#pragma clang loop unroll(full)
    for (int t = 0; t < ATT_RT; t++)
#pragma clang loop unroll(full)
        for (int c = 0; c < nk; c++) acc[t][c] = splat(0);
    const float *qr[ATT_RT];
#pragma clang loop unroll(full)
    for (int t = 0; t < ATT_RT; t++) qr[t] = qb + min64(m + t, mlast) * qrow;
    for (int64_t d = 0; d < D; d++) {
        v16f kv[4];
#pragma clang loop unroll(full)
        for (int c = 0; c < nk; c++) kv[c] = ld16(kt + d * Np + (nb0 + c) * 16);
#pragma clang loop unroll(full)
        for (int t = 0; t < ATT_RT; t++) {
            v16f qs = splat(qr[t][d]);
#pragma clang loop unroll(full)
            for (int c = 0; c < nk; c++) acc[t][c] += qs * kv[c];
        }
    }
#pragma clang loop unroll(full)
    for (int t = 0; t < ATT_RT; t++) {
        int64_t mm = min64(m + t, mlast);
#pragma clang loop unroll(full)
        for (int c = 0; c < nk; c++) {
            int64_t n0 = (nb0 + c) * 16;
            v16f v = acc[t][c] * alpha;
            if (n0 + 16 <= N && (!bias || bsn == 1) && (!mask || msn == 1)) {
                if (bias) v += ld16(bias + boff + mm * bsm + n0);
                if (mask) v += ld16(mask + moff + mm * msm + n0);
            } else {
                for (int j = 0; j < 16; j++)
                    v[j] = n0 + j < N ? v[j] + att_extra(bias, boff, bsm, bsn, mm, n0 + j) +
                                            att_extra(mask, moff, msm, msn, mm, n0 + j)
                                      : -INFINITY;
            }
            *(v16f *)&s[t][n0] = v;
        }
    }
}

/* y rows m..m+rt-1, columns e0..e0+16*ne: the probabilities of s (scaled by inv) times V. */
INL void att_pv(const float *restrict vb, float s[ATT_RT][ATT_MAX_NP], const float *inv, float *restrict yb,
                int64_t m, int64_t rt, int64_t e0, const int ne, int64_t N, int64_t vrow, int64_t E)
{
    v16f acc[ATT_RT][4];
#pragma clang loop unroll(full)
    for (int t = 0; t < ATT_RT; t++)
#pragma clang loop unroll(full)
        for (int c = 0; c < ne; c++) acc[t][c] = splat(0);
    for (int64_t n = 0; n < N; n++) {
        v16f vv[4];
#pragma clang loop unroll(full)
        for (int c = 0; c < ne; c++) vv[c] = ld16(vb + n * vrow + e0 + c * 16);
#pragma clang loop unroll(full)
        for (int t = 0; t < ATT_RT; t++) {
            v16f ps = splat(s[t][n]);
#pragma clang loop unroll(full)
            for (int c = 0; c < ne; c++) acc[t][c] += ps * vv[c];
        }
    }
    for (int t = 0; t < rt; t++)
#pragma clang loop unroll(full)
        for (int c = 0; c < ne; c++) *(v16fu *)(yb + (m + t) * E + e0 + c * 16) = acc[t][c] * inv[t];
}

KERNEL(attn_tile)
{
    PARAMS(attn_tile);
    int64_t M = kp->M, N = kp->N, D = kp->D, E = kp->E, rank = kp->rank;
    float alpha = fbits(kp->alpha);
    const int64_t *bd = kp->bd, *bst = kp->bstr, *mst = kp->mstr;
    int64_t bsm = kp->bstr_m, bsn = kp->bstr_n, MB = kp->MB, Np = kp->Np, msm = kp->mstr_m, msn = kp->mstr_n;
    int64_t NBK = kp->NBK, EB = kp->EB;
    const float *q = slot_ptr(slots, kp->q), *k = slot_ptr(slots, kp->k), *v = slot_ptr(slots, kp->v);
    const float *bias = slot_ptr(slots, kp->bias), *mask = slot_ptr(slots, kp->mask);
    float *y = slot_ptr(slots, kp->y);
    const float *ktall = slot_ptr(slots, kp->kt);
    int64_t qoff = kp->qoff, qrow = kp->qrow, voff = kp->voff, vrow = kp->vrow;
    const int64_t *qbs = kp->qbstr, *vbs = kp->vbstr;
    float s[ATT_RT][ATT_MAX_NP] __attribute__((aligned(64)));
    int64_t nmb = (M + MB - 1) / MB, nblk = Np / 16;
    for (int64_t it = begin; it < end; it++) {
        int64_t b = it / nmb, m0 = (it % nmb) * MB, m1 = min64(m0 + MB, M);
        int64_t boff = batch_off(b, rank, bd, bst), moff = batch_off(b, rank, bd, mst);
        const float *vb = v + voff + batch_off(b, rank, bd, vbs), *qb = q + qoff + batch_off(b, rank, bd, qbs);
        const float *kt = ktall + b * D * Np;
        float *yb = y + b * M * E;
        (void)k;
        for (int64_t m = m0; m < m1; m += ATT_RT) {
            int64_t rt = min64(ATT_RT, m1 - m), nb0 = 0;
            if (NBK == 4)
                for (; nb0 + 4 <= nblk; nb0 += 4)
                    att_scores(qb, kt, s, m, m1 - 1, nb0, 4, D, qrow, N, Np, alpha, bias, boff, bsm, bsn, mask, moff, msm, msn);
            for (; nb0 < nblk; nb0++)
                att_scores(qb, kt, s, m, m1 - 1, nb0, 1, D, qrow, N, Np, alpha, bias, boff, bsm, bsn, mask, moff, msm, msn);
            float inv[ATT_RT];
            for (int t = 0; t < ATT_RT; t++) {
                v16f mx = splat(-INFINITY);
                for (int64_t j = 0; j < nblk; j++) mx = __builtin_elementwise_max(mx, *(v16f *)&s[t][j * 16]);
                float mxs = -INFINITY;
                for (int j = 0; j < 16; j++) mxs = mx[j] > mxs ? mx[j] : mxs;
                v16f sum = splat(0), mv = splat(mxs);
                for (int64_t j = 0; j < nblk; j++) {
                    v16f e = vexp(*(v16f *)&s[t][j * 16] - mv);
                    *(v16f *)&s[t][j * 16] = e;
                    sum += e;
                }
                inv[t] = 1.0f / hsum16(sum);
            }
            int64_t e0 = 0;
            if (EB == 4)
                for (; e0 + 64 <= E; e0 += 64) att_pv(vb, s, inv, yb, m, rt, e0, 4, N, vrow, E);
            for (; e0 + 16 <= E; e0 += 16) att_pv(vb, s, inv, yb, m, rt, e0, 1, N, vrow, E);
            for (int64_t t = 0; t < rt; t++)   /* columns past the last 16-block */
                for (int64_t e = e0; e < E; e++) {
                    float acc = 0;
                    for (int64_t n = 0; n < N; n++) acc += s[t][n] * vb[n * vrow + e];
                    yb[(m + t) * E + e] = acc * inv[t];
                }
        }
    }
}

/* y[b][j][i] = x[b][i][j] for x [B, R, C] (a transpose of the last two axes: the patch
 * embedding's NCHW -> tokens); an item is one batch index and a band of 16 rows of x,
 * moved in 16 x 16 tiles through a local buffer, so reads and writes are both runs. */
KERNEL(transpose2d)
{
    PARAMS(transpose2d);
    int64_t R = kp->R, C = kp->C, nbands = (R + 15) / 16;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    float tile[16][17];
    for (int64_t it = begin; it < end; it++) {
        int64_t b = it / nbands, i0 = (it % nbands) * 16, ni = min64(16, R - i0);
        const float *xb = x + b * R * C;
        float *yb = y + b * R * C;
        for (int64_t j0 = 0; j0 < C; j0 += 16) {
            int64_t nj = min64(16, C - j0);
            for (int64_t i = 0; i < ni; i++)
                for (int64_t j = 0; j < nj; j++) tile[j][i] = xb[(i0 + i) * C + j0 + j];
            for (int64_t j = 0; j < nj; j++)
                for (int64_t i = 0; i < ni; i++) yb[(j0 + j) * R + i0 + i] = tile[j][i];
        }
    }
}
