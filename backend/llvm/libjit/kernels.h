/* The kernel library the JIT specialises ("libjit"): every kernel has the signature
 *   void bcl_k_NAME(void **slots, const int64_t *p, int64_t begin, int64_t end)
 * slots holds the buffers (graph values, packed weights, scratch); p is a constant
 * table of slot indices, shapes and attrs (float attrs as their bit pattern). The JIT
 * emits p as an internal constant global and inlines the kernel, so every read of p
 * folds to a constant and the loops are specialised to the static shapes.
 * [begin, end) is a range of work items; the thread pool splits the item space.
 *
 * The table of kernel NAME is the struct bcl_kp_NAME, generated from one field list
 * BCL_KP_NAME(slot, i64, i64x8, rt) below: the planner (backend/llvm/plan.c) fills it with
 * designated initializers, the kernel reads it by name (kp->rows). Field kinds:
 *   slot(f)  a buffer slot index (-1: absent); the planner rebinds it per step
 *   i64(f)   an int64 scalar (a float attr as its bit pattern)
 *   i64x8(f) an int64[8] array (per axis; entries past the rank are 0)
 * Every field is an int64, so the struct is the int64 table the JIT emits, entry for
 * entry; the slot mask (which entries are slots) is derived from the list. */
#ifndef BCL_JIT_KERNELS_H
#define BCL_JIT_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* The kernels, in the X-macro style of ops.def: K(name); the table of each is the
 * struct of its field list BCL_KP_name below. */
#define BCL_JIT_KERNELS(K) \
    K(unary) \
    K(binary) \
    K(norm_chan) \
    K(layer_norm) \
    K(softmax) \
    K(pool) \
    K(reduce) \
    K(gather) \
    K(subsample) \
    K(copy_rows) \
    K(attention) \
    K(take) \
    K(gather_axis) \
    K(where) \
    K(matmul) \
    K(linear) \
    K(linear_p) \
    K(conv) \
    K(pack16c) \
    K(conv16c) \
    K(conv1x1) \
    K(conv1x1_cv) \
    K(cv_pack) \
    K(scale_w) \
    K(wino_in) \
    K(wino_gemm) \
    K(wino_out) \
    K(wino4_in) \
    K(wino4_out) \
    K(dwconv16c) \
    K(dwconv) \
    K(gemm) \
    K(gather_rows) \
    K(layer_norm_v) \
    K(dwflat) \
    K(pwdw) \
    K(maxpool) \
    K(convrow) \
    K(attn_tile) \
    K(attn_kt) \
    K(transpose2d)

/* The field lists: the contract between plan.c and the kernels. A field is
 * slot(name), i64(name) or i64x8(name) (see the top of this file); "items" says what
 * one work item of the kernel is. */

/* y = op(x) (op: an IrOp, alpha its attr); items: chunks of `chunk` of n elements */
#define BCL_KP_unary(slot, i64, i64x8, rt) \
    i64(op) i64(alpha) slot(x) slot(y) i64(n) i64(chunk)

/* y = act(op(a, b)) broadcast over rank axes ydims, operand strides astr, bstr (0 where
 * broadcast); items: groups of rows_per_item rows (the last axis) of `rows` */
#define BCL_KP_binary(slot, i64, i64x8, rt) \
    i64(op) slot(a) slot(b) slot(y) i64(rank) i64(rows) i64(rows_per_item) i64(act) i64(alpha) \
    i64x8(ydims) i64x8(astr) i64x8(bstr)

/* per-channel affine over [N, C, inner]: mode 0 batch norm (g b m v, eps), mode 1
 * scale_shift (g b; m, v absent); items: N*C planes */
#define BCL_KP_norm_chan(slot, i64, i64x8, rt) \
    i64(mode) slot(x) slot(g) slot(b) slot(m) slot(v) slot(y) i64(N) i64(C) i64(inner) i64(eps) i64(act) \
    i64(alpha)

/* over the last `inner` elements, g and b optional; items: rows (layer_norm_v: the same
 * table, float vectors) */
#define BCL_KP_layer_norm(slot, i64, i64x8, rt) \
    slot(x) slot(g) slot(b) slot(y) i64(rows) i64(inner) i64(eps)
#define BCL_KP_layer_norm_v BCL_KP_layer_norm

/* over axis of length dim of [outer, dim, inner]; items: outer*inner */
#define BCL_KP_softmax(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(outer) i64(dim) i64(inner)

/* max or average pooling (op), NCHW planes; cip: count_include_pad; items: NC planes */
#define BCL_KP_pool(slot, i64, i64x8, rt) \
    i64(op) slot(x) slot(y) rt(NC) rt(H) rt(W) rt(OH) rt(OW) rt(kh) rt(kw) rt(sh) rt(sw) rt(pt) rt(pl) i64(cip)

/* op over `count` elements per output: y axes ydims with strides ystr_in_x into x,
 * nr reduced axes rdims with strides rstr; items: ny outputs */
#define BCL_KP_reduce(slot, i64, i64x8, rt) \
    i64(op) slot(x) slot(y) i64(rank) i64(count) i64(ny) i64x8(ydims) i64x8(ystr_in_x) i64x8(rdims) \
    i64x8(rstr) i64(nr)

/* per output axis k: the x index is mode 0 mul*i + add (outside: value), mode 1
 * (i - add) mod xdim (roll), mode 2 min(floor(i * fscale), xdim - 1) (fscale float
 * bits); items: chunks of `chunk` of ny */
#define BCL_KP_gather(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(rank) i64(ny) i64(chunk) i64(value) i64x8(ydims) i64x8(mode) i64x8(mul) i64x8(add) \
    i64x8(xdim) i64x8(xstr) i64x8(fscale)

/* y[r][i][j] = x[r][i * sh][j * sw] over planes r of H x W into OH x OW (a strided 1x1
 * conv's input); items: groups of `planes` planes of R */
#define BCL_KP_subsample(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(R) i64(planes) i64(H) i64(W) i64(OH) i64(OW) i64(sh) i64(sw)

/* row r of x (len floats) to y + yoff + r * ystride (concat); items: rows */
#define BCL_KP_copy_rows(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(rows) i64(len) i64(ystride) i64(yoff)

/* numpy.take, dx: x's axis length; items: outer*ni; a bad idx is clamped as the
 * interpreter's and recorded in fault (int32[2]: set, the index's bits) */
#define BCL_KP_take(slot, i64, i64x8, rt) \
    slot(x) slot(idx) slot(y) slot(fault) i64(dx) i64(inner) i64(ni)

/* torch.gather along axis (idx checked as take's); items: chunks of `chunk` of n */
#define BCL_KP_gather_axis(slot, i64, i64x8, rt) \
    slot(x) slot(idx) slot(y) slot(fault) i64(rank) i64(axis) i64(n) i64(chunk) i64x8(ydims) i64x8(xstr) \
    i64x8(xdims)

/* out = m != 0 ? x : y, broadcast as binary's; items: groups of rows_per_item rows */
#define BCL_KP_where(slot, i64, i64x8, rt) \
    slot(m) slot(x) slot(y) slot(out) i64(rank) i64(rows) i64(rows_per_item) i64x8(ydims) i64x8(mstr) \
    i64x8(xstr) i64x8(ystr)

/* nb stacks of [M, K] x [K, N], batch axes bd with strides sa, sb; items: nb*M rows */
#define BCL_KP_matmul(slot, i64, i64x8, rt) \
    slot(a) slot(b) slot(y) i64(M) i64(K) i64(N) i64(nb) i64(rank) i64x8(bd) i64x8(sa) i64x8(sb) i64(act) \
    i64(alpha)

/* [rows, I] x w[O, I]^T + b, weights computed at run time; items: rows */
#define BCL_KP_linear(slot, i64, i64x8, rt) \
    slot(x) slot(w) slot(b) slot(y) i64(rows) i64(I) i64(O) i64(act) i64(alpha)

/* y [B, C, R] = x [B, R, C] transposed; items: B*ceil(R/16) */
#define BCL_KP_transpose2d(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(B) i64(R) i64(C)

/* Fused attention, y = softmax(q k^T * alpha + bias + mask) v over nb stacks (batch
 * axes bd, rank of them; bias and mask broadcast: strides bstr/mstr over the batch axes
 * and _m, _n over rows and keys; bias, mask -1: none); one query row per item: nb*M;
 * the scores of a row on the stack (N <= BCL_JIT_ATTN_MAX_N) */
#define BCL_KP_attention(slot, i64, i64x8, rt) \
    slot(q) slot(k) slot(v) slot(bias) slot(y) i64(M) i64(N) i64(D) i64(E) i64(alpha) i64(nb) i64(rank) \
    i64x8(bd) i64x8(bstr) i64(bstr_m) i64(bstr_n) slot(mask) i64x8(mstr) i64(mstr_m) i64(mstr_n)

/* Tiled attention (as attention's fields), MB query rows per item: nb*ceil(M/MB);
 * Np = N rounded up to 16 (<= BCL_JIT_ATTN_TILE_NP); NBK, EB: key and output vector
 * blocks in registers; kt [nb][D][Np]: K transposed by attn_kt; q and v read in place:
 * row r of batch index (i...) at off + r * row + sum i * bstr */
#define BCL_KP_attn_tile(slot, i64, i64x8, rt) \
    slot(q) slot(k) slot(v) slot(bias) slot(y) i64(M) i64(N) i64(D) i64(E) i64(alpha) i64(nb) i64(rank) \
    i64x8(bd) i64x8(bstr) i64(bstr_m) i64(bstr_n) i64(MB) i64(Np) slot(mask) i64x8(mstr) i64(mstr_m) \
    i64(mstr_n) i64(NBK) i64(EB) slot(kt) i64(qoff) i64(qrow) i64x8(qbstr) i64(voff) i64(vrow) i64x8(vbstr)

/* kt [nb][D][Np] = K transposed, keys past N zero; k read in place as attn_tile's q;
 * items: nb (batch indices) */
#define BCL_KP_attn_kt(slot, i64, i64x8, rt) \
    slot(k) slot(kt) i64(N) i64(D) i64(Np) i64(rank) i64x8(bd) i64x8(kbstr) i64(koff) i64(krow)

/* gather (see its fields) whose last axis (len floats) is copied as is; rank: the other
 * axes; x read from element xoff; items: groups of per rows of nrows */
#define BCL_KP_gather_rows(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(rank) i64(nrows) i64(len) i64(per) i64(value) i64x8(ydims) i64x8(mode) i64x8(mul) \
    i64x8(add) i64x8(xdim) i64x8(xstr) i64(xoff)

/* rows x packed w: a linear (P = 1) or a 1x1 conv on P < 16 pixels (row = pixel of P per
 * image); wp [OB][I][16] + bias[OB*16]; r: residual or -1; items: ceil(rows/RT)*OB */
#define BCL_KP_linear_p(slot, i64, i64x8, rt) \
    slot(x) slot(wp) slot(y) rt(rows) rt(I) rt(O) rt(OB) i64(act) i64(alpha) i64(RT) rt(P) slot(r)

/* [rows, I] x packed w (JIT_PACK_LINEAR16: [OB][I][16] + bias[OB*16]), register tiles
 * of RT rows x NB 16-column blocks; res: y's layout or -1; items: ceil(OB/NB)*ceil(rows/RT)
 * (column tile outer) */
#define BCL_KP_gemm(slot, i64, i64x8, rt) \
    slot(x) slot(wp) slot(res) slot(y) i64(rows) i64(I) i64(O) i64(OB) i64(act) i64(alpha) i64(RT) i64(NB)

/* the generic direct conv (any groups G), NCHW; b, r: bias, residual or -1; items: N*O */
#define BCL_KP_conv(slot, i64, i64x8, rt) \
    slot(x) slot(w) slot(b) slot(r) slot(y) i64(N) i64(C) i64(H) i64(W) i64(O) i64(KH) i64(KW) i64(OH) \
    i64(OW) i64(sh) i64(sw) i64(dh) i64(dw) i64(pt) i64(pl) i64(G) i64(act) i64(alpha)

/* wo[n] = conv1x1 weights wp (C inputs, OBK tiles of OT) times s[n][c]; items: N*OBK */
#define BCL_KP_scale_w(slot, i64, i64x8, rt) \
    slot(wp) slot(s) slot(wo) rt(C) i64(OT) rt(OBK)

/* NCHW -> zero-padded NCHW16c xp [N][CB][HP][WP][16]; groups of CG channels each start
 * a block: CBG blocks per group, CB = groups * CBG (dense: CG = C); items: N*CB*HP */
#define BCL_KP_pack16c(slot, i64, i64x8, rt) \
    slot(x) slot(xp) i64(N) i64(C) i64(H) i64(W) i64(CB) i64(HP) i64(WP) i64(pt) i64(pl) i64(CG) i64(CBG)

/* max pooling on NCHW planes through a band buffer (see dwconv); items: NC*ceil(OH/RB) */
#define BCL_KP_maxpool(slot, i64, i64x8, rt) \
    slot(x) slot(y) i64(NC) i64(H) i64(W) i64(OH) i64(OW) i64(KH) i64(KW) i64(sh) i64(sw) i64(pt) i64(pl) \
    i64(RB) i64(WQ)

/* the blocked conv on pack16c's xp; wp [OB][CBG][KH][KW][16c][16o] + bias[OB*16];
 * TW output columns per register tile (TW8 for a block of at most 8 valid channels on
 * 8-lane vectors, when HALF8); groups: CBG input and OBG output blocks per group
 * of CG inputs and OG outputs (dense: CB, OB, C, O), a group's last blocks zero-padded;
 * items: N*OB*OH */
#define BCL_KP_conv16c(slot, i64, i64x8, rt) \
    slot(xp) slot(wp) slot(r) slot(y) i64(N) i64(CB) i64(HP) i64(WP) i64(O) i64(OB) i64(KH) i64(KW) i64(OH) \
    i64(OW) i64(sh) i64(sw) i64(dh) i64(dw) i64(act) i64(alpha) i64(TW) i64(C) i64(CBG) i64(OBG) i64(CG) \
    i64(OG) i64(HALF8) i64(TW8)

/* depthwise on pack16c's xp, wp [CB][KH][KW][16] + bias[CB*16]; TW columns per
 * register tile; items: N*CB*OH */
#define BCL_KP_dwconv16c(slot, i64, i64x8, rt) \
    slot(xp) slot(wp) slot(r) slot(y) i64(N) i64(CB) i64(HP) i64(WP) i64(C) i64(KH) i64(KW) i64(OH) i64(OW) \
    i64(sh) i64(sw) i64(dh) i64(dw) i64(act) i64(alpha) i64(TW)

/* Winograd input transform of pack16c's xp: V [16][T = N*TH*TW][CB*16] (wino4_in: 6x6
 * patches 4 apart, V [36][T][CB*16]); items: N*TH */
#define BCL_KP_wino_in(slot, i64, i64x8, rt) \
    slot(xp) slot(V) i64(N) i64(CB) i64(HP) i64(WP) i64(TH) i64(TW)
#define BCL_KP_wino4_in BCL_KP_wino_in

/* M [NXI][T][OB*16] = V x U, U [NXI][OB][Cp][16o] + bias; NXI = 16 (F(2x2, 3x3)) or 36
 * (F(4x4, 3x3)); items: NXI*ceil(T/RT)*OB */
#define BCL_KP_wino_gemm(slot, i64, i64x8, rt) \
    slot(V) slot(U) slot(M) i64(T) i64(Cp) i64(OB) i64(RT) i64(NXI)

/* output transform of M (+ bias from U, residual r, act) into y NCHW (wino4_out: 4x4
 * tiles from M [36][T][OB*16]); items: N*OB*TH */
#define BCL_KP_wino_out(slot, i64, i64x8, rt) \
    slot(M) slot(U) slot(r) slot(y) i64(N) i64(O) i64(OB) i64(OH) i64(OW) i64(TH) i64(TW) i64(act) i64(alpha) \
    i64(Cp)
#define BCL_KP_wino4_out BCL_KP_wino_out

/* 1x1, stride 1, no padding, groups 1 as a GEMM on NCHW (P >= 16 pixels): register
 * tiles of OT channels x RV <= PV 16-pixel vectors; wp [OBK][C][OT] + bias[OBK*OT];
 * WS > 0: one such set of weights per image, WS floats apart (scale_w);
 * items: N*max(1, P/(16*PV))*OBK */
#define BCL_KP_conv1x1(slot, i64, i64x8, rt) \
    slot(x) slot(wp) slot(r) slot(y) i64(N) i64(C) i64(P) i64(O) i64(OBK) i64(act) i64(alpha) i64(OT) i64(PV) \
    i64(WS) i64(RV)

/* depthwise on NCHW in and out, wp [C][KH*KW] + bias[C]; RB output rows per item, WQ
 * floats per column phase of a buffered input row, register tile OR output rows (1..8)
 * x TV vectors; items: N*C*ceil(OH/RB) */
#define BCL_KP_dwconv(slot, i64, i64x8, rt) BCL_KP_DW_CONV(slot, i64, i64x8, rt) i64(RB) i64(WQ) i64(TV) i64(OR)
/* the depthwise conv's shape (dwconv, dwflat, pwdw) */
#define BCL_KP_DW_CONV(slot, i64, i64x8, rt) \
    slot(x) slot(wp) slot(r) slot(y) i64(N) i64(C) i64(H) i64(W) i64(KH) i64(KW) i64(OH) i64(OW) i64(sh) \
    i64(sw) i64(dh) i64(dw) i64(pt) i64(pl) i64(act) i64(alpha)

/* depthwise, strides 1-2, dilation 1, OW < 16: the padded plane as sh x sw flat phase
 * planes, PW = OW + (KW - 1) / sw floats a row, NVEC <= 8 vectors of flat outputs;
 * items: N*C */
#define BCL_KP_dwflat(slot, i64, i64x8, rt) BCL_KP_DW_CONV(slot, i64, i64x8, rt) i64(PW) i64(NVEC)

/* dwconv's fields (x: the 1x1 expansion's input [N][Ci][H][W]), then the expansion:
 * pw [C][Ci] + bias[C] (JIT_PACK_GEMM, ot 1), its act and alpha, CV row vectors per
 * pass, G channels per item (1, 2 or 4), BUF floats of a channel's band buffer;
 * items: N*ceil(OH/RB)*ceil(C/G) (groups fastest) */
#define BCL_KP_pwdw(slot, i64, i64x8, rt) \
    BCL_KP_dwconv(slot, i64, i64x8, rt) slot(pw) i64(Ci) i64(pact) i64(palpha) i64(CV) i64(G) i64(BUF)

/* dense conv with few input channels, NCHW in and out; wp [OBK][C*KH*KW][OT] +
 * bias[OBK*OT]; R buffered input rows per channel, TV vectors per register tile;
 * items: N*ceil(OH/RB)*OBK */
#define BCL_KP_convrow(slot, i64, i64x8, rt) \
    slot(x) slot(wp) slot(r) slot(y) i64(N) i64(C) i64(H) i64(W) i64(KH) i64(KW) i64(O) i64(OH) i64(OW) \
    i64(sh) i64(sw) i64(dh) i64(dw) i64(pt) i64(pl) i64(act) i64(alpha) i64(RB) i64(WQ) i64(OT) i64(R) \
    i64(OBK) i64(TV)

/* conv1x1 with output channels as the vectors (few pixels, not a multiple of 16):
 * register tiles of MT <= 8 pixels x NV <= 4 16-channel blocks; x as cv_pack leaves it
 * (PK 1) or NCHW as it is (PK 0); wp [OB][C][16] + bias[OB*16]; WS as conv1x1's; items:
 * N*ceil(OB/NV)*ceil(P/MT) */
#define BCL_KP_conv1x1_cv(slot, i64, i64x8, rt) \
    slot(x) slot(wp) slot(r) slot(y) i64(N) i64(C) i64(P) i64(O) i64(OB) i64(act) i64(alpha) i64(MT) i64(NV) \
    i64(WS) i64(PK)

/* conv1x1_cv's input by pixel tile: image n's tile t (pixels p0 = t * MT .. p0 + mt,
 * mt = MT except a narrower last tile) to xt + n * C * P + p0 * C as [C][mt];
 * items: N*ceil(P/MT) */
#define BCL_KP_cv_pack(slot, i64, i64x8, rt) \
    slot(x) slot(xt) i64(C) i64(P) i64(MT)

/* The struct of each kernel, and checks that it is the int64 table entry for entry
 * (no padding). bcl_kp_slots_NAME(): the slot mask (bit i: entry i is a slot),
 * with a compile-time check that every slot is within the first 64 entries;
 * bcl_kp_rt_NAME(): the rt mask, likewise. */
#define BCL_KP_DECL(f) int64_t f;
#define BCL_KP_DECL8(f) int64_t f[8];
#define BCL_KP_ONE(f) +1
#define BCL_KP_EIGHT(f) +8
#define BCL_KP_NONE(f)
#define BCL_KP_BIT(f) | UINT64_C(1) << (offsetof(bcl_kp_this, f) / sizeof(int64_t))
#define BCL_KP_CHECK(f) \
    _Static_assert(offsetof(bcl_kp_this, f) < 64 * sizeof(int64_t), "slot or rt field " #f " past entry 63");
#define BCL_KP_STRUCT(name) \
    typedef struct bcl_kp_##name { BCL_KP_##name(BCL_KP_DECL, BCL_KP_DECL, BCL_KP_DECL8, BCL_KP_DECL) } bcl_kp_##name; \
    _Static_assert(sizeof(bcl_kp_##name) == \
                       sizeof(int64_t) * (0 BCL_KP_##name(BCL_KP_ONE, BCL_KP_ONE, BCL_KP_EIGHT, BCL_KP_ONE)), \
                   "bcl_kp_" #name " is not a whole int64 table"); \
    static inline uint64_t bcl_kp_slots_##name(void) \
    { \
        typedef bcl_kp_##name bcl_kp_this; \
        BCL_KP_##name(BCL_KP_CHECK, BCL_KP_NONE, BCL_KP_NONE, BCL_KP_NONE) \
        return 0 BCL_KP_##name(BCL_KP_BIT, BCL_KP_NONE, BCL_KP_NONE, BCL_KP_NONE); \
    } \
    static inline uint64_t bcl_kp_rt_##name(void) \
    { \
        typedef bcl_kp_##name bcl_kp_this; \
        BCL_KP_##name(BCL_KP_NONE, BCL_KP_NONE, BCL_KP_NONE, BCL_KP_CHECK) \
        (void)sizeof(bcl_kp_this);   /* (kernels without rt fields) */ \
        return 0 BCL_KP_##name(BCL_KP_NONE, BCL_KP_NONE, BCL_KP_NONE, BCL_KP_BIT); \
    }
BCL_JIT_KERNELS(BCL_KP_STRUCT)

#define BCL_JIT_ATTN_MAX_N 4096   /* keys per attention row the fused kernel holds */
#define BCL_JIT_ATTN_TILE_NP 1024 /* keys (rounded up to 16) per row the tiled kernel holds on its stack */
#define BCL_JIT_CHUNK 8192   /* elements per work item of elementwise kernels */

#endif
