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
        for (int c = 0; c < nb; c++) wv[c] = ld16(w0 + (c * I + i) * 16);
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
    int64_t rows = p[4], I = p[5], O = p[6], OB = p[7], act = p[8], RT = p[10], NB = p[11];
    float alpha = fbits(p[9]);
    const float *x = slot(slots, p, 0), *wp = slot(slots, p, 1), *res = slot(slots, p, 2);
    float *y = slot(slots, p, 3);
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
    int64_t rank = p[2], nrows = p[3], len = p[4], per = p[5];
    float value = fbits(p[6]);
    const int64_t *yd = p + 7, *mode = p + 15, *mul = p + 23, *add = p + 31, *xd = p + 39, *xs = p + 47;
    const float *x = slot(slots, p, 0);
    float *y = slot(slots, p, 1);
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
    int64_t inner = p[5];
    float eps = fbits(p[6]);
    const float *x = slot(slots, p, 0), *g = slot(slots, p, 1), *b = slot(slots, p, 2);
    float *y = slot(slots, p, 3);
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
