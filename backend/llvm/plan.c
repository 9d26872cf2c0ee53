/* Lowers an IR graph to the JIT's execution plan: a list of parallel steps, each a
 * kernel of libjit/kernels.c with a constant parameter table; buffers for node
 * results (one arena, laid out by ir/memplan.c); weights packed for the blocked kernels. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/pack.h"
#include "support/oom.h"
#include "runtime/pool.h"
#include "backend/llvm/jit_internal.h"
#include "backend/llvm/tune.h"
#include "backend/llvm/libjit/kernels.h"
#include "ir/memplan.h"
#include "ir/shape_util.h"

static int64_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

typedef struct Lower {
    JitPlan *pl;
    const JitHost *h;
    Diag *d;
    bool oom;
    bool winograd;              /* 3x3 stride-1 convs by Winograd */
    bool winograd43;            /* F(4x4, 3x3) where outputs are >= 6x6 (else F(2x2, 3x3)) */
    const char *what;
    SrcLoc loc;                 /* of the node being lowered, for the steps' profile names */
    const char *scope;          /* its module path */
    int *fn_index;              /* open addressing: steps that own a function, by table hash */
    int fn_cap, n_fns;
    int scratch_slot[3];        /* the node's: packed input; Winograd V (or a subsampled input); M */
    const IrValue **scale_x, **scale_s;   /* by node index: a 1x1 conv's input is x * s (se_scale) */
    const IrNode **pw_of;       /* by node index: the 1x1 expansion a depthwise conv computes (pwdw_fusable) */
    JitView **att_in;           /* by node index: an attention's q, k, v read in place (fold_views) */
    JitView **copy_from;        /* by node index: a transpose or slice copied straight from its chain's base */
    int node;                   /* index of the node being lowered (-1: none) */
    JitTune *tune;              /* per-shape choices (NULL: the heuristics) */
    size_t scratch_floats[3];   /* the node's needs (0: unused) */
} Lower;

static void *grow(void *p, int *cap, int need, size_t elt, bool *oom)
{
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = bcl_realloc(p, (size_t)nc * elt);
    if (!q) {
        *oom = true;
        return p;
    }
    *cap = nc;
    return q;
}

static uint64_t table_hash(const char *kernel, const int64_t *p, int n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = kernel; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)p[i]) * 0x9E3779B97F4A7C15ull, h ^= h >> 29;
    return h ^ (uint64_t)n;
}

/* The first step with the same kernel and table as the new one (index n), found
 * through the hash index (linear in the number of steps), or n after indexing it. */
static int same_step(Lower *L, const char *kernel, const int64_t *p, int np, uint64_t rt)
{
    JitPlan *pl = L->pl;
    if (2 * (L->n_fns + 1) > L->fn_cap) {   /* grow and re-index */
        int cap = L->fn_cap ? 2 * L->fn_cap : 256;
        int *ix = bcl_malloc(sizeof(int) * (size_t)cap);
        if (!ix) {
            L->oom = true;
            return pl->n_steps;
        }
        for (int i = 0; i < cap; i++) ix[i] = -1;
        for (int i = 0; i < L->fn_cap; i++) {
            int s = L->fn_index[i];
            if (s < 0) continue;
            uint64_t h = table_hash(pl->steps[s].kernel, pl->steps[s].p, pl->steps[s].np);
            size_t k = (size_t)h & (size_t)(cap - 1);
            while (ix[k] >= 0) k = (k + 1) & (size_t)(cap - 1);
            ix[k] = s;
        }
        free(L->fn_index);
        L->fn_index = ix;
        L->fn_cap = cap;
    }
    size_t k = (size_t)table_hash(kernel, p, np) & (size_t)(L->fn_cap - 1);
    for (; L->fn_index[k] >= 0; k = (k + 1) & (size_t)(L->fn_cap - 1)) {
        const JitStep *o = &pl->steps[L->fn_index[k]];
        if (o->np == np && o->rt == rt && !strcmp(o->kernel, kernel) && !memcmp(o->p, p, sizeof(int64_t) * (size_t)np))
            return L->fn_index[k];
    }
    L->fn_index[k] = pl->n_steps;
    L->n_fns++;
    return pl->n_steps;
}

static int new_slot(Lower *L, void *buf, size_t own_floats);

/* A step of `kernel` over `items` work items with the n-entry table v, whose entries
 * in slot mask m are buffer slots: those become binding positions (see JitStep).
 * Entries in rt mask rt are left to run time (kernels.h: rt fields): they are 0 in the
 * step's table, so steps that differ only there share one function, and the values
 * go to a constant buffer of the plan bound first (binding position 0: JitStep.rt). */
static void emit(Lower *L, const char *kernel, const int64_t *v, int n, uint64_t m, uint64_t rt, int64_t items)
{
    JitPlan *pl = L->pl;
    if (items <= 0) return;
    pl->steps = grow(pl->steps, &pl->cap_steps, pl->n_steps + 1, sizeof *pl->steps, &L->oom);
    int64_t *p = bcl_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int *bind = bcl_malloc(sizeof(int) * 65);
    int64_t *vals = rt ? bcl_malloc(sizeof(int64_t) * (size_t)n) : NULL;
    if (L->oom || !p || !bind || (rt && !vals)) {
        free(p);
        free(bind);
        free(vals);
        L->oom = true;
        return;
    }
    memcpy(p, v, sizeof(int64_t) * (size_t)n);
    int nb = 0;
    if (rt) {   /* the run-time values (own_floats: the buffer's size in floats) */
        memcpy(vals, v, sizeof(int64_t) * (size_t)n);
        bind[nb++] = new_slot(L, vals, 2 * (size_t)n);
        for (int i = 0; i < n && i < 64; i++)
            if (rt >> i & 1) p[i] = 0;
    }
    for (int i = 0; i < n && i < 64; i++)
        if ((m >> i & 1) && p[i] >= 0) {
            int k = rt ? 1 : 0;   /* a buffer used twice gets one binding entry */
            while (k < nb && bind[k] != p[i]) k++;
            if (k == nb) bind[nb++] = (int)p[i];
            p[i] = k;
        }
    int same = same_step(L, kernel, p, n, rt);
    if (L->oom) {
        free(p);
        free(bind);
        return;
    }
    pl->steps[pl->n_steps] = (JitStep){kernel, p, n, items, bind, nb, pl->n_ctx, same, L->what, L->loc, L->scope, L->node, rt};
    pl->n_steps++;
    pl->n_ctx += nb;
}

/* A step of kernel `name` with table kp, which must be a bcl_kp_name (kernels.h): the
 * struct is the table, entry for entry; its slot fields are found from the field list. */
#define STEP(L, name, kp, items) \
    emit(L, #name, (const int64_t *)(const void *)&(kp), \
         (int)(sizeof(kp) / sizeof(int64_t)) + 0 * _Generic((kp), bcl_kp_##name: 0), bcl_kp_slots_##name(), 0, items)

/* The same, its rt fields read at run time: for small steps whose shapes vary, so one
 * compiled function serves them all (compile time; kernels.h, rt fields). */
#define STEP_SHARED(L, name, kp, items) \
    emit(L, #name, (const int64_t *)(const void *)&(kp), \
         (int)(sizeof(kp) / sizeof(int64_t)) + 0 * _Generic((kp), bcl_kp_##name: 0), bcl_kp_slots_##name(), \
         bcl_kp_rt_##name(), items)

/* The same for kernel `name` whose field list is kernel `as`'s (wino4_in: wino_in's),
 * with kp a bcl_kp_as. */
#define STEP_AS(L, name, as, kp, items) \
    emit(L, #name, (const int64_t *)(const void *)&(kp), \
         (int)(sizeof(kp) / sizeof(int64_t)) + 0 * _Generic((kp), bcl_kp_##as: 0) + \
             0 * (int)sizeof(char[sizeof(bcl_kp_##name) == sizeof(bcl_kp_##as) ? 1 : -1]), \
         bcl_kp_slots_##name(), 0, items)

/* a[0..n) into an i64x8 field (the rest stays 0) */
static void copy8(int64_t *dst, const int64_t *a, int n)
{
    for (int i = 0; i < n && i < 8; i++) dst[i] = a[i];
}

/* The plan frees buf with itself (on failure to record it, buf is freed now). */
static void own_buf(Lower *L, void *buf, size_t bytes, bool is_const)
{
    JitPlan *pl = L->pl;
    int cap = pl->cap_owned;
    pl->owned = grow(pl->owned, &pl->cap_owned, pl->n_owned + 1, sizeof(void *), &L->oom);
    /* sizes and kinds ride along (the AOT compiler embeds or lays out every buffer) */
    if (!L->oom) pl->owned_info = grow(pl->owned_info, &cap, pl->n_owned + 1, sizeof(JitOwned), &L->oom);
    if (L->oom) {
        free(buf);
        return;
    }
    pl->owned_info[pl->n_owned] = (JitOwned){bytes, is_const};
    pl->owned[pl->n_owned++] = buf;
}

/* A new slot holding buf (owned by the plan, packed weights of own_floats floats,
 * when own_floats > 0). */
static int new_slot(Lower *L, void *buf, size_t own_floats)
{
    JitPlan *pl = L->pl;
    pl->slot_init = grow(pl->slot_init, &pl->cap_slots, pl->n_slots + 1, sizeof(void *), &L->oom);
    if (L->oom) {
        if (own_floats) free(buf);
        return 0;
    }
    pl->slot_init[pl->n_slots] = buf;
    if (own_floats) own_buf(L, buf, own_floats * sizeof(float), true);
    return pl->n_slots++;
}

/* Records a weight packing job (done by jit_plan_pack); returns the slot its result
 * will be in. */
static int pack_job(Lower *L, JitPackKind kind, const IrValue *w, const IrValue *b, int64_t a0, int64_t a1,
                    int64_t a2, int64_t a3, int64_t a4)
{
    JitPlan *pl = L->pl;
    int slot = new_slot(L, NULL, 0);
    pl->packs = grow(pl->packs, &pl->cap_packs, pl->n_packs + 1, sizeof *pl->packs, &L->oom);
    if (L->oom) return 0;
    pl->packs[pl->n_packs++] = (JitPack){kind, w->data, b ? b->data : NULL, shape_numel(&w->shape),
                                         b ? shape_numel(&b->shape) : 0, {a0, a1, a2, a3, a4}, slot, NULL, 0};
    return slot;
}

/* A fault word for a step that checks indices (take, gather): a zeroed int32[2] the plan
 * owns (in an AOT object, workspace nobody reads); recorded so bcl_jit_run reports it. */
static int fault_slot(Lower *L, const IrNode *n, int64_t dim)
{
    JitPlan *pl = L->pl;
    int32_t *w = bcl_calloc(2, sizeof(int32_t));
    if (!w) {
        L->oom = true;
        return 0;
    }
    own_buf(L, w, 2 * sizeof(int32_t), false);
    if (L->oom) return 0;
    int slot = new_slot(L, w, 0);
    pl->faults = grow(pl->faults, &pl->cap_faults, pl->n_faults + 1, sizeof *pl->faults, &L->oom);
    if (L->oom) return 0;
    pl->faults[pl->n_faults++] = (JitFault){slot, ir_op_info[n->op].name, n->attrs.axis, dim, n->loc};
    return slot;
}

static bool has_data(const IrValue *v) { return v->kind == IRV_PARAM || v->kind == IRV_CONST; }

static void strides_of(const Shape *s, int64_t *st)
{
    int64_t acc = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = acc;
        acc *= s->d[i];
    }
}

static void act_step(Lower *L, int y, int act, float alpha, int64_t n)
{
    bcl_kp_unary k = {.op = act, .alpha = fbits(alpha), .x = y, .y = y, .n = n, .chunk = BCL_JIT_CHUNK};
    STEP(L, unary, k, cdiv(n, BCL_JIT_CHUNK));
}

/* Returns whether the node's act epilogue is done by the emitted kernel. */
static bool lower_binary(Lower *L, const IrNode *n, int a, int b, int y)
{
    const Shape *ys = &n->out->shape;
    int64_t yd[8] = {1}, sa[8] = {0}, sb[8] = {0};
    int r = ys->rank;
    if (r == 0) {
        r = 1;   /* a scalar result: one row of one element */
    } else {
        for (int i = 0; i < r; i++) yd[i] = ys->d[i];
        ir_bcast_strides(&n->in[0]->shape, r, sa);
        ir_bcast_strides(&n->in[1]->shape, r, sb);
    }
    /* Collapse dims that are contiguous in both operands (and drop size-1 dims): an SE
     * block's [N,C,H,W] * [N,C,1,1] becomes N*C rows of H*W, not N*C*H rows of W. */
    int m = 0;
    int64_t cd[8], ca[8], cbs[8];
    for (int k = r - 1; k >= 0; k--) {
        if (yd[k] == 1) continue;
        if (m > 0 && sa[k] == ca[m - 1] * cd[m - 1] && sb[k] == cbs[m - 1] * cd[m - 1]) {
            cd[m - 1] *= yd[k];
            continue;
        }
        cd[m] = yd[k], ca[m] = sa[k], cbs[m] = sb[k], m++;
    }
    if (m == 0) cd[0] = 1, ca[0] = cbs[0] = 0, m = 1;
    for (int k = 0; k < m; k++) yd[k] = cd[m - 1 - k], sa[k] = ca[m - 1 - k], sb[k] = cbs[m - 1 - k];
    r = m;
    int64_t len = yd[r - 1], rows = len ? shape_numel(ys) / len : 0;
    int64_t per = len >= BCL_JIT_CHUNK ? 1 : BCL_JIT_CHUNK / (len ? len : 1);
    bcl_kp_binary k = {.op = n->op, .a = a, .b = b, .y = y, .rank = r, .rows = rows, .rows_per_item = per,
                       .act = n->attrs.act, .alpha = fbits(n->attrs.act_alpha)};
    copy8(k.ydims, yd, r), copy8(k.astr, sa, r), copy8(k.bstr, sb, r);
    STEP(L, binary, k, cdiv(rows, per));
    return true;
}

static bool lower_matmul(Lower *L, const IrNode *n, int a, int b, int y)
{
    /* the interpreter's layout (ir_matmul_layout): stacks of matrices, batch dims broadcast */
    IrMatmulLayout l;
    ir_matmul_layout(&n->in[0]->shape, &n->in[1]->shape, &l);
    int64_t M = l.M, K = l.K, N = l.N, nb = l.n_batch;
    int r = l.batch_rank;
    bcl_kp_matmul k = {.a = a, .b = b, .y = y, .M = M, .K = K, .N = N, .nb = nb, .rank = r,
                       .act = n->attrs.act, .alpha = fbits(n->attrs.act_alpha)};
    copy8(k.bd, l.batch, r), copy8(k.sa, l.a_stride, r), copy8(k.sb, l.b_stride, r);
    STEP(L, matmul, k, nb * M);
    return true;
}

/* A linear step over `rows` rows with weights pre-packed in 16-output blocks (bias folded
 * in): Linear itself (hw 1, no residual) and 1x1 convs over few pixels (rows are
 * (image, pixel) pairs, hw pixels per image, optional residual). */
static bool step_linear_packed(Lower *L, const IrValue *w, const IrValue *b, int x, int y, int64_t rows,
                               int64_t hw, int res, int act, float act_alpha)
{
    int64_t O = w->shape.d[0], I = w->shape.d[1];
    int ws = pack_job(L, JIT_PACK_LINEAR16, w, b, O, I, 0, 0, 0);
    int64_t OB = cdiv(O, 16), RT = 4;
    bcl_kp_linear_p k = {.x = x, .wp = ws, .y = y, .rows = rows, .I = I, .O = O, .OB = OB, .act = act,
                         .alpha = fbits(act_alpha), .RT = RT, .P = hw, .r = res};
    /* small ones (SE blocks' two linears: every block its own shapes) share one function */
    if (rows * I * O <= (1 << 20)) STEP_SHARED(L, linear_p, k, cdiv(rows, RT) * OB);
    else STEP(L, linear_p, k, cdiv(rows, RT) * OB);
    return true;
}

static bool lower_linear(Lower *L, const IrNode *n, int x, int y)
{
    const IrValue *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    int64_t I = w->shape.d[1], O = w->shape.d[0];
    int64_t rows = I ? shape_numel(&n->in[0]->shape) / I : 0;
    int res = n->n_in > 3 ? n->in[3]->id : -1;   /* fused residual (pass fuse-add) */
    if (has_data(w) && (!b || has_data(b)) && rows == 1)   /* a classifier at batch 1: four chains */
        return step_linear_packed(L, w, b, x, y, rows, 1, res, n->attrs.act, n->attrs.act_alpha);
    if (has_data(w) && (!b || has_data(b))) {
        /* the register-blocked GEMM: AVX-512 8 rows x 32 columns (16 of its 32 vector
         * registers), AVX2 6 rows x 16 columns (12 of 16) */
        int ws = pack_job(L, JIT_PACK_LINEAR16, w, b, O, I, 0, 0, 0);
        int64_t OB = cdiv(O, 16), RT = L->h->vec512 ? 8 : 6, NB = L->h->vec512 ? 2 : 1;
        bcl_kp_gemm k = {.x = x, .wp = ws, .res = res, .y = y, .rows = rows, .I = I, .O = O, .OB = OB,
                         .act = n->attrs.act, .alpha = fbits(n->attrs.act_alpha), .RT = RT, .NB = NB};
        STEP(L, gemm, k, cdiv(OB, NB) * cdiv(rows, RT));
        return true;
    }
    bcl_kp_linear k = {.x = x, .w = w->id, .b = b ? b->id : -1, .y = y, .rows = rows, .I = I, .O = O,
                       .act = res >= 0 ? -1 : n->attrs.act, .alpha = fbits(n->attrs.act_alpha)};
    STEP(L, linear, k, rows);
    if (res >= 0) {   /* weights computed at run time: the residual (and the activation) as a second step */
        bcl_kp_binary a = {.op = IR_ADD, .a = y, .b = res, .y = y, .rank = 1, .rows = 1, .rows_per_item = 1,
                           .act = n->attrs.act, .alpha = fbits(n->attrs.act_alpha), .ydims = {rows * O},
                           .astr = {1}, .bstr = {1}};
        STEP(L, binary, a, 1);
    }
    return true;
}

/* Whether a depthwise conv n takes KERNEL(dwconv) (a band's padded, phase-split input
 * rows fit the kernel's local buffer); its phase row length and band height. */
static bool dwconv_nchw_ok(const IrNode *n, int64_t *WQ_out, int64_t *RB_out)
{
    const IrAttrs *a = &n->attrs;
    const IrValue *w = n->in[1];
    int64_t KH = w->shape.d[2], KW = w->shape.d[3], OH = n->out->shape.d[2], OW = n->out->shape.d[3];
    int64_t sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    if (getenv("BCL_JIT_DWCONV_NCHW") && !strcmp(getenv("BCL_JIT_DWCONV_NCHW"), "0")) return false;
    /* phase entries per row: whole output vectors plus the taps' reach */
    int64_t WQ = cdiv(OW, 16) * 16 + (KW - 1) * dw / sw;
    if (a->pad[1] > WQ) return false;   /* (the stride-2 row copy assumes a narrower halo) */
    const int64_t cap = 8192;   /* floats of the band buffer: 32 KiB, L1 */
    int64_t row = sw * WQ, rmax = cap / row - (KH - 1) * dh - 1;
    if (rmax < 0) return false;
    int64_t RB = rmax / sh + 1;
    if (RB > OH) RB = OH;
    RB = cdiv(OH, cdiv(OH, RB));   /* bands of even height */
    *WQ_out = WQ, *RB_out = RB;
    return true;
}

/* dwconv's register tile: OR output rows x TV vectors of 16 outputs, each input row
 * vector loaded once per tap column for all the rows it feeds. Accumulators: 16 zmm of
 * 32 with AVX-512, 12 ymm of 16 with AVX2 (a vector is 2 ymm); rows only as many as
 * share input rows (stride 1: KH - 1 shared per row pair). BCL_JIT_DW_ROWS=1: one row
 * (comparisons). */
static void dw_row_tile_shape(const Lower *L, int64_t OW, int64_t KH, int64_t sh, int64_t *TV, int64_t *OR)
{
    int64_t nv = cdiv(OW, 16), acc = L->h->vec512 ? 16 : 6;
    const char *e = getenv("BCL_JIT_DW_ROWS");
    if ((e && *e == '1') || KH <= sh) {   /* no input row shared between output rows */
        *TV = L->h->vec512 ? 8 : 4, *OR = 1;
        return;
    }
    *TV = nv < 4 ? nv : 4;
    if (!L->h->vec512 && *TV > 2) *TV = 2;
    *OR = acc / *TV > 8 ? 8 : acc / *TV;
}

/* BCL_JIT_DWFLAT=0: small planes take dwconv's row vectors too (comparisons). */
static bool dwflat_on(void)
{
    const char *e = getenv("BCL_JIT_DWFLAT");
    return !(e && *e == '0');
}

/* Depthwise conv on NCHW (KERNEL(dwconv)) when a band's padded, phase-split input rows
 * fit the kernel's local buffer; false leaves it to the blocked kernel. */
static bool lower_dwconv(Lower *L, const IrNode *n, int x, int y, int res)
{
    const IrAttrs *a = &n->attrs;
    const IrValue *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    const Shape *xs = &n->in[0]->shape, *ys = &n->out->shape;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3], KH = w->shape.d[2], KW = w->shape.d[3];
    int64_t OH = ys->d[2], OW = ys->d[3], sh = a->stride[0], sw = a->stride[1];
    int64_t dh = a->dilation[0], dw = a->dilation[1];
    int64_t WQ, RB;
    if (!dwconv_nchw_ok(n, &WQ, &RB)) return false;
    int64_t NB = cdiv(OH, RB);
    int wslot = pack_job(L, JIT_PACK_GEMM, w, b, C, KH * KW, 1, 0, 0);   /* w[C][KH*KW] + bias[C] */
    const IrNode *e = L->pw_of ? L->pw_of[L->node] : NULL;   /* a 1x1 expansion fused in (pwdw_fusable) */
    /* pwdw's table: dwconv's, then the expansion's fields; dwflat's starts as dwconv's
     * (kernels.h: BCL_KP_DW_CONV) */
    bcl_kp_pwdw k = {.x = e ? e->in[0]->id : x, .wp = wslot, .r = res, .y = y, .N = N, .C = C, .H = H, .W = W,
                     .KH = KH, .KW = KW, .OH = OH, .OW = OW, .sh = sh, .sw = sw, .dh = dh, .dw = dw, .pt = a->pad[0],
                     .pl = a->pad[1], .act = a->act, .alpha = fbits(a->act_alpha), .RB = RB, .WQ = WQ,
                     .TV = L->h->vec512 ? 8 : 4, .OR = 1};
    dw_row_tile_shape(L, OW, KH, sh, &k.TV, &k.OR);
    if (e) {
        const IrValue *ew = e->in[1], *eb = e->n_in > 2 ? e->in[2] : NULL;
        int64_t Ci = ew->shape.d[1];
        /* G channels per item, so each row vector of x read from L2 feeds G FMAs (2 channels
         * x 8 vectors with AVX-512, x 2 ymm pairs with AVX2); their G band buffers share the
         * 32 KiB (shorter bands: more rows computed twice at band edges). MobileNetV2's
         * first expansion + depthwise (CPU, 1 thread): AVX-512 G = 1, 2, 4: 0.89-0.99,
         * 0.65-0.67, 0.70 ms; AVX2 0.88-0.98, 0.80-0.84, 0.88-0.93 ms. BCL_JIT_PWDW_G: G */
        const char *genv = getenv("BCL_JIT_PWDW_G");
        int64_t G = genv && (*genv == '1' || *genv == '2' || *genv == '4') ? *genv - '0' : 2;
        int64_t RBg = 0;
        for (; G > 1; G /= 2) {
            int64_t rmax = 8192 / G / (sw * WQ) - (KH - 1) * dh - 1;
            if (rmax < 0) continue;
            RBg = rmax / sh + 1 < OH ? rmax / sh + 1 : OH;
            RBg = cdiv(OH, cdiv(OH, RBg));
            break;
        }
        if (G > 1) RB = RBg, NB = cdiv(OH, RB), k.RB = RB;
        int64_t CV = G == 1 ? (L->h->vec512 ? 8 : 4) : G == 2 ? (L->h->vec512 ? 8 : 2) : L->h->vec512 ? 4 : 1;
        int64_t BUF = ((RB - 1) * sh + (KH - 1) * dh + 1) * sw * WQ;
        k.pw = pack_job(L, JIT_PACK_GEMM, ew, eb, C, Ci, 1, 0, 0), k.Ci = Ci, k.pact = e->attrs.act;
        k.palpha = fbits(e->attrs.act_alpha), k.CV = CV, k.G = G, k.BUF = BUF;
        STEP(L, pwdw, k, N * cdiv(C, G) * NB);
        return true;
    }
    /* Rows under 16 at stride 1 or 2 (7x7 planes): the flat phase planes (KERNEL(dwflat))
     * when their vectors are fewer than one per row */
    int64_t PW = OW + (KW - 1) / (sw ? sw : 1), NVEC = cdiv((OH - 1) * PW + OW, 16);
    if (sh <= 2 && sw <= 2 && dh == 1 && dw == 1 && OW < 16 && NVEC <= 8 && NVEC < OH && dwflat_on()) {
        bcl_kp_dwflat f;   /* the leading fields of dwconv's table, then the flat planes' */
        memcpy(&f, &k, offsetof(bcl_kp_dwflat, PW));
        f.PW = PW, f.NVEC = NVEC;
        STEP(L, dwflat, f, N * C);
        return true;
    }
    bcl_kp_dwconv d;   /* the leading fields of pwdw's table */
    memcpy(&d, &k, sizeof d);
    STEP(L, dwconv, d, N * C * NB);
    return true;
}

/* Whether an expansion e (a dense 1x1 conv) can be computed inside the depthwise conv
 * that reads it (KERNEL(pwdw)): e's result has no other reader, the dw conv takes the
 * NCHW path, rows of at most 128 floats (8 vectors of the kernel's row tile), and the
 * expanded tensor per image is over 1 MB (smaller ones stay in L2 between the two steps,
 * and there the GEMM's register tile is the faster way to compute the expansion).
 * BCL_JIT_PWDW=0: never. */
static bool pwdw_fusable(const IrNode *e, const IrNode *dw, const int *uses)
{
    const char *env = getenv("BCL_JIT_PWDW");
    if (env && *env == '0') return false;
    const IrAttrs *a = &e->attrs;
    const IrValue *w = e->in[1], *b = e->n_in > 2 ? e->in[2] : NULL;
    if (e->op != IR_CONV2D || e->n_in > 3 || a->groups != 1 || w->shape.d[2] != 1 || w->shape.d[3] != 1 ||
        a->stride[0] != 1 || a->stride[1] != 1 || a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3] ||
        !has_data(w) || (b && !has_data(b)) || uses[e->out->id] != 1)
        return false;
    const Shape *ys = &e->out->shape;
    if (ys->rank != 4 || ys->d[3] > 128 || ys->d[1] * ys->d[2] * ys->d[3] < (1 << 20)) return false;
    const IrValue *dww = dw->n_in > 1 ? dw->in[1] : NULL, *dwb = dw->n_in > 2 ? dw->in[2] : NULL;
    int64_t WQ, RB;
    return dw->op == IR_CONV2D && dw->in[0] == e->out && dw->attrs.groups == ys->d[1] &&
           dw->out->shape.d[1] == ys->d[1] && dww->shape.d[1] == 1 && has_data(dww) && (!dwb || has_data(dwb)) &&
           (dw->n_in < 4 || dw->in[3] != e->out) && dwconv_nchw_ok(dw, &WQ, &RB);
}

/* Rows per band for the kernels that buffer padded, phase-split input rows (fill_band
 * in kernels.c): as many as fit `cap` floats, bands of even height; 0 if not one fits. */
/* The width of a kernel's register tiles over n outputs (rows, columns): the kernels
 * run n / t tiles of t, then one of n % t. A tile of t costs about max(t, lat) steps
 * (below lat its accumulator chains wait on the FMA latency: with AVX2, 2t ymm
 * chains must cover 4 cycles x 2 pipes, so lat = 4), plus a little per tile; the
 * cheapest t in [lat, max] (the widest on ties). AVX2 ResNet-50's 7x7 convs: 6 + 1
 * columns become 4 + 3, Winograd's 16 tiles 6 + 6 + 4 (one row at a time before). */
static int64_t tile_width(int64_t n, int64_t max, int64_t lat)
{
    int64_t best = max, best_cost = INT64_MAX;
    for (int64_t t = max; t >= lat && t >= 1; t--) {
        int64_t rem = n % t, cost = 4 * ((n / t) * t + (rem ? (rem > lat ? rem : lat) : 0)) + 2 * cdiv(n, t);
        if (cost < best_cost) best_cost = cost, best = t;
    }
    return best;
}

static int64_t band_rows(int64_t OH, int64_t sh, int64_t reach, int64_t row_floats, int64_t cap)
{
    int64_t rmax = cap / row_floats - reach;   /* reach: input rows one output row needs */
    if (rmax < 0) return 0;
    int64_t RB = rmax / sh + 1;
    if (RB > OH) RB = OH;
    return cdiv(OH, cdiv(OH, RB));
}

/* Max pooling on NCHW (KERNEL(maxpool)) when every window holds an input element (the
 * kernel pads with -inf; the reference gives 0 for an empty window). */
static bool lower_maxpool(Lower *L, const IrNode *n, int64_t OH, int64_t OW)
{
    const IrAttrs *a = &n->attrs;
    const Shape *xs = &n->in[0]->shape;
    if (xs->rank != 4) return false;
    int64_t H = xs->d[2], W = xs->d[3], KH = a->kernel[0], KW = a->kernel[1], sh = a->stride[0], sw = a->stride[1];
    int64_t pt = a->pad[0], pl = a->pad[1];
    if (pt >= KH || pl >= KW || (OH - 1) * sh - pt >= H || (OW - 1) * sw - pl >= W) return false;
    int64_t WQ = cdiv(OW, 16) * 16 + (KW - 1) / sw;
    if (pl > WQ) return false;
    int64_t RB = band_rows(OH, sh, KH, sw * WQ, 8192);
    if (!RB) return false;
    bcl_kp_maxpool k = {.x = n->in[0]->id, .y = n->out->id, .NC = xs->d[0] * xs->d[1], .H = H, .W = W, .OH = OH,
                        .OW = OW, .KH = KH, .KW = KW, .sh = sh, .sw = sw, .pt = pt, .pl = pl, .RB = RB, .WQ = WQ};
    STEP(L, maxpool, k, xs->d[0] * xs->d[1] * cdiv(OH, RB));
    return true;
}

/* Dense convs with few input channels (stems) on NCHW: KERNEL(convrow). */
static bool lower_convrow(Lower *L, const IrNode *n, int x, int y, int res)
{
    const IrAttrs *a = &n->attrs;
    const IrValue *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    const Shape *xs = &n->in[0]->shape, *ys = &n->out->shape;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3], O = w->shape.d[0];
    int64_t KH = w->shape.d[2], KW = w->shape.d[3], OH = ys->d[2], OW = ys->d[3];
    int64_t sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    if (getenv("BCL_JIT_CONVROW") && !strcmp(getenv("BCL_JIT_CONVROW"), "0")) return false;
    int64_t WQ = cdiv(OW, 16) * 16 + (KW - 1) * dw / sw;
    if (a->pad[1] > WQ) return false;
    int64_t RB = band_rows(OH, sh, (KH - 1) * dh + 1, C * sw * WQ, 12288);
    if (!RB) return false;
    int64_t R = (RB - 1) * sh + (KH - 1) * dh + 1;
    bool v512 = L->h->vec512;
    int64_t OT = v512 && O % 8 == 0 ? 8 : 6, TV = v512 ? (OT == 8 ? 3 : 4) : 1, OBK = cdiv(O, OT);
    int wslot = pack_job(L, JIT_PACK_GEMM, w, b, O, C * KH * KW, OT, 0, 0);
    bcl_kp_convrow k = {.x = x, .wp = wslot, .r = res, .y = y, .N = N, .C = C, .H = H, .W = W, .KH = KH, .KW = KW,
                        .O = O, .OH = OH, .OW = OW, .sh = sh, .sw = sw, .dh = dh, .dw = dw, .pt = a->pad[0],
                        .pl = a->pad[1], .act = a->act, .alpha = fbits(a->act_alpha), .RB = RB, .WQ = WQ, .OT = OT,
                        .R = R, .OBK = OBK, .TV = TV};
    STEP(L, convrow, k, N * cdiv(OH, RB) * OBK);
    return true;
}

/* BCL_JIT_CONV1X1_CV=0: small images take conv1x1's pixel vectors too (comparisons). */
static bool conv1x1_cv_on(void)
{
    const char *e = getenv("BCL_JIT_CONV1X1_CV");
    return !(e && *e == '0');
}

/* Whether conv1x1_cv reads its input packed per pixel tile (cv_pack first) rather
 * than NCHW in place. BCL_JIT_CV_PACK=0/1 decides (comparisons). */
static bool cv_pack_on(const Lower *L)
{
    const char *e = getenv("BCL_JIT_CV_PACK");
    if (e && (*e == '0' || *e == '1')) return *e == '1';
    return !L->h->vec512;
}

static bool lower_conv(Lower *L, const IrNode *n, int x, int y)
{
    const IrAttrs *a = &n->attrs;
    const IrValue *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    const Shape *xs = &n->in[0]->shape, *ws = &w->shape, *ys = &n->out->shape;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], CG = ws->d[1], KH = ws->d[2], KW = ws->d[3], OH = ys->d[2], OW = ys->d[3];
    int64_t G = a->groups, sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    int res = n->n_in > 3 ? n->in[3]->id : -1;
    bool packable = has_data(w) && (!b || has_data(b));
    bool dense = G == 1, depthwise = G == C && O == C && CG == 1;
    /* Grouped convs on the blocked kernel: each group's channels start new 16-blocks, so
     * narrow groups pad with zeros; used while the padded work is at most 4x (RegNet's
     * 24-channel groups: 1.78x), the generic kernel being far slower than that. */
    int64_t OG = O / (G ? G : 1);
    bool grouped = G > 1 && !depthwise && cdiv(CG, 16) * 16 * cdiv(OG, 16) * 16 <= 4 * CG * OG;
    if (!packable || !(dense || depthwise || grouped)) {
        bcl_kp_conv k = {.x = x, .w = w->id, .b = b ? b->id : -1, .r = res, .y = y, .N = N, .C = C, .H = H, .W = W,
                         .O = O, .KH = KH, .KW = KW, .OH = OH, .OW = OW, .sh = sh, .sw = sw, .dh = dh, .dw = dw,
                         .pt = a->pad[0], .pl = a->pad[1], .G = G, .act = a->act, .alpha = fbits(a->act_alpha)};
        STEP(L, conv, k, N * O);
        return true;
    }
    if (dense && packable && KH == 1 && KW == 1 && sh == 1 && sw == 1 && !a->pad[0] && !a->pad[1] &&
        !a->pad[2] && !a->pad[3] && H * W < 16) {   /* few pixels: a linear over (image, pixel) rows */
        return step_linear_packed(L, w, b, x, y, N * H * W, H * W, res, a->act, a->act_alpha);
    }
    bool pad0 = !a->pad[0] && !a->pad[1] && !a->pad[2] && !a->pad[3];
    if (dense && KH == 1 && KW == 1 && pad0 && (sh > 1 || sw > 1) && OH * OW >= 16) {
        /* strided 1x1 (ResNet's projections): subsample into scratch, then the GEMM */
        int64_t ny = N * C * OH * OW, planes = cdiv(4096, OH * OW);
        if ((size_t)ny > L->scratch_floats[1]) L->scratch_floats[1] = (size_t)ny;
        bcl_kp_subsample g = {.x = x, .y = L->scratch_slot[1], .R = N * C, .planes = planes, .H = H, .W = W,
                              .OH = OH, .OW = OW, .sh = sh, .sw = sw};
        STEP(L, subsample, g, cdiv(N * C, planes));
        x = L->scratch_slot[1];
        H = OH, W = OW, sh = sw = 1;
    }
    if (dense && KH == 1 && KW == 1 && sh == 1 && sw == 1 && pad0) {   /* a GEMM on NCHW as it is */
        /* An item: OT channels x PV 16-pixel vectors, as register tiles of RV vectors
         * (AVX-512: 6 x 4 zmm; AVX2: 6 x 1 ymm pair). On AVX2 an image of under 64
         * pixels (ResNet-50's 7x7 stage: weights of 1-4 MB) is one item per channel tile,
         * so its weights are read from L3 once, not once per 16 pixels (measured 10-18%
         * faster there; no better on larger images) */
        int64_t P = H * W, OT = 6, PV = L->h->vec512 || P < 64 ? 4 : 1, RV = L->h->vec512 ? 4 : 1;
        /* Few pixels, not a multiple of 16 (7x7: 64 computed for 49): output channels as
         * the vectors instead (KERNEL(conv1x1_cv)), tiles of MT pixels x NV channel blocks,
         * MT dividing P where one of 5..8 does (AVX-512: 7 x 3 zmm; AVX2: 6 x 1 ymm pair) */
        const IrValue *sx = L->scale_x ? L->scale_x[L->node] : NULL, *ss = sx ? L->scale_s[L->node] : NULL;
        bool cv_ok = P < 64 && P % 16 && conv1x1_cv_on();
        int64_t key[] = {N, C, P, O, sx != NULL};   /* --tune: PV of 1, 2, 4, 8, or channels as vectors */
        int how = jit_tune_choice(L->tune, L->node, JIT_TUNE_conv1x1, key, 5, 0xfu | (cv_ok ? 0x10u : 0u),
                                  cv_ok ? 4 : PV == 4 ? 2 : 0);
        bool cv = how == 4;
        if (!cv) PV = (int64_t)1 << how, RV = RV > PV ? PV : RV;
        int64_t MT = L->h->vec512 ? 7 : 6, NV = L->h->vec512 ? 3 : 1;
        for (int64_t m = 8; cv && m >= 5; m--)
            if (P % m == 0 && (L->h->vec512 || m <= 6)) {
                MT = m;
                break;
            }
        if (cv) OT = 16;
        int64_t OBK = cdiv(O, OT), WS = 0;
        int wslot = pack_job(L, JIT_PACK_GEMM, w, b, O, C, OT, 0, 0);
        if (sx) {   /* the input is sx * ss ([N,C,1,1], an SE block's scale): scale the weights per image */
            WS = OBK * C * OT + OBK * OT;
            if ((size_t)(N * WS) > L->scratch_floats[1]) L->scratch_floats[1] = (size_t)(N * WS);
            bcl_kp_scale_w ks = {.wp = wslot, .s = ss->id, .wo = L->scratch_slot[1], .C = C, .OT = OT, .OBK = OBK};
            STEP_SHARED(L, scale_w, ks, N * OBK);   /* one function for every SE block's */
            x = sx->id, wslot = L->scratch_slot[1];
        }
        if (cv) {
            bool pk = cv_pack_on(L);
            if (pk) {
                if ((size_t)(N * C * P) > L->scratch_floats[0]) L->scratch_floats[0] = (size_t)(N * C * P);
                bcl_kp_cv_pack kx = {.x = x, .xt = L->scratch_slot[0], .C = C, .P = P, .MT = MT};
                STEP(L, cv_pack, kx, N * cdiv(P, MT));
                x = L->scratch_slot[0];
            }
            bcl_kp_conv1x1_cv k = {.x = x, .wp = wslot, .r = res, .y = y, .N = N, .C = C, .P = P, .O = O, .OB = OBK,
                                   .act = a->act, .alpha = fbits(a->act_alpha), .MT = MT, .NV = NV, .WS = WS,
                                   .PK = pk};
            STEP(L, conv1x1_cv, k, N * cdiv(OBK, NV) * cdiv(P, MT));
            return true;
        }
        bcl_kp_conv1x1 k = {.x = x, .wp = wslot, .r = res, .y = y, .N = N, .C = C, .P = P, .O = O, .OBK = OBK,
                            .act = a->act, .alpha = fbits(a->act_alpha), .OT = OT, .PV = PV, .WS = WS, .RV = RV};
        STEP(L, conv1x1, k, N * (P / (16 * PV) ? P / (16 * PV) : 1) * cdiv(O, OT));
        return true;
    }
    if (depthwise && !dense && lower_dwconv(L, n, x, y, res)) return true;
    if (dense && C <= 4 && KH * KW > 1 && lower_convrow(L, n, x, y, res)) return true;
    /* Blocked path: pack the input (zero halo) into scratch, then the tiled kernel. */
    bool gpad = grouped && !dense;   /* per-group blocks (dense, depthwise: one run of C) */
    int64_t CBG = cdiv(CG, 16), CB = gpad ? G * CBG : cdiv(C, 16);
    int64_t HP = H + a->pad[0] + a->pad[2], WP = W + a->pad[1] + a->pad[3];
    bool wino = dense && KH == 3 && KW == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && C >= 8 && O >= 8;
    /* F(4x4, 3x3) needs 36 multiplies per 16 outputs where F(2x2, 3x3) needs 64, but its
     * transformed weights are 36/16 as large and each GEMM reads them once per call: with
     * few tiles (deep, small layers at batch 1: ResNet-50's 14x14 and 7x7) the step is
     * bound by reading them and 2x2 tiles are faster (measured); so are small outputs,
     * where 4x4 tiles would mostly compute padding. --tune measures the three ways. */
    int64_t WT = OH >= 6 && OW >= 6 && N * cdiv(OH, 4) * cdiv(OW, 4) >= 48 && L->winograd43 ? 4 : 2;
    if (wino) {
        unsigned allowed = 1u | (L->winograd ? 2u : 0u) | (L->winograd && L->winograd43 ? 4u : 0u);
        int64_t key[] = {N, C, H, W, O, a->pad[0], a->pad[1], a->pad[2], a->pad[3]};
        int c = jit_tune_choice(L->tune, L->node, JIT_TUNE_conv3x3, key, 9, allowed, L->winograd ? (WT == 4 ? 2 : 1) : 0);
        wino = c > 0, WT = c == 2 ? 4 : 2;
    }
    int64_t TH = cdiv(OH, WT), TWn = cdiv(OW, WT);
    if (wino) {   /* the (WT+2)x(WT+2) patches of the last tiles reach past the padding */
        if (HP < WT * TH + 2) HP = WT * TH + 2;
        if (WP < WT * TWn + 2) WP = WT * TWn + 2;
    }
    int64_t need_h = (OH - 1) * sh + (KH - 1) * dh + 1, need_w = (OW - 1) * sw + (KW - 1) * dw + 1;
    if (HP < need_h) HP = need_h;
    if (WP < need_w) WP = need_w;
    size_t sf = (size_t)(N * CB * HP * WP * 16);
    if (sf > L->scratch_floats[0]) L->scratch_floats[0] = sf;
    bcl_kp_pack16c kpk = {.x = x, .xp = L->scratch_slot[0], .N = N, .C = C, .H = H, .W = W, .CB = CB, .HP = HP,
                          .WP = WP, .pt = a->pad[0], .pl = a->pad[1], .CG = gpad ? CG : C, .CBG = gpad ? CBG : CB};
    STEP(L, pack16c, kpk, N * CB * HP);
    if (wino) {
        int us = pack_job(L, WT == 4 ? JIT_PACK_WINO43 : JIT_PACK_WINO23, w, b, O, C, 0, 0, 0);
        int64_t T = N * TH * TWn, OB = cdiv(O, 16), Cp = CB * 16, RT = L->h->vec512 ? 8 : tile_width(T, 6, 4);
        int64_t NXI = (WT + 2) * (WT + 2);   /* transform positions: 16 or 36 */
        size_t vf = (size_t)(NXI * T * Cp), mf = (size_t)(NXI * T * OB * 16);
        if (vf > L->scratch_floats[1]) L->scratch_floats[1] = vf;
        if (mf > L->scratch_floats[2]) L->scratch_floats[2] = mf;
        bcl_kp_wino_in ti = {.xp = L->scratch_slot[0], .V = L->scratch_slot[1], .N = N, .CB = CB, .HP = HP,
                             .WP = WP, .TH = TH, .TW = TWn};
        if (WT == 4) STEP_AS(L, wino4_in, wino_in, ti, N * TH);
        else STEP(L, wino_in, ti, N * TH);
        bcl_kp_wino_gemm tg = {.V = L->scratch_slot[1], .U = us, .M = L->scratch_slot[2], .T = T, .Cp = Cp, .OB = OB,
                               .RT = RT, .NXI = NXI};
        STEP(L, wino_gemm, tg, NXI * cdiv(T, RT) * OB);
        bcl_kp_wino_out to = {.M = L->scratch_slot[2], .U = us, .r = res, .y = y, .N = N, .O = O, .OB = OB, .OH = OH,
                              .OW = OW, .TH = TH, .TW = TWn, .act = a->act, .alpha = fbits(a->act_alpha), .Cp = Cp};
        if (WT == 4) STEP_AS(L, wino4_out, wino_out, to, N * OB * TH);
        else STEP(L, wino_out, to, N * OB * TH);
        return true;
    }
    int wslot = depthwise && !dense ? pack_job(L, JIT_PACK_DW16C, w, b, C, KH, KW, 0, 0)
                                    : pack_job(L, JIT_PACK_CONV16C, w, b, O, C, G, KH, KW);
    /* accumulators that fit the vector registers (the blocked conv: balanced on AVX2) */
    int64_t TW = L->h->vec512 ? 14 : depthwise && !dense ? 6 : tile_width(OW, 6, 4);
    if (depthwise && !dense) {
        bcl_kp_dwconv16c k = {.xp = L->scratch_slot[0], .wp = wslot, .r = res, .y = y, .N = N, .CB = CB, .HP = HP,
                              .WP = WP, .C = C, .KH = KH, .KW = KW, .OH = OH, .OW = OW, .sh = sh, .sw = sw, .dh = dh,
                              .dw = dw, .act = a->act, .alpha = fbits(a->act_alpha), .TW = TW};
        STEP(L, dwconv16c, k, N * CB * OH);
    } else {
        int64_t OB = G * cdiv(OG, 16);   /* dense: cdiv(O, 16) */
        bcl_kp_conv16c k = {.xp = L->scratch_slot[0], .wp = wslot, .r = res, .y = y, .N = N, .CB = CB, .HP = HP,
                            .WP = WP, .O = O, .OB = OB, .KH = KH, .KW = KW, .OH = OH, .OW = OW, .sh = sh, .sw = sw,
                            .dh = dh, .dw = dw, .act = a->act, .alpha = fbits(a->act_alpha), .TW = TW, .C = C,
                            .CBG = CBG, .OBG = cdiv(OG, 16), .CG = CG, .OG = OG,
                            /* HALF8: a group's last block on 8-lane vectors, in tiles of TW8
                             * columns (one ymm accumulator each: 8 to cover the FMA latency,
                             * up to 12 with AVX2's 16 registers) */
                            .HALF8 = OG % 16 >= 1 && OG % 16 <= 8, .TW8 = tile_width(OW, L->h->vec512 ? 14 : 12, 8)};
        STEP(L, conv16c, k, N * OB * OH);
    }
    return true;
}

/* The data-movement ops as one strided gather (see KERNEL(gather)). */
/* A transpose or slice whose input is itself a view: one copy of rows from the chain's
 * base (fold_views found the view; its last axis is a run). */
static void lower_view_copy(Lower *L, const IrNode *n, const JitView *v)
{
    const Shape *ys = &n->out->shape;
    int r = ys->rank;
    int64_t one[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zero[8] = {0};
    int64_t len = ys->d[r - 1], nrows = shape_numel(ys) / len, per = len >= BCL_JIT_CHUNK ? 1 : BCL_JIT_CHUNK / len;
    bcl_kp_gather_rows k = {.x = v->base->id, .y = n->out->id, .rank = r - 1, .nrows = nrows, .len = len,
                            .per = per, .xoff = v->off};
    copy8(k.ydims, ys->d, r - 1), copy8(k.mode, zero, r - 1), copy8(k.mul, one, r - 1), copy8(k.add, zero, r - 1);
    copy8(k.xdim, ys->d, r - 1), copy8(k.xstr, v->st, r - 1);
    STEP(L, gather_rows, k, cdiv(nrows, per));
}

static void lower_gather(Lower *L, const IrNode *n, int x, int y)
{
    const Shape *xs = &n->in[0]->shape, *ys = &n->out->shape;
    const IrAttrs *a = &n->attrs;
    int r = ys->rank;
    if (L->copy_from && L->copy_from[L->node]) {
        lower_view_copy(L, n, L->copy_from[L->node]);
        return;
    }
    int64_t xst[8], mode[8] = {0}, mul[8] = {0}, add[8] = {0}, xd[8] = {0}, xstr[8] = {0}, fs[8] = {0};
    strides_of(xs, xst);
    float value = 0;
    for (int k = 0; k < r; k++) {
        int src = k;
        mul[k] = 1;
        switch (n->op) {
        case IR_TRANSPOSE: src = (int)a->perm[k]; break;
        case IR_SLICE: mul[k] = a->step[k], add[k] = a->begin[k]; break;
        case IR_PAD: add[k] = -a->pads[2 * k], value = a->value; break;
        case IR_ROLL: mode[k] = 1, add[k] = a->shifts[k]; break;
        case IR_UPSAMPLE_NEAREST:
            if (k >= 2) mode[k] = 2, fs[k] = fbits((float)xs->d[k] / (float)ys->d[k]);
            break;
        default: BCL_ASSERT(!"not a gather op");
        }
        xd[k] = xs->d[src];
        xstr[k] = xst[src];
    }
    int64_t ny = shape_numel(ys);
    bool swap2 = n->op == IR_TRANSPOSE && r >= 2 && a->perm[r - 1] == r - 2 && a->perm[r - 2] == r - 1;
    for (int k = 0; k < r - 2 && swap2; k++) swap2 = a->perm[k] == k;
    if (swap2 && xs->d[r - 1] >= 16 && xs->d[r - 2] >= 16) {   /* the last two axes swapped: tiles */
        int64_t R = xs->d[r - 2], C = xs->d[r - 1], B = ny / (R * C);   /* R, C >= 16 here */
        bcl_kp_transpose2d k = {.x = x, .y = y, .B = B, .R = R, .C = C};
        STEP(L, transpose2d, k, B * cdiv(R, 16));
        return;
    }
    /* the last axis copied as it is, runs of 4+ floats: one memcpy per row */
    int64_t len = r ? ys->d[r - 1] : 0;
    if (r && mode[r - 1] == 1 && add[r - 1] == 0) mode[r - 1] = 0;   /* roll by 0 */
    bool rows_ok = r >= 2 && len >= 4 && mode[r - 1] == 0 && mul[r - 1] == 1 && add[r - 1] == 0 &&
                   xd[r - 1] == len && xstr[r - 1] == 1;
    for (int k = 0; k < r - 1 && rows_ok; k++)
        rows_ok = mode[k] == 0 || (mode[k] == 1 && add[k] > -xd[k] && add[k] < xd[k]);
    if (rows_ok) {
        int64_t nrows = ny / len, per = len >= BCL_JIT_CHUNK ? 1 : BCL_JIT_CHUNK / len;
        bcl_kp_gather_rows k = {.x = x, .y = y, .rank = r - 1, .nrows = nrows, .len = len, .per = per,
                                .value = fbits(value)};
        copy8(k.ydims, ys->d, r - 1), copy8(k.mode, mode, r - 1), copy8(k.mul, mul, r - 1), copy8(k.add, add, r - 1);
        copy8(k.xdim, xd, r - 1), copy8(k.xstr, xstr, r - 1);
        STEP(L, gather_rows, k, cdiv(nrows, per));
        return;
    }
    bcl_kp_gather k = {.x = x, .y = y, .rank = r, .ny = ny, .chunk = BCL_JIT_CHUNK, .value = fbits(value)};
    copy8(k.ydims, ys->d, r), copy8(k.mode, mode, r), copy8(k.mul, mul, r), copy8(k.add, add, r);
    copy8(k.xdim, xd, r), copy8(k.xstr, xstr, r), copy8(k.fscale, fs, r);
    STEP(L, gather, k, cdiv(ny, BCL_JIT_CHUNK));
}

static void lower_reduce(Lower *L, const IrNode *n, int x, int y)
{
    const Shape *xs = &n->in[0]->shape;
    const IrAttrs *a = &n->attrs;
    int r = xs->rank, nr = 0;
    int64_t xst[8], yd[8] = {0}, ys[8] = {0}, rd[8] = {0}, rs[8] = {0}, count = 1, ny = 1;
    bool red[8] = {0};
    strides_of(xs, xst);
    for (int i = 0; i < a->n_axes; i++) red[a->axes[i]] = true;
    for (int k = 0; k < r; k++) {
        yd[k] = red[k] ? 1 : xs->d[k];
        ys[k] = red[k] ? 0 : xst[k];
        ny *= yd[k];
        if (red[k]) {
            rd[nr] = xs->d[k];
            rs[nr++] = xst[k];
            count *= xs->d[k];
        }
    }
    bcl_kp_reduce k = {.op = n->op, .x = x, .y = y, .rank = r, .count = count, .ny = ny, .nr = nr};
    copy8(k.ydims, yd, r), copy8(k.ystr_in_x, ys, r), copy8(k.rdims, rd, nr), copy8(k.rstr, rs, nr);
    STEP(L, reduce, k, ny);
}

/* Strides of a broadcast operand of shape bs over [batch..., M, N] of rank r. */
static void bcast_strides_into(const Shape *bs, int r, int64_t *st)
{
    int64_t acc = 1;
    for (int i = 0; i < r; i++) st[i] = 0;
    for (int i = bs->rank - 1; i >= 0; i--) {
        st[r - bs->rank + i] = bs->d[i] == 1 ? 0 : acc;
        acc *= bs->d[i];
    }
}

/* Whether an attention node runs on the tiled kernel, whose score rows (keys rounded up
 * to 16) live on the stack (kernels_tf.c); the only one that reads strided q, k, v. */
static bool attention_tiled(const IrNode *n)
{
    int r = n->in[0]->shape.rank;
    return cdiv(n->in[1]->shape.d[r - 2], 16) * 16 <= BCL_JIT_ATTN_TILE_NP;
}

/* Where attention n reads operand k (q, k or v): its buffer, offset, row stride and
 * strides over the output's batch axes bd (0 where it broadcasts); in place through
 * the view fold_views found, else the operand's own contiguous buffer. */
static int attn_operand(const Lower *L, const IrNode *n, int k, const int64_t *bd, int64_t *off, int64_t *rs,
                        int64_t *bst)
{
    const JitView *f = L->att_in && L->att_in[L->node] && L->att_in[L->node][k].base ? &L->att_in[L->node][k] : NULL;
    JitView v = {.base = n->in[k], .rank = n->in[k]->shape.rank};
    if (f) v = *f;
    else {
        memcpy(v.d, n->in[k]->shape.d, sizeof v.d);
        strides_of(&n->in[k]->shape, v.st);
    }
    int r = v.rank;
    *off = v.off, *rs = v.st[r - 2];
    for (int i = 0; i < 8; i++) bst[i] = i < r - 2 && v.d[i] == bd[i] ? v.st[i] : 0;
    return v.base->id;
}

/* The tiled attention step (KERNEL(attn_tile)): items are (batch index, MB query rows). */
static bool lower_attention_tiled(Lower *L, const IrNode *n, const int64_t *bd, const int64_t *bst, int64_t nb)
{
    const Shape *xs = &n->in[0]->shape;
    int r = xs->rank;
    int64_t M = xs->d[r - 2], D = xs->d[r - 1], N = n->in[1]->shape.d[r - 2], E = n->out->shape.d[r - 1];
    int64_t mst[8] = {0};
    if (n->n_in > 4) bcast_strides_into(&n->in[4]->shape, r, mst);
    int64_t MB = M > 64 ? 64 : M, Np = cdiv(N, 16) * 16;
    int64_t qoff, qrs, qbs[8], koff, krs, kbs[8], voff, vrs, vbs[8];
    int q = attn_operand(L, n, 0, bd, &qoff, &qrs, qbs), k = attn_operand(L, n, 1, bd, &koff, &krs, kbs),
        v = attn_operand(L, n, 2, bd, &voff, &vrs, vbs);
    /* K transposed once per batch index into scratch 1 (free between steps) */
    size_t ktf = (size_t)(nb * D * Np);
    if (ktf > L->scratch_floats[1]) L->scratch_floats[1] = ktf;
    bcl_kp_attn_tile t = {.q = q, .k = k, .v = v, .bias = n->n_in > 3 ? n->in[3]->id : -1, .y = n->out->id,
                          .M = M, .N = N, .D = D, .E = E, .alpha = fbits(n->attrs.alpha), .nb = nb, .rank = r - 2,
                          .bstr_m = bst[r - 2], .bstr_n = bst[r - 1], .MB = MB, .Np = Np,
                          .mask = n->n_in > 4 ? n->in[4]->id : -1, .mstr_m = mst[r - 2], .mstr_n = mst[r - 1],
                          .NBK = L->h->vec512 ? 4 : 1, .EB = L->h->vec512 ? 4 : 1,   /* accumulators in registers */
                          .kt = L->scratch_slot[1], .qoff = qoff, .qrow = qrs, .voff = voff, .vrow = vrs};
    copy8(t.bd, bd, r - 2), copy8(t.bstr, bst, r - 2), copy8(t.mstr, mst, r - 2);
    copy8(t.qbstr, qbs, 8), copy8(t.vbstr, vbs, 8);
    bcl_kp_attn_kt kt = {.k = k, .kt = L->scratch_slot[1], .N = N, .D = D, .Np = Np, .rank = r - 2, .koff = koff,
                         .krow = krs};
    copy8(kt.bd, bd, r - 2), copy8(kt.kbstr, kbs, 8);
    STEP(L, attn_kt, kt, nb);
    STEP(L, attn_tile, t, nb * cdiv(M, MB));
    return false;
}

/* Emits the steps of one node; returns whether its act epilogue is already done. */
static bool lower_node(Lower *L, const IrNode *n)
{
    const IrAttrs *a = &n->attrs;
    const Shape *xs = &n->in[0]->shape, *ys = &n->out->shape;
    int x = n->in[0]->id, y = n->out->id;
    int64_t ny = shape_numel(ys);
    /* Every op has a case and there is no default: -Werror=switch names an op added to
     * ops.def without code generation. */
    switch (n->op) {
    case IR_RELU: case IR_RELU6: case IR_SIGMOID: case IR_SILU: case IR_GELU: case IR_HSWISH:
    case IR_HSIGMOID: case IR_LEAKY_RELU: case IR_TANH: case IR_ELU: case IR_NEG: case IR_SQRT:
    case IR_EXP: case IR_DROPOUT: case IR_IDENTITY: case IR_LOGICAL_NOT: case IR_TRUNC:
    {
        bcl_kp_unary k = {.op = n->op, .alpha = fbits(a->alpha), .x = x, .y = y, .n = ny, .chunk = BCL_JIT_CHUNK};
        STEP(L, unary, k, cdiv(ny, BCL_JIT_CHUNK));
        return false;
    }
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_POW: case IR_MAXIMUM: case IR_MINIMUM:
    case IR_EQUAL: case IR_NOT_EQUAL: case IR_LESS: case IR_LESS_EQUAL: case IR_GREATER:
    case IR_GREATER_EQUAL: case IR_LOGICAL_AND: case IR_LOGICAL_OR: case IR_LOGICAL_XOR:
        return lower_binary(L, n, x, n->in[1]->id, y);
    case IR_REDUCE_MEAN: case IR_REDUCE_SUM: case IR_REDUCE_MAX: case IR_REDUCE_MIN:
        lower_reduce(L, n, x, y);
        return false;
    case IR_MAX_POOL2D: case IR_AVG_POOL2D: {
        int64_t OH = ys->rank == 4 ? ys->d[2] : 1, OW = ys->rank == 4 ? ys->d[3] : 1;
        if (n->op == IR_MAX_POOL2D && lower_maxpool(L, n, OH, OW)) return false;
        bcl_kp_pool k = {.op = n->op, .x = x, .y = y, .NC = xs->d[0] * xs->d[1], .H = xs->d[2], .W = xs->d[3],
                         .OH = OH, .OW = OW, .kh = a->kernel[0], .kw = a->kernel[1], .sh = a->stride[0],
                         .sw = a->stride[1], .pt = a->pad[0], .pl = a->pad[1], .cip = a->count_include_pad};
        bool global = n->op == IR_AVG_POOL2D && OH == 1 && OW == 1 && k.kh == k.H && k.kw == k.W && !k.pt && !k.pl;
        if (global) STEP_SHARED(L, pool, k, xs->d[0] * xs->d[1]);   /* SE blocks' and heads': one function */
        else STEP(L, pool, k, xs->d[0] * xs->d[1]);
        return false;
    }
    case IR_CONV2D: return lower_conv(L, n, x, y);
    case IR_LINEAR: return lower_linear(L, n, x, y);
    case IR_MATMUL: return lower_matmul(L, n, x, n->in[1]->id, y);
    case IR_BATCH_NORM:
    case IR_SCALE_SHIFT: {
        bool bn = n->op == IR_BATCH_NORM;
        int64_t C = xs->rank > 1 ? xs->d[1] : 1, N = xs->rank > 0 ? xs->d[0] : 1;
        int64_t inner = N * C > 0 ? shape_numel(xs) / (N * C) : 0;
        bcl_kp_norm_chan k = {.mode = bn ? 0 : 1, .x = x, .g = n->in[1]->id, .b = n->in[2]->id,
                              .m = bn ? n->in[3]->id : -1, .v = bn ? n->in[4]->id : -1, .y = y, .N = N, .C = C,
                              .inner = inner, .eps = fbits(a->eps), .act = a->act, .alpha = fbits(a->act_alpha)};
        STEP(L, norm_chan, k, N * C);
        return true;
    }
    case IR_LAYER_NORM: {
        int64_t inner = 1;
        for (int i = xs->rank - a->n_axes; i < xs->rank; i++) inner *= xs->d[i];
        bcl_kp_layer_norm_v k = {.x = x, .g = n->n_in > 1 ? n->in[1]->id : -1, .b = n->n_in > 2 ? n->in[2]->id : -1,
                                 .y = y, .rows = inner ? ny / inner : 0, .inner = inner, .eps = fbits(a->eps)};
        STEP(L, layer_norm_v, k, inner ? ny / inner : 0);
        return false;
    }
    case IR_SOFTMAX: {
        int64_t outer = 1, inner = 1, ax = a->axis;
        for (int i = 0; i < ax; i++) outer *= xs->d[i];
        for (int i = (int)ax + 1; i < xs->rank; i++) inner *= xs->d[i];
        bcl_kp_softmax k = {.x = x, .y = y, .outer = outer, .dim = xs->d[ax], .inner = inner};
        STEP(L, softmax, k, outer * inner);
        return false;
    }
    case IR_ATTENTION: {
        int r = xs->rank;
        int64_t M = xs->d[r - 2], D = xs->d[r - 1], N = n->in[1]->shape.d[r - 2], E = ys->d[r - 1], nb = 1;
        int64_t bst[8] = {0}, acc = 1, bd[8] = {0}, mst[8] = {0};
        if (N > BCL_JIT_ATTN_MAX_N) {
            diag_error(L->d, n->loc, "the JIT's attention step holds at most %d keys per row, this one has %lld",
                       BCL_JIT_ATTN_MAX_N, (long long)N);
            return true;
        }
        if (n->n_in > 3) {
            const Shape *bs = &n->in[3]->shape;
            for (int i = bs->rank - 1; i >= 0; i--) {
                bst[r - bs->rank + i] = bs->d[i] == 1 ? 0 : acc;
                acc *= bs->d[i];
            }
        }
        for (int i = 0; i < r - 2; i++) bd[i] = xs->d[i], nb *= xs->d[i];
        if (attention_tiled(n)) return lower_attention_tiled(L, n, bd, bst, nb);
        if (n->n_in > 4) bcast_strides_into(&n->in[4]->shape, r, mst);
        bcl_kp_attention k = {.q = x, .k = n->in[1]->id, .v = n->in[2]->id, .bias = n->n_in > 3 ? n->in[3]->id : -1,
                              .y = y, .M = M, .N = N, .D = D, .E = E, .alpha = fbits(a->alpha), .nb = nb,
                              .rank = r - 2, .bstr_m = bst[r - 2], .bstr_n = bst[r - 1],
                              .mask = n->n_in > 4 ? n->in[4]->id : -1, .mstr_m = mst[r - 2], .mstr_n = mst[r - 1]};
        copy8(k.bd, bd, r - 2), copy8(k.bstr, bst, r - 2), copy8(k.mstr, mst, r - 2);
        STEP(L, attention, k, nb * M);
        return false;
    }
    case IR_TAKE: {
        int64_t outer = 1, inner = 1, ax = a->axis, ni = shape_numel(&n->in[1]->shape);
        for (int i = 0; i < ax; i++) outer *= xs->d[i];
        for (int i = (int)ax + 1; i < xs->rank; i++) inner *= xs->d[i];
        int fs = fault_slot(L, n, xs->d[ax]);
        bcl_kp_take k = {.x = x, .idx = n->in[1]->id, .y = y, .fault = fs, .dx = xs->d[ax], .inner = inner, .ni = ni};
        STEP(L, take, k, outer * ni);
        return false;
    }
    case IR_GATHER: {
        int64_t xst[8];
        strides_of(xs, xst);
        int fs = fault_slot(L, n, xs->d[a->axis]);
        bcl_kp_gather_axis k = {.x = x, .idx = n->in[1]->id, .y = y, .fault = fs, .rank = xs->rank,
                                .axis = a->axis, .n = ny, .chunk = BCL_JIT_CHUNK};
        copy8(k.ydims, ys->d, ys->rank), copy8(k.xstr, xst, xs->rank), copy8(k.xdims, xs->d, xs->rank);
        STEP(L, gather_axis, k, cdiv(ny, BCL_JIT_CHUNK));
        return false;
    }
    case IR_WHERE: {
        int64_t yd[8] = {1}, sm[8] = {0}, sx[8] = {0}, sy[8] = {0};
        int r = ys->rank;
        if (r == 0) {
            r = 1;   /* a scalar result: one row of one element */
        } else {
            for (int i = 0; i < r; i++) yd[i] = ys->d[i];
            ir_bcast_strides(xs, r, sm);
            ir_bcast_strides(&n->in[1]->shape, r, sx);
            ir_bcast_strides(&n->in[2]->shape, r, sy);
        }
        int64_t len = yd[r - 1], rows = len ? ny / len : 0;
        int64_t per = len >= BCL_JIT_CHUNK ? 1 : BCL_JIT_CHUNK / (len ? len : 1);
        bcl_kp_where k = {.m = x, .x = n->in[1]->id, .y = n->in[2]->id, .out = y, .rank = r, .rows = rows,
                          .rows_per_item = per};
        copy8(k.ydims, yd, r), copy8(k.mstr, sm, r), copy8(k.xstr, sx, r), copy8(k.ystr, sy, r);
        STEP(L, where, k, cdiv(rows, per));
        return false;
    }
    case IR_RESHAPE: {   /* a copy: node results own their buffers */
        bcl_kp_unary k = {.op = IR_IDENTITY, .x = x, .y = y, .n = ny, .chunk = BCL_JIT_CHUNK};
        STEP(L, unary, k, cdiv(ny, BCL_JIT_CHUNK));
        return false;
    }
    case IR_CONCAT: {
        int64_t outer = 1, total = 0, off = 0;
        int ax = (int)a->axis;
        for (int i = 0; i < ax; i++) outer *= ys->d[i];
        int64_t inner = 1;   /* elements under one index of the concat axis */
        for (int i = ax + 1; i < ys->rank; i++) inner *= ys->d[i];
        total = ys->d[ax] * inner;
        for (int k = 0; k < n->n_in; k++) {
            int64_t len = n->in[k]->shape.d[ax] * inner;
            bcl_kp_copy_rows c = {.x = n->in[k]->id, .y = y, .rows = outer, .len = len, .ystride = total, .yoff = off};
            if (len > 0) STEP(L, copy_rows, c, outer);
            off += len;
        }
        return false;
    }
    case IR_TRANSPOSE:
    case IR_SLICE:
    case IR_PAD:
    case IR_ROLL:
    case IR_UPSAMPLE_NEAREST:
        lower_gather(L, n, x, y);
        return false;
    case IR_OP_COUNT:
        break;
    }
    diag_error(L->d, n->loc, "the JIT has no code generation for op %d", (int)n->op);
    return true;
}

/* An SE block's scale feeding a 1x1 conv: m = x * s with s [N,C,1,1], whose only reader is
 * a dense 1x1 stride-1 unpadded conv with bound weights over >= 16 pixels (conv1x1) and
 * fewer output channels than pixels (else scaling the weights costs more). The
 * conv then multiplies its weights by s per image (a step of N*O*C multiplies) and reads x:
 * the pass over the whole tensor that wrote m is gone. Returns the conv's index or -1. */
static int se_scale(const IrGraph *g, int i, const int *uses, const IrValue **sx, const IrValue **ss)
{
    const IrNode *m = g->nodes.v[i];
    if (m->op != IR_MUL || m->attrs.act >= 0 || m->out->shape.rank != 4 || uses[m->out->id] != 1) return -1;
    const Shape *ys = &m->out->shape;
    for (int k = 0; k < 2; k++) {
        const IrValue *x = m->in[k], *s = m->in[1 - k];
        if (!shape_eq(&x->shape, ys) || s->shape.rank != 4 || s->shape.d[0] != ys->d[0] || s->shape.d[1] != ys->d[1] ||
            s->shape.d[2] != 1 || s->shape.d[3] != 1 || x == s)
            continue;
        for (int j = i + 1; j < g->nodes.n; j++) {
            const IrNode *c = g->nodes.v[j];
            bool reads = false;
            for (int q = 0; q < c->n_in; q++) reads |= c->in[q] == m->out;
            if (!reads) continue;
            const IrAttrs *a = &c->attrs;
            const IrValue *w = c->n_in > 1 ? c->in[1] : NULL, *b = c->n_in > 2 ? c->in[2] : NULL;
            if (c->op != IR_CONV2D || c->in[0] != m->out || a->groups != 1 || w->shape.d[2] != 1 || w->shape.d[3] != 1 ||
                a->stride[0] != 1 || a->stride[1] != 1 || a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3] ||
                !has_data(w) || (b && !has_data(b)) || ys->d[2] * ys->d[3] < 16 || (c->n_in > 3 && c->in[3] == m->out))
                return -1;
            /* the scaled weights (O x C per image) must be smaller than the product (C x H*W) */
            if (w->shape.d[0] >= ys->d[2] * ys->d[3]) return -1;
            *sx = x, *ss = s;
            return j;
        }
        return -1;
    }
    return -1;
}

static void free_views(Lower *L, int nn)
{
    for (int i = 0; L->att_in && i < nn; i++) free(L->att_in[i]);
    for (int i = 0; L->copy_from && i < nn; i++) free(L->copy_from[i]);
    free(L->att_in);
    free(L->copy_from);
}

/* Reshape / transpose / slice chains are not copied link by link. The tiled attention
 * step reads q, k and v in place from their chains' base buffers, and a transpose or
 * slice whose input is a view copies its rows straight from the base (view.c); the
 * base then lives until that reader. A view node is skipped (fused_into >= 0) when
 * every read of its result is skipped or folded; nodes are visited last first, so
 * readers are decided before the values they read. */
static bool fold_views(Lower *L, const IrGraph *g, const int *uses, int *fused_into, int *last)
{
    int nn = g->nodes.n, nv = g->values.n;
    int *folded = bcl_calloc((size_t)(nv ? nv : 1), sizeof(int));   /* reads of a value that need no buffer */
    L->att_in = bcl_calloc((size_t)(nn ? nn : 1), sizeof *L->att_in);
    L->copy_from = bcl_calloc((size_t)(nn ? nn : 1), sizeof *L->copy_from);
    if (!folded || !L->att_in || !L->copy_from) goto oom;
    const char *env = getenv("BCL_JIT_VIEWS");   /* 0: copy every view op as before (for comparison) */
    bool on = !(env && *env == '0');
    for (int i = nn - 1; i >= 0 && on; i--) {
        const IrNode *n = g->nodes.v[i];
        JitView v;
        if (n->op == IR_ATTENTION && attention_tiled(n)) {
            for (int k = 0; k < 3; k++) {
                const IrValue *x = n->in[k];
                if (x->kind != IRV_NODE || !jit_is_view_op(x->def)) continue;
                jit_view_of(x, &v);
                if (v.base == x || v.st[v.rank - 1] != 1) continue;   /* rows must be runs */
                if (!L->att_in[i] && !(L->att_in[i] = bcl_calloc(3, sizeof(JitView)))) goto oom;
                L->att_in[i][k] = v;
                folded[x->id]++;
                if (v.base->kind == IRV_NODE) {   /* the base buffer is read: never skipped */
                    folded[v.base->id] = INT_MIN / 2;
                    if (last[v.base->id] < i) last[v.base->id] = i;
                }
            }
        } else if (jit_is_view_op(n) && fused_into[i] < 0 && uses[n->out->id] > 0) {
            const IrValue *x = n->in[0];
            if (folded[n->out->id] == uses[n->out->id]) {
                fused_into[i] = i;   /* nothing reads its buffer: no buffer, no step */
                if (x->kind == IRV_NODE) folded[x->id]++;
                continue;
            }
            if (n->op == IR_RESHAPE || x->kind != IRV_NODE || !jit_is_view_op(x->def)) continue;
            jit_view_of(n->out, &v);
            if (v.base == x || v.base == n->out || v.st[v.rank - 1] != 1) continue;
            if (!(L->copy_from[i] = bcl_malloc(sizeof(JitView)))) goto oom;
            *L->copy_from[i] = v;
            folded[x->id]++;
            if (v.base->kind == IRV_NODE) {
                folded[v.base->id] = INT_MIN / 2;
                if (last[v.base->id] < i) last[v.base->id] = i;
            }
        }
    }
    free(folded);
    return true;
oom:
    free(folded);
    return false;
}

/* The arena's layout: the planner's two placements (ir/memplan.h), the smaller arena
 * (in step order on a tie); by size only up to JIT_BY_SIZE_MAX requests, as it is
 * quadratic. Returns the peak, -1 when out of memory. */
#define JIT_BY_SIZE_MAX 4096

static int64_t plan_arena(const BclBufReq *req, int n, int64_t *offset)
{
    int64_t peak = bcl_plan_buffers(req, n, BCL_PLACE_IN_STEP_ORDER, offset);
    if (peak <= 0 || n > JIT_BY_SIZE_MAX) return peak;
    int64_t *by_size = bcl_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!by_size) return -1;
    int64_t p2 = bcl_plan_buffers(req, n, BCL_PLACE_BY_SIZE, by_size);
    if (p2 >= 0 && p2 < peak) {
        memcpy(offset, by_size, sizeof(int64_t) * (size_t)n);
        peak = p2;
    }
    free(by_size);
    return p2 < 0 ? -1 : peak;
}

/* pl->mem for nv values, none of them held yet; false when out of memory. */
static bool jit_memplan_alloc(JitPlan *pl, int nv, int nn)
{
    JitMemPlan *mp = &pl->mem;
    size_t n = (size_t)(nv ? nv : 1), ns = 3 * (size_t)nn + 1;   /* at most 3 scratch buffers per node */
    /* one block, freed through offset */
    char *blk = bcl_malloc(n * (2 * sizeof(int64_t) + sizeof(int) + 1) + ns * (2 * sizeof(int64_t) + sizeof(int)));
    if (!blk) return false;
    mp->n_values = nv;
    mp->offset = (int64_t *)(void *)blk;
    mp->size = mp->offset + n;
    mp->scratch_offset = mp->size + n;
    mp->scratch_size = mp->scratch_offset + ns;
    mp->shares = (int *)(void *)(mp->scratch_size + ns);
    mp->scratch_value = mp->shares + n;
    mp->how = (unsigned char *)(mp->scratch_value + ns);
    for (int v = 0; v < nv; v++) mp->offset[v] = mp->size[v] = -1, mp->shares[v] = -1, mp->how[v] = MEMPLAN_NONE;
    return true;
}

static bool plan_build(JitPlan *pl, const IrGraph *g, const JitHost *h, unsigned flags, JitTune *tune, Diag *d)
{
    memset(pl, 0, sizeof *pl);
    const char *we = getenv("BCL_JIT_WINOGRAD");   /* 0: direct convolution only; 2: F(2x2, 3x3) only */
    Lower L = {.pl = pl, .h = h, .d = d, .winograd = !(we && *we == '0'), .winograd43 = !(we && *we == '2'),
               .node = -1, .tune = tune};
    int nv = g->values.n, nn = g->nodes.n, errs = d->n_errors;
    for (int i = 0; i < nv; i++) new_slot(&L, NULL, 0);
    int *last = bcl_malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    int *root = bcl_malloc(sizeof(int) * (size_t)(nv ? nv : 1));   /* the buffer owner (reshapes alias) */
    bool *direct = bcl_calloc((size_t)(nv ? nv : 1), sizeof(bool));
    /* Node result buffers and scratch: requests to the memory planner (ir/memplan.h),
     * in node order: the buffer a node writes, then its scratch buffers */
    BclBufReq *req = bcl_malloc(sizeof(BclBufReq) * (size_t)(4 * nn + 1));
    int *req_of = bcl_malloc(sizeof(int) * (size_t)(nv ? nv : 1));   /* per value: its request or -1 */
    int64_t *req_off = bcl_malloc(sizeof(int64_t) * (size_t)(4 * nn + 1));
    int *scratch_req = bcl_malloc(sizeof(int) * (size_t)(3 * nn + 1));   /* per scratch buffer: its request */
    int *scratch_slot = bcl_malloc(sizeof(int) * (size_t)(3 * nn + 1));
    int n_req = 0, *fused_into = NULL;
    pl->n_inputs = g->inputs.n;
    pl->n_outputs = g->outputs.n;
    pl->input_slot = bcl_calloc((size_t)(g->inputs.n ? g->inputs.n : 1), sizeof(int));
    pl->outs = bcl_calloc((size_t)(g->outputs.n ? g->outputs.n : 1), sizeof(JitOut));
    if (L.oom || !last || !root || !direct || !req || !req_of || !req_off || !scratch_req || !scratch_slot ||
        !pl->input_slot || !pl->outs || !jit_memplan_alloc(pl, nv, nn))
        goto oom;
    for (int i = 0; i < g->inputs.n; i++) pl->input_slot[i] = ((IrValue *)g->inputs.v[i])->id;
    for (int i = 0; i < nv; i++) {
        const IrValue *v = g->values.v[i];
        last[i] = -1;
        req_of[i] = -1;
        if (has_data(v)) pl->slot_init[i] = v->data;
    }
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        for (int k = 0; k < n->n_in; k++) last[n->in[k]->id] = i;
    }
    int *uses = bcl_malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    fused_into = bcl_malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    L.scale_x = bcl_calloc((size_t)(nn ? nn : 1), sizeof *L.scale_x);
    L.scale_s = bcl_calloc((size_t)(nn ? nn : 1), sizeof *L.scale_s);
    L.pw_of = bcl_calloc((size_t)(nn ? nn : 1), sizeof *L.pw_of);
    if (!uses || !fused_into || !L.scale_x || !L.scale_s || !L.pw_of) {
        free(uses);
        goto oom;
    }
    ir_count_uses(g, uses);
    /* a leaf nothing uses needs no data (fold-bn moves a weight's buffer into its
     * folded constant) */
    for (int i = 0; i < nv; i++) {
        const IrValue *v = g->values.v[i];
        if (has_data(v) && !v->data && uses[i] && !(flags & JIT_PLAN_DATALESS))
            diag_error(d, v->loc, "%s '%s' has no data (load weights or use --random-weights)",
                       v->kind == IRV_PARAM ? "parameter" : "constant", v->name ? v->name : "?");
    }
    if (d->n_errors > errs) {
        free(uses);
        goto fail;
    }
    /* SE scales folded into the next 1x1 conv (se_scale): the mul is skipped, its x and s
     * live until the conv; an output counts twice (never fused away) */
    for (int i = 0; i < g->outputs.n; i++) uses[((IrValue *)g->outputs.v[i])->id]++;
    const char *se_env = getenv("BCL_JIT_SE_FOLD");
    for (int i = 0; i < nn; i++) {
        const IrValue *sx = NULL, *ss = NULL;
        int j = se_env && *se_env == '0' ? -1 : se_scale(g, i, uses, &sx, &ss);
        fused_into[i] = j;
        if (j < 0) continue;
        L.scale_x[j] = sx, L.scale_s[j] = ss;
        if (last[sx->id] < j) last[sx->id] = j;
        if (last[ss->id] < j) last[ss->id] = j;
    }
    /* 1x1 expansions computed inside the depthwise conv that reads them (KERNEL(pwdw)):
     * skipped here, their input lives until the dw conv */
    for (int i = 0; i < nn; i++) {
        const IrNode *e = g->nodes.v[i];
        if (fused_into[i] >= 0 || e->op != IR_CONV2D || uses[e->out->id] != 1) continue;
        int j = last[e->out->id];   /* read once: its only reader (a folded SE scale's x fails pwdw_fusable) */
        if (j <= i || L.scale_x[j] || L.pw_of[j] || !pwdw_fusable(e, g->nodes.v[j], uses)) continue;
        fused_into[i] = j;
        L.pw_of[j] = e;
        if (e->in[0]->kind == IRV_NODE && last[e->in[0]->id] < j) last[e->in[0]->id] = j;
    }
    if (!fold_views(&L, g, uses, fused_into, last)) {
        free(uses);
        goto oom;
    }
    free(uses);
    for (int i = 0; i < g->outputs.n; i++) {
        const IrValue *v = g->outputs.v[i];
        bool dir = v->kind == IRV_NODE && !direct[v->id];
        if (dir) direct[v->id] = true;
        else last[v->id] = nn;   /* copied out at the end: keep it alive */
        pl->outs[i] = (JitOut){v->id, dir, shape_numel(&v->shape), false};
    }
    /* A reshape of a node result that the plan allocates (not a direct output) is the
     * same buffer: no copy, and the buffer lives until the last use of either. */
    for (int i = 0; i < nv; i++) root[i] = i;
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        const IrValue *x = n->in[0];
        if (n->op == IR_RESHAPE && n->attrs.act < 0 && x->kind == IRV_NODE && !direct[root[x->id]] &&
            !direct[n->out->id])
            root[n->out->id] = root[x->id];
    }
    JitMemPlan *mp = &pl->mem;
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        int y = n->out->id;
        int64_t ny = shape_numel(&n->out->shape);
        mp->size[y] = ny * (int64_t)sizeof(float);
        mp->total += mp->size[y];
        if (fused_into[i] >= 0) {   /* done by the step that reads it: no buffer, no step */
            mp->how[y] = MEMPLAN_FUSED;
            continue;
        }
        if (root[y] != y) {   /* an aliasing reshape: no buffer of its own, no step */
            mp->how[y] = MEMPLAN_VIEW;
            mp->shares[y] = n->in[0]->id;
            req_of[y] = n_req;
            BCL_ASSERT(req_of[root[y]] >= 0);   /* roots are node results with their own buffer */
            req[n_req++] = (BclBufReq){mp->size[y], i, last[y], req_of[root[y]]};
        } else if (direct[y]) {
            mp->how[y] = MEMPLAN_OUTPUT;
        } else {   /* written at step i, read last at last[y] (nn: a graph output copied out) */
            mp->how[y] = MEMPLAN_OWN;
            req_of[y] = n_req;
            req[n_req++] = (BclBufReq){mp->size[y], i, last[y], -1};
        }
        L.what = ir_op_info[n->op].name;
        L.node = i;
        L.loc = n->loc;
        L.scope = n->scope;
        if (ny > 0 && root[y] == y) {
            /* the node's scratch: fresh slots, sized by its lowering, alive during its
             * steps only (so they share the arena with the results that are dead then) */
            for (int k = 0; k < 3; k++) L.scratch_slot[k] = new_slot(&L, NULL, 0), L.scratch_floats[k] = 0;
            bool fused = lower_node(&L, n);
            if (!fused && n->attrs.act >= 0) act_step(&L, y, n->attrs.act, n->attrs.act_alpha, ny);
            for (int k = 0; k < 3 && !L.oom; k++) {
                if (!L.scratch_floats[k]) continue;
                scratch_req[mp->n_scratch] = n_req;
                scratch_slot[mp->n_scratch] = L.scratch_slot[k];
                mp->scratch_value[mp->n_scratch++] = y;
                req[n_req++] = (BclBufReq){(int64_t)(L.scratch_floats[k] * sizeof(float)), i, i, -1};
            }
        }
        if (L.oom) goto oom;
    }
    if (d->n_errors > errs) goto fail;
    /* One arena for all of it, laid out by the planner. */
    int64_t peak = plan_arena(req, n_req, req_off);
    if (peak < 0) goto oom;
    char *arena = NULL;
    if (peak > 0) {
        if (!(arena = (char *)bcl_alloc_floats((size_t)peak / sizeof(float)))) goto oom;
        own_buf(&L, arena, (size_t)peak, false);
        if (L.oom) goto oom;
    }
    pl->bytes_act = (size_t)peak;
    mp->peak = peak;
    for (int v = 0; v < nv; v++)
        if (req_of[v] >= 0) {
            mp->offset[v] = req_off[req_of[v]];
            pl->slot_init[v] = arena + req_off[req_of[v]];
        }
    for (int k = 0; k < mp->n_scratch; k++) {
        int r = scratch_req[k];
        mp->scratch_offset[k] = req_off[r];
        mp->scratch_size[k] = req[r].size;
        pl->slot_init[scratch_slot[k]] = arena + req_off[r];
    }
    free(last);
    free(root);
    free(direct);
    free(req);
    free(req_of);
    free(req_off);
    free(scratch_req);
    free(scratch_slot);
    free(fused_into);
    free(L.scale_x);
    free(L.scale_s);
    free(L.pw_of);
    free_views(&L, nn);
    free(L.fn_index);
    return true;
oom:
    diag_error(d, NO_LOC, "out of memory while preparing the JIT");
fail:
    free(L.fn_index);
    free(last);
    free(root);
    free(direct);
    free(req);
    free(req_of);
    free(req_off);
    free(scratch_req);
    free(scratch_slot);
    free(fused_into);
    free(L.scale_x);
    free(L.scale_s);
    free(L.pw_of);
    free_views(&L, nn);
    jit_plan_free(pl);
    return false;
}

/* Sub-batching. A CNN computes every image on its own: each node maps image n of its
 * inputs (along axis 0) to image n of its result. Such a graph is lowered for one image
 * and bcl_jit_run runs the steps once per image, images in parallel on the pool's
 * threads when there are at least as many images as threads (each image
 * single-threaded, in its own set of buffers). Batch 8 then costs 8 batch-1 runs: the
 * activations of one image stay in L2/L3 where a whole batch's (EfficientNet-B0's first
 * expansion: 38 MB at batch 8) streams through memory between steps, and no step waits
 * for the other thread (issue 14: batch 8 was 1.1-1.6x ORT for MobileNetV2 and
 * EfficientNet-B0, 13-60% slower per image than batch 1). Not for a graph with a large
 * weight matrix (AlexNet's and VGG's classifiers, 37-103 M floats): there a GEMM over the
 * whole batch reads the weights once instead of once per image. */
#define SUB_BATCH_MAX_WEIGHT (4 << 20)   /* floats of the largest conv/linear weight */

static bool batched(const IrValue *v, int64_t N)
{
    return (v->kind == IRV_NODE || v->kind == IRV_INPUT) && v->shape.rank >= 1 && v->shape.d[0] == N;
}

/* An operand of a broadcasting op: image n's own slice, or data the same for every image. */
static bool per_image_operand(const IrValue *v, int64_t N, int rank)
{
    if (has_data(v)) return v->shape.rank < rank || v->shape.d[0] == 1;
    return batched(v, N) && v->shape.rank == rank;
}

static bool weights_ok(const IrNode *n, int from)
{
    for (int k = from; k < n->n_in && k < 3; k++)
        if (!has_data(n->in[k]) || shape_numel(&n->in[k]->shape) > SUB_BATCH_MAX_WEIGHT) return false;
    return true;
}

/* N when the graph can run image by image (above), else 1. */
static int64_t sub_batch_size(const IrGraph *g)
{
    if (g->inputs.n == 0 || g->outputs.n == 0) return 1;
    const IrValue *in0 = g->inputs.v[0];
    int64_t N = in0->shape.rank >= 1 ? in0->shape.d[0] : 1;
    if (N <= 1) return 1;
    for (int i = 0; i < g->inputs.n; i++)
        if (!batched(g->inputs.v[i], N)) return 1;
    for (int i = 0; i < g->outputs.n; i++)
        if (!batched(g->outputs.v[i], N)) return 1;
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        const IrAttrs *a = &n->attrs;
        int r = n->out->shape.rank;
        if (!batched(n->out, N)) return 1;
        bool ok = ir_op_info[n->op].kind == OPK_BROADCAST || batched(n->in[0], N);
        switch (ir_op_info[n->op].kind) {
        case OPK_ELEMWISE: break;
        case OPK_BROADCAST:
            ok = per_image_operand(n->in[0], N, r) && per_image_operand(n->in[1], N, r);
            break;
        default:
            if (ok) switch (n->op) {
            case IR_CONV2D:
            case IR_LINEAR:
                ok = n->in[0]->shape.rank >= 2 && weights_ok(n, 1) && (n->n_in < 4 || batched(n->in[3], N));
                break;
            case IR_BATCH_NORM: case IR_SCALE_SHIFT: case IR_LAYER_NORM:
                ok = n->in[0]->shape.rank >= 2 && weights_ok(n, 1) &&
                     (n->op != IR_LAYER_NORM || a->n_axes < n->in[0]->shape.rank);
                for (int k = 3; k < n->n_in; k++) ok = ok && has_data(n->in[k]);
                break;
            case IR_MAX_POOL2D: case IR_AVG_POOL2D: case IR_RESHAPE: case IR_UPSAMPLE_NEAREST: ok = true; break;
            case IR_SOFTMAX: ok = a->axis != 0; break;
            case IR_REDUCE_MEAN: case IR_REDUCE_SUM: case IR_REDUCE_MAX: case IR_REDUCE_MIN:
                ok = true;
                for (int k = 0; k < a->n_axes; k++) ok = ok && a->axes[k] != 0;
                break;
            case IR_TRANSPOSE: ok = a->perm[0] == 0; break;
            case IR_SLICE: ok = a->begin[0] == 0 && a->step[0] == 1; break;
            case IR_PAD: ok = a->pads[0] == 0 && a->pads[1] == 0; break;
            case IR_ROLL: ok = a->shifts[0] == 0; break;
            case IR_CONCAT:
                ok = a->axis != 0;
                for (int k = 0; k < n->n_in; k++) ok = ok && batched(n->in[k], N);
                break;
            default: ok = false; break;   /* matmul, attention, take, gather, where: batched as they are */
            }
        }
        if (!ok) return 1;
    }
    return N;
}

/* Per-stage sub-batching. Late stages of a CNN read large weights for small images
 * (ResNet-50's last stage: 2.4 M floats of a 3x3 conv for 25 K of activations per
 * image): per image, every image streams the weights again, while a GEMM over the whole
 * batch reads them once. A sub-batchable graph is cut where one value b alone crosses
 * from the nodes before the cut to those after, at the last such cut before the first
 * heavy conv or linear (weights over SPLIT_FLOATS, more than a core's L2 holds, and
 * over SPLIT_RATIO times its input image's size; not an SE block's small ones): the
 * nodes before run per image and write image n of b into a staging buffer, the nodes
 * after run once over the whole batch reading it (measured, ResNet-50 batch 8, one
 * thread: last stage 79 -> 73 ms, head 2.5 -> 0.4 ms per run). BCL_JIT_SPLIT_RATIO
 * overrides the ratio (0: no cut). */
#define SPLIT_RATIO 24
#define SPLIT_FLOATS (256 << 10)

/* The cut's node index (0: none) and its crossing value in *b, for a graph that runs
 * image by image with batch N. */
static int split_point(const IrGraph *g, int64_t N, const IrValue **b)
{
    const char *e = getenv("BCL_JIT_SPLIT_RATIO");
    double ratio = e && *e ? atof(e) : SPLIT_RATIO;
    int nn = g->nodes.n, nv = g->values.n, heavy = -1;
    if (ratio <= 0 || nn < 2) return 0;
    for (int i = 0; i < nn && heavy < 0; i++) {
        const IrNode *n = g->nodes.v[i];
        if ((n->op == IR_CONV2D || n->op == IR_LINEAR) && n->n_in >= 2) {
            double w = (double)shape_numel(&n->in[1]->shape);
            if (w >= SPLIT_FLOATS && w > ratio * (double)(shape_numel(&n->in[0]->shape) / N)) heavy = i;
        }
    }
    if (heavy <= 0) return 0;
    /* crossing[k]: values made before node k and read at or after it (or outputs) */
    int *last = bcl_malloc(sizeof(int) * (size_t)(nv ? nv : 1)), *crossing = bcl_calloc((size_t)nn + 1, sizeof(int));
    if (!last || !crossing) {
        free(last), free(crossing);
        return 0;
    }
    for (int v = 0; v < nv; v++) last[v] = -1;
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        for (int k = 0; k < n->n_in; k++) last[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last[((const IrValue *)g->outputs.v[i])->id] = nn;
    int inputs_until = 0;   /* no cut at or before an input's last reader */
    for (int i = 0; i < g->inputs.n; i++) {
        int l = last[((const IrValue *)g->inputs.v[i])->id];
        if (l + 1 > inputs_until) inputs_until = l + 1;
    }
    for (int i = 0; i < nn; i++) {   /* +1 over cuts i+1 .. last, as differences */
        int l = last[((const IrNode *)g->nodes.v[i])->out->id];
        if (l <= i) continue;
        crossing[i + 1]++;
        if (l < nn) crossing[l + 1]--;
    }
    for (int k = 1; k <= nn; k++) crossing[k] += crossing[k - 1];
    int cut = 0;
    for (int k = heavy; k > inputs_until && !cut; k--)
        if (crossing[k] == 1) cut = k;
    *b = NULL;
    for (int i = 0; cut && i < cut; i++) {
        const IrValue *y = ((const IrNode *)g->nodes.v[i])->out;
        if (last[y->id] >= cut) *b = y;
    }
    if (*b && (last[(*b)->id] == nn || !batched(*b, N))) cut = 0;   /* an output, or not one image per row */
    free(last);
    free(crossing);
    return *b ? cut : 0;
}

/* A copy of g with the batch axis of every batched value made by a node before `cut`
 * (all nodes when cut is nodes.n) and of the inputs, and of those nodes' reshape or
 * upsample targets, set to 1; data pointers, names, locations and ids are shared. With
 * a cut, the crossing value b is also an output (the last) and the nodes after the cut
 * read b_all instead, a new input (the last) of b's shape with the whole batch. */
typedef struct OneImage {
    IrGraph g;
    IrValue *vals;
    IrNode *nodes;
    IrValue **ins;
    void **vec;
} OneImage;

static bool one_image_graph(const IrGraph *g, int64_t N, int cut, const IrValue *b, OneImage *o)
{
    int nv = g->values.n, nn = g->nodes.n, nin = 0;
    for (int i = 0; i < nn; i++) nin += ((const IrNode *)g->nodes.v[i])->n_in;
    int nvec = nv + 1 + nn + g->params.n + g->inputs.n + 1 + g->outputs.n + 1;
    memset(o, 0, sizeof *o);
    o->vals = bcl_malloc(sizeof(IrValue) * (size_t)(nv + 1));
    o->nodes = bcl_malloc(sizeof(IrNode) * (size_t)(nn ? nn : 1));
    o->ins = bcl_malloc(sizeof(IrValue *) * (size_t)(nin ? nin : 1));
    o->vec = bcl_malloc(sizeof(void *) * (size_t)nvec);
    if (!o->vals || !o->nodes || !o->ins || !o->vec) return false;
    for (int i = 0; i < nv; i++) {
        const IrValue *v = g->values.v[i];
        BCL_ASSERT(v->id == i);
        o->vals[i] = *v;
        o->vals[i].def = NULL;
        bool before = v->kind != IRV_NODE || v->def->id < cut;
        if (batched(v, N) && before) o->vals[i].shape.d[0] = 1;
    }
    IrValue *b_all = NULL;
    if (b) {   /* the whole batch of b, as the nodes after the cut read it */
        b_all = &o->vals[nv];
        *b_all = *b;
        b_all->id = nv, b_all->kind = IRV_INPUT, b_all->def = NULL, b_all->name = "b_all";
    }
    int off = 0;
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        IrNode *c = &o->nodes[i];
        *c = *n;
        c->in = o->ins + off;
        for (int k = 0; k < n->n_in; k++) c->in[k] = b && i >= cut && n->in[k] == b ? b_all : &o->vals[n->in[k]->id];
        off += n->n_in;
        c->out = &o->vals[n->out->id];
        c->out->def = c;
        if (i < cut && (n->op == IR_RESHAPE || n->op == IR_UPSAMPLE_NEAREST) && c->attrs.shape.rank >= 1)
            c->attrs.shape.d[0] = 1;
    }
    o->g = *g;
    void **p = o->vec;
    PtrVec *vecs[] = {&o->g.values, &o->g.nodes, &o->g.params, &o->g.inputs, &o->g.outputs};
    for (int k = 0; k < 5; k++) {
        PtrVec *dst = vecs[k];
        void *const *src = dst->v;   /* still g's */
        for (int i = 0; i < dst->n; i++)
            p[i] = k == 1 ? (void *)&o->nodes[i] : (void *)&o->vals[((const IrValue *)src[i])->id];
        dst->v = p, dst->cap = dst->n;
        if (b && k == 0) p[dst->n++] = b_all;
        if (b && k == 3) p[dst->n++] = b_all;
        if (b && k == 4) p[dst->n++] = &o->vals[b->id];
        dst->cap = dst->n;
        p += dst->n;
    }
    return true;
}

static void one_image_free(OneImage *o)
{
    free(o->vals);
    free(o->nodes);
    free(o->ins);
    free(o->vec);
}

/* The plan of g lowered for one image (before the cut, if any: see split_point). */
static bool plan_images(JitPlan *pl, const IrGraph *g, int64_t N, int cut, const IrValue *b, const JitHost *h,
                        unsigned flags, JitTune *tune, Diag *d)
{
    OneImage o;
    if (!one_image_graph(g, N, cut ? cut : g->nodes.n, cut ? b : NULL, &o)) {
        one_image_free(&o);
        diag_error(d, NO_LOC, "out of memory while preparing the JIT");
        return false;
    }
    bool ok = plan_build(pl, &o.g, h, flags, tune, d);
    if (ok) {
        pl->images = N;
        /* per image the inputs advance by one image's size; b_all (0) is bound whole */
        pl->input_numel = bcl_calloc((size_t)o.g.inputs.n + 1, sizeof(int64_t));
        if (!pl->input_numel) {
            jit_plan_free(pl);
            diag_error(d, NO_LOC, "out of memory while preparing the JIT");
            ok = false;
        }
        for (int i = 0; ok && i < g->inputs.n; i++) pl->input_numel[i] = shape_numel(&((const IrValue *)o.g.inputs.v[i])->shape);
    }
    one_image_free(&o);
    return ok;
}

bool jit_plan_build(JitPlan *pl, const IrGraph *g, const JitHost *h, unsigned flags, JitTune *tune, Diag *d)
{
    const char *e = getenv("BCL_JIT_SUB_BATCH");   /* 0: lower the whole batch at once */
    int64_t N = (flags & JIT_PLAN_SUB_BATCH) && !(e && *e == '0') ? sub_batch_size(g) : 1;
    if (N <= 1) {
        if (!plan_build(pl, g, h, flags, tune, d)) return false;
        pl->images = 1;
        return true;
    }
    const IrValue *b = NULL;
    int cut = split_point(g, N, &b);
    if (!plan_images(pl, g, N, cut, b, h, flags, tune, d)) return false;
    if (!cut) return true;
    /* the steps of the nodes before the cut run per image, the rest once (and the
     * graph's outputs, all after the cut, are whole-batch ones) */
    int split = pl->n_steps;
    bool clean = true;
    for (int i = 0; i < pl->n_steps; i++) {
        int nd = pl->steps[i].node;
        if (nd >= cut && split == pl->n_steps) split = i;
        clean = clean && nd >= 0 && (nd < cut) == (i < split);
    }
    if (!clean || split == 0 || split == pl->n_steps) {   /* not two runs of steps: no cut */
        jit_plan_free(pl);
        if (tune) tune->n_sites = 0, tune->used = 0;   /* the sites of the plan built again */
        return plan_images(pl, g, N, 0, NULL, h, flags, tune, d);
    }
    pl->split_step = split;
    pl->stage_numel = shape_numel(&b->shape);   /* the whole batch's */
    for (int i = 0; i < g->outputs.n; i++) pl->outs[i].whole = true;
    return true;
}

/* Packs k into dst, or with dst NULL only counts its floats. */
static size_t pack_one(const JitPack *k, float *dst)
{
    const int64_t *a = k->a;
    switch (k->kind) {
    case JIT_PACK_CONV16C: return bcl_pack_conv16c(dst, k->w, k->b, a[0], a[1], a[2], a[3], a[4]);
    case JIT_PACK_DW16C: return bcl_pack_dw16c(dst, k->w, k->b, a[0], a[1], a[2]);
    case JIT_PACK_LINEAR16: return bcl_pack_linear16(dst, k->w, k->b, a[0], a[1]);
    case JIT_PACK_GEMM: return bcl_pack_gemm(dst, k->w, k->b, a[0], a[1], a[2]);
    case JIT_PACK_WINO23: return bcl_pack_wino23(dst, k->w, k->b, a[0], a[1]);
    case JIT_PACK_WINO43: return bcl_pack_wino43(dst, k->w, k->b, a[0], a[1]);
    }
    return 0;
}

static void pack_task(void **ctx, int64_t begin, int64_t end)
{
    JitPlan *pl = (JitPlan *)(void *)ctx;
    for (int64_t i = begin; i < end; i++) pack_one(&pl->packs[i], pl->packs[i].out);
}

bool jit_plan_pack(JitPlan *pl, BclPool *pool, Diag *d)
{
    /* All packs in one buffer, each at a 64-byte boundary: one large allocation on
     * huge pages (support/oom.h) instead of a fresh 4 KiB fault per page of each */
    size_t total = 0;
    for (int i = 0; i < pl->n_packs; i++) {
        JitPack *k = &pl->packs[i];
        k->n_floats = pack_one(k, NULL);
        total += (k->n_floats + 15) / 16 * 16;
    }
    if (!pl->n_packs) return true;
    float *all = bcl_alloc_floats(total);
    Lower L = {.pl = pl, .d = d};
    if (all) own_buf(&L, all, total * sizeof(float), true);   /* frees it on failure */
    if (!all || L.oom) {
        diag_error(d, NO_LOC, "out of memory while packing the JIT's weights");
        return false;
    }
    size_t at = 0;
    for (int i = 0; i < pl->n_packs; i++) {
        JitPack *k = &pl->packs[i];
        k->out = all + at;
        at += (k->n_floats + 15) / 16 * 16;
        pl->slot_init[k->slot] = k->out;
        pl->bytes_packed += k->n_floats * sizeof(float);
    }
    bcl_rt_parallel_for(pool, pack_task, (void **)(void *)pl, pl->n_packs);
    return true;
}

void jit_plan_use_packed(JitPlan *pl, float *const *bufs, const size_t *n_floats)
{
    for (int i = 0; i < pl->n_packs; i++) {
        pl->slot_init[pl->packs[i].slot] = bufs[i];
        pl->bytes_packed += n_floats[i] * sizeof(float);
    }
}

void jit_plan_free(JitPlan *pl)
{
    for (int i = 0; i < pl->n_owned; i++) free(pl->owned[i]);
    for (int i = 0; i < pl->n_steps; i++) {
        free(pl->steps[i].p);
        free(pl->steps[i].bind);
    }
    free(pl->owned);
    free(pl->owned_info);
    free(pl->faults);
    free(pl->packs);
    free(pl->steps);
    free(pl->slot_init);
    free(pl->input_slot);
    free(pl->outs);
    free(pl->input_numel);
    free(pl->mem.offset);
    memset(pl, 0, sizeof *pl);
}
