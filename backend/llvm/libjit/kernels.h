/* The kernel library the JIT specialises ("libjit"): every kernel has the signature
 *   void bcl_k_NAME(void **slots, const int64_t *p, int64_t begin, int64_t end)
 * slots holds the buffers (graph values, packed weights, scratch); p is a constant
 * table of slot indices, shapes and attrs (float attrs as their bit pattern). The JIT
 * emits p as an internal constant global and inlines the kernel, so every read of p
 * folds to a constant and the loops are specialised to the static shapes.
 * [begin, end) is a range of work items; the thread pool splits the item space.
 *
 * The table of kernel NAME is the struct bcl_kp_NAME, generated from one field list
 * BCL_KP_NAME(slot, i64, i64x8) below: the planner (backend/llvm/plan.c) fills it with
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

/* The kernels, in the X-macro style of ops.def: K(name) for a kernel whose table is
 * the struct of its field list BCL_KP_name; K(name, slots) for one still indexed by
 * position (bit i of slots says p[i] is a buffer slot), until it is converted. */
#define BCL_JIT_KERNELS(K) \
    K(unary) \
    K(binary) \
    K(norm_chan) \
    K(layer_norm) \
    K(softmax) \
    K(pool) \
    K(reduce) \
    K(gather) \
    K(copy_rows) \
    K(attention) \
    K(take) \
    K(gather_axis) \
    K(where) \
    K(matmul) \
    K(linear) \
    K(linear_p, 0x807) /* x wp y rows I O OB act alpha RT P r; items: ceil(rows/RT)*OB; wp [OB][I][16] + bias[OB*16];
                     row = pixel of P per image (1x1 conv on P < 16 pixels), r: residual */ \
    K(conv, 0x1f) /* x w b r y N C H W O KH KW OH OW sh sw dh dw pt pl G act alpha; items: N*O */ \
    K(pack16c, 0x3) /* x xp N C H W CB HP WP pt pl CG CBG; items: N*CB*HP; groups of CG channels
                     each start a block: CBG blocks per group, CB = groups * CBG (dense: CG = C) */ \
    K(conv16c, 0xf) /* xp wp r y N CB HP WP O OB KH KW OH OW sh sw dh dw act alpha TW C CBG OBG CG OG;
                     items: N*OB*OH; wp [OB][CBG][KH][KW][16c][16o] + bias[OB*16];
                     groups: CBG input and OBG output blocks per group of CG inputs and OG outputs
                     (dense: CB, OB, C, O); a group's last blocks are zero-padded */ \
    K(conv1x1, 0xf) /* x wp r y N C P O OBK act alpha OT PV WS RV; items: N*max(1, P/(16*PV))*OBK; P >= 16;
                     register tiles of OT channels x RV <= PV 16-pixel vectors;
                     wp [OBK][C][OT] + bias[OBK*OT] (1x1, stride 1, no padding, groups 1); WS > 0:
                     one such set of weights per image, WS floats apart (scale_w) */ \
    K(conv1x1_cv, 0xf) /* x wp r y N C P O OB act alpha MT NV WS; items: N*ceil(OB/NV)*ceil(P/MT); conv1x1 with
                     output channels as vectors: register tiles of MT <= 8 pixels x NV <= 4 16-channel blocks;
                     wp [OB][C][16] + bias[OB*16]; WS as conv1x1's */ \
    K(scale_w, 0x7) /* wp s wo C OT OBK; items: N*OBK; wo[n] = conv1x1 weights wp times s[n][c] */ \
    K(wino_in, 0x3) /* xp V N CB HP WP TH TW; items: N*TH; V [16][T = N*TH*TW][CB*16] */ \
    K(wino_gemm, 0x7) /* V U M T Cp OB RT NXI; items: NXI*ceil(T/RT)*OB; U [NXI][OB][Cp][16o] + bias;
                     M [NXI][T][OB*16]; NXI = 16 (F(2x2, 3x3)) or 36 (F(4x4, 3x3)) */ \
    K(wino_out, 0xf) /* M U r y N O OB OH OW TH TW act alpha Cp; items: N*OB*TH */ \
    K(wino4_in, 0x3) /* as wino_in for F(4x4, 3x3): 6x6 patches 4 apart; V [36][T][CB*16] */ \
    K(wino4_out, 0xf) /* as wino_out for F(4x4, 3x3): M [36][T][OB*16] -> 4x4 output tiles */ \
    K(dwconv16c, 0xf) /* xp wp r y N CB HP WP C KH KW OH OW sh sw dh dw act alpha TW; items: N*CB*OH;
                     wp [CB][KH][KW][16] + bias[CB*16] */ \
    K(dwconv, 0xf) /* x wp r y N C H W KH KW OH OW sh sw dh dw pt pl act alpha RB WQ TV; items: N*C*ceil(OH/RB);
                     NCHW in and out, wp [C][KH*KW] + bias[C]; RB output rows per item, WQ floats per
                     column phase of a buffered input row, TV vectors per register tile */ \
    K(gemm, 0xf) /* x wp res y rows I O OB act alpha RT NB; items: ceil(OB/NB)*ceil(rows/RT) (column tile
                     outer); wp [OB][I][16] + bias[OB*16] (JIT_PACK_LINEAR16); res: y's layout or -1 */ \
    K(gather_rows) \
    K(layer_norm_v) \
    K(dwflat, 0xf) /* dwconv's table to alpha, then PITCH NVEC; items: N*C; stride 1, dilation 1, OW < 16:
                     the padded plane flat, PITCH = OW + KW - 1 floats a row, NVEC <= 8 vectors of flat outputs */ \
    K(pwdw, 0x80000f) /* dwconv's table, then pw Ci act alpha CV (row vectors per pass) G (channels per item, 1, 2
                     or 4) BUF (floats of a channel's band buffer); items: N*ceil(OH/RB)*ceil(C/G) (groups fastest);
                     x: the 1x1 expansion's input [N][Ci][H][W], pw [C][Ci] + bias[C] (JIT_PACK_GEMM, ot 1) */ \
    K(maxpool, 0x3) /* x y NC H W OH OW KH KW sh sw pt pl RB WQ; items: NC*ceil(OH/RB) (NCHW) */ \
    K(convrow, 0xf) /* x wp r y N C H W KH KW O OH OW sh sw dh dw pt pl act alpha RB WQ OT R OBK TV;
                     items: N*ceil(OH/RB)*OBK; dense, few input channels, NCHW in and out;
                     wp [OBK][C*KH*KW][OT] + bias[OBK*OT]; R buffered input rows per channel */ \
    K(attn_tile) \
    K(attn_kt) \
    K(transpose2d)

/* The field lists: the contract between plan.c and the kernels. A field is
 * slot(name), i64(name) or i64x8(name) (see the top of this file); "items" says what
 * one work item of the kernel is. */

/* y = op(x) (op: an IrOp, alpha its attr); items: chunks of `chunk` of n elements */
#define BCL_KP_unary(slot, i64, i64x8) \
    i64(op) i64(alpha) slot(x) slot(y) i64(n) i64(chunk)

/* y = act(op(a, b)) broadcast over rank axes ydims, operand strides astr, bstr (0 where
 * broadcast); items: groups of rows_per_item rows (the last axis) of `rows` */
#define BCL_KP_binary(slot, i64, i64x8) \
    i64(op) slot(a) slot(b) slot(y) i64(rank) i64(rows) i64(rows_per_item) i64(act) i64(alpha) \
    i64x8(ydims) i64x8(astr) i64x8(bstr)

/* per-channel affine over [N, C, inner]: mode 0 batch norm (g b m v, eps), mode 1
 * scale_shift (g b; m, v absent); items: N*C planes */
#define BCL_KP_norm_chan(slot, i64, i64x8) \
    i64(mode) slot(x) slot(g) slot(b) slot(m) slot(v) slot(y) i64(N) i64(C) i64(inner) i64(eps) i64(act) \
    i64(alpha)

/* over the last `inner` elements, g and b optional; items: rows (layer_norm_v: the same
 * table, float vectors) */
#define BCL_KP_layer_norm(slot, i64, i64x8) \
    slot(x) slot(g) slot(b) slot(y) i64(rows) i64(inner) i64(eps)
#define BCL_KP_layer_norm_v BCL_KP_layer_norm

/* over axis of length dim of [outer, dim, inner]; items: outer*inner */
#define BCL_KP_softmax(slot, i64, i64x8) \
    slot(x) slot(y) i64(outer) i64(dim) i64(inner)

/* max or average pooling (op), NCHW planes; cip: count_include_pad; items: NC planes */
#define BCL_KP_pool(slot, i64, i64x8) \
    i64(op) slot(x) slot(y) i64(NC) i64(H) i64(W) i64(OH) i64(OW) i64(kh) i64(kw) i64(sh) i64(sw) i64(pt) \
    i64(pl) i64(cip)

/* op over `count` elements per output: y axes ydims with strides ystr_in_x into x,
 * nr reduced axes rdims with strides rstr; items: ny outputs */
#define BCL_KP_reduce(slot, i64, i64x8) \
    i64(op) slot(x) slot(y) i64(rank) i64(count) i64(ny) i64x8(ydims) i64x8(ystr_in_x) i64x8(rdims) \
    i64x8(rstr) i64(nr)

/* per output axis k: the x index is mode 0 mul*i + add (outside: value), mode 1
 * (i - add) mod xdim (roll), mode 2 min(floor(i * fscale), xdim - 1) (fscale float
 * bits); items: chunks of `chunk` of ny */
#define BCL_KP_gather(slot, i64, i64x8) \
    slot(x) slot(y) i64(rank) i64(ny) i64(chunk) i64(value) i64x8(ydims) i64x8(mode) i64x8(mul) i64x8(add) \
    i64x8(xdim) i64x8(xstr) i64x8(fscale)

/* row r of x (len floats) to y + yoff + r * ystride (concat); items: rows */
#define BCL_KP_copy_rows(slot, i64, i64x8) \
    slot(x) slot(y) i64(rows) i64(len) i64(ystride) i64(yoff)

/* numpy.take, dx: x's axis length; items: outer*ni; a bad idx is clamped as the
 * interpreter's and recorded in fault (int32[2]: set, the index's bits) */
#define BCL_KP_take(slot, i64, i64x8) \
    slot(x) slot(idx) slot(y) slot(fault) i64(dx) i64(inner) i64(ni)

/* torch.gather along axis (idx checked as take's); items: chunks of `chunk` of n */
#define BCL_KP_gather_axis(slot, i64, i64x8) \
    slot(x) slot(idx) slot(y) slot(fault) i64(rank) i64(axis) i64(n) i64(chunk) i64x8(ydims) i64x8(xstr) \
    i64x8(xdims)

/* out = m != 0 ? x : y, broadcast as binary's; items: groups of rows_per_item rows */
#define BCL_KP_where(slot, i64, i64x8) \
    slot(m) slot(x) slot(y) slot(out) i64(rank) i64(rows) i64(rows_per_item) i64x8(ydims) i64x8(mstr) \
    i64x8(xstr) i64x8(ystr)

/* nb stacks of [M, K] x [K, N], batch axes bd with strides sa, sb; items: nb*M rows */
#define BCL_KP_matmul(slot, i64, i64x8) \
    slot(a) slot(b) slot(y) i64(M) i64(K) i64(N) i64(nb) i64(rank) i64x8(bd) i64x8(sa) i64x8(sb) i64(act) \
    i64(alpha)

/* [rows, I] x w[O, I]^T + b, weights computed at run time; items: rows */
#define BCL_KP_linear(slot, i64, i64x8) \
    slot(x) slot(w) slot(b) slot(y) i64(rows) i64(I) i64(O) i64(act) i64(alpha)

/* y [B, C, R] = x [B, R, C] transposed; items: B*ceil(R/16) */
#define BCL_KP_transpose2d(slot, i64, i64x8) \
    slot(x) slot(y) i64(B) i64(R) i64(C)

/* Fused attention, y = softmax(q k^T * alpha + bias + mask) v over nb stacks (batch
 * axes bd, rank of them; bias and mask broadcast: strides bstr/mstr over the batch axes
 * and _m, _n over rows and keys; bias, mask -1: none); one query row per item: nb*M;
 * the scores of a row on the stack (N <= BCL_JIT_ATTN_MAX_N) */
#define BCL_KP_attention(slot, i64, i64x8) \
    slot(q) slot(k) slot(v) slot(bias) slot(y) i64(M) i64(N) i64(D) i64(E) i64(alpha) i64(nb) i64(rank) \
    i64x8(bd) i64x8(bstr) i64(bstr_m) i64(bstr_n) slot(mask) i64x8(mstr) i64(mstr_m) i64(mstr_n)

/* Tiled attention (as attention's fields), MB query rows per item: nb*ceil(M/MB);
 * Np = N rounded up to 16 (<= BCL_JIT_ATTN_TILE_NP); NBK, EB: key and output vector
 * blocks in registers; kt [nb][D][Np]: K transposed by attn_kt; q and v read in place:
 * row r of batch index (i...) at off + r * row + sum i * bstr */
#define BCL_KP_attn_tile(slot, i64, i64x8) \
    slot(q) slot(k) slot(v) slot(bias) slot(y) i64(M) i64(N) i64(D) i64(E) i64(alpha) i64(nb) i64(rank) \
    i64x8(bd) i64x8(bstr) i64(bstr_m) i64(bstr_n) i64(MB) i64(Np) slot(mask) i64x8(mstr) i64(mstr_m) \
    i64(mstr_n) i64(NBK) i64(EB) slot(kt) i64(qoff) i64(qrow) i64x8(qbstr) i64(voff) i64(vrow) i64x8(vbstr)

/* kt [nb][D][Np] = K transposed, keys past N zero; k read in place as attn_tile's q;
 * items: nb (batch indices) */
#define BCL_KP_attn_kt(slot, i64, i64x8) \
    slot(k) slot(kt) i64(N) i64(D) i64(Np) i64(rank) i64x8(bd) i64x8(kbstr) i64(koff) i64(krow)

/* gather (see its fields) whose last axis (len floats) is copied as is; rank: the other
 * axes; x read from element xoff; items: groups of per rows of nrows */
#define BCL_KP_gather_rows(slot, i64, i64x8) \
    slot(x) slot(y) i64(rank) i64(nrows) i64(len) i64(per) i64(value) i64x8(ydims) i64x8(mode) i64x8(mul) \
    i64x8(add) i64x8(xdim) i64x8(xstr) i64(xoff)

/* The struct of each converted kernel, and checks that it is the int64 table entry for
 * entry (no padding). bcl_kp_slots_NAME(): the slot mask (bit i: entry i is a slot),
 * with a compile-time check that every slot is within the first 64 entries. */
#define BCL_KP_DECL(f) int64_t f;
#define BCL_KP_DECL8(f) int64_t f[8];
#define BCL_KP_ONE(f) +1
#define BCL_KP_EIGHT(f) +8
#define BCL_KP_NONE(f)
#define BCL_KP_SLOT_BIT(f) | UINT64_C(1) << (offsetof(bcl_kp_this, f) / sizeof(int64_t))
#define BCL_KP_SLOT_CHECK(f) \
    _Static_assert(offsetof(bcl_kp_this, f) < 64 * sizeof(int64_t), "slot field " #f " past entry 63");
#define BCL_KP_STRUCT(name) \
    typedef struct bcl_kp_##name { BCL_KP_##name(BCL_KP_DECL, BCL_KP_DECL, BCL_KP_DECL8) } bcl_kp_##name; \
    _Static_assert(sizeof(bcl_kp_##name) == \
                       sizeof(int64_t) * (0 BCL_KP_##name(BCL_KP_ONE, BCL_KP_ONE, BCL_KP_EIGHT)), \
                   "bcl_kp_" #name " is not a whole int64 table"); \
    static inline uint64_t bcl_kp_slots_##name(void) \
    { \
        typedef bcl_kp_##name bcl_kp_this; \
        BCL_KP_##name(BCL_KP_SLOT_CHECK, BCL_KP_NONE, BCL_KP_NONE) \
        return 0 BCL_KP_##name(BCL_KP_SLOT_BIT, BCL_KP_NONE, BCL_KP_NONE); \
    }
/* K(name): its struct; K(name, slots): nothing (not converted yet) */
#define BCL_KP_THIRD(a, b, c, ...) c
#define BCL_KP_SKIP(name)
#define BCL_KP_STRUCT_K(name, ...) BCL_KP_THIRD(-, ##__VA_ARGS__, BCL_KP_SKIP, BCL_KP_STRUCT, -)(name)
BCL_JIT_KERNELS(BCL_KP_STRUCT_K)

#define BCL_JIT_ATTN_MAX_N 4096   /* keys per attention row the fused kernel holds */
#define BCL_JIT_ATTN_TILE_NP 1024 /* keys (rounded up to 16) per row the tiled kernel holds on its stack */
#define BCL_JIT_CHUNK 8192   /* elements per work item of elementwise kernels */

#endif
