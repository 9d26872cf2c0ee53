/* The memory planner. Its core, bcl_plan_buffers, gives buffer requests (size and
 * lifetime in schedule steps, or "alias of an earlier one") best-fit offsets from a
 * free list in one arena, aligned to BCL_MEMPLAN_ALIGN; the interpreter
 * (bcl_plan_memory, below) and the JIT (backend/llvm/plan.c) are its front ends.
 * The interpreter's front end: every activation (node result) is a request; liveness
 * runs over the schedule (node order); graph outputs live to the end. A reshape of an
 * activation is a view (same buffer, same offset). A node writes over an input whose
 * buffer dies there when ops.def's INPLACE column allows it (unary and binary
 * elementwise ops, scale_shift, batch_norm, conv2d's fused residual). */
#include <stdlib.h>
#include <string.h>

#include "ir/memplan.h"
#include "support/oom.h"

typedef struct Block { int64_t off, size; } Block;

typedef struct FreeList {
    Block *b;
    int n, cap;
    int64_t top;        /* end of the arena so far = peak */
} FreeList;

static int64_t align_up(int64_t x) { return (x + BCL_MEMPLAN_ALIGN - 1) / BCL_MEMPLAN_ALIGN * BCL_MEMPLAN_ALIGN; }

static int64_t fl_alloc(FreeList *fl, int64_t size)
{
    int best = -1;
    for (int i = 0; i < fl->n; i++)
        if (fl->b[i].size >= size && (best < 0 || fl->b[i].size < fl->b[best].size)) best = i;
    if (best >= 0) {
        int64_t off = fl->b[best].off;
        fl->b[best].off += size;
        fl->b[best].size -= size;
        if (fl->b[best].size == 0) {
            memmove(&fl->b[best], &fl->b[best + 1], sizeof(Block) * (size_t)(fl->n - best - 1));
            fl->n--;
        }
        return off;
    }
    /* Nothing fits: grow the arena, reusing a free block that ends at the top. */
    if (fl->n > 0 && fl->b[fl->n - 1].off + fl->b[fl->n - 1].size == fl->top) {
        int64_t off = fl->b[--fl->n].off;
        fl->top = off + size;
        return off;
    }
    int64_t off = fl->top;
    fl->top += size;
    return off;
}

/* Returns a block to the list (kept sorted by offset), merging with its neighbours. */
static bool fl_free(FreeList *fl, int64_t off, int64_t size)
{
    int i = 0;
    while (i < fl->n && fl->b[i].off < off) i++;
    if (fl->n == fl->cap) {
        int cap = fl->cap ? 2 * fl->cap : 16;
        Block *b = bcl_realloc(fl->b, sizeof(Block) * (size_t)cap);
        if (!b) return false;
        fl->b = b, fl->cap = cap;
    }
    memmove(&fl->b[i + 1], &fl->b[i], sizeof(Block) * (size_t)(fl->n - i));
    fl->b[i] = (Block){off, size};
    fl->n++;
    if (i + 1 < fl->n && fl->b[i].off + fl->b[i].size == fl->b[i + 1].off) {
        fl->b[i].size += fl->b[i + 1].size;
        memmove(&fl->b[i + 1], &fl->b[i + 2], sizeof(Block) * (size_t)(fl->n - i - 2));
        fl->n--;
    }
    if (i > 0 && fl->b[i - 1].off + fl->b[i - 1].size == fl->b[i].off) {
        fl->b[i - 1].size += fl->b[i].size;
        memmove(&fl->b[i], &fl->b[i + 1], sizeof(Block) * (size_t)(fl->n - i - 1));
        fl->n--;
    }
    return true;
}

/* Whether the result of n may overwrite operand k (its ops.def INPLACE column names
 * k): every other operand in the same buffer must be one the op also reads only at
 * the index it writes (in the column and of the result's shape). conv2d, say, may
 * overwrite its residual but reads x all over, so x must not live in that buffer. */
static bool inplace_safe(const IrNode *n, int k, const int *root)
{
    unsigned mask = ir_op_info[n->op].inplace;
    for (int j = 0; j < n->n_in; j++) {
        const IrValue *v = n->in[j];
        if (j == k || v->kind != IRV_NODE || root[v->id] != root[n->in[k]->id]) continue;
        if (j >= 32 || !(mask >> j & 1u) || !shape_eq(&v->shape, &n->out->shape)) return false;
    }
    return true;
}

/* The roots' (non-aliases') sizes and end steps, over their aliases. */
typedef struct Roots {
    int n, steps;       /* steps: 1 + the last first step of a root */
    int *root, *end;    /* per request */
    int64_t *bsize;     /* per request (roots') */
} Roots;

/* In step order: at each step, blocks whose end step has passed go back to the free
 * list, then the roots starting there take best-fit blocks (in request order). */
static bool place_in_step_order(const BclBufReq *req, const Roots *R, int64_t *offset, int64_t *peak)
{
    int n = R->n, steps = R->steps;
    const int *root = R->root, *end = R->end;
    int *idx = bcl_malloc(sizeof(int) * (size_t)(n ? n : 1) * 2);   /* the two bucket lists */
    int *count = bcl_calloc((size_t)steps + 1, sizeof(int) * 2);
    FreeList fl = {0};
    bool ok = false;
    if (!idx || !count) goto out;
    int *by_first = idx, *by_end = idx + n, *cf = count, *ce = count + steps + 1;
    /* bucket the roots by first step (placed then) and by end step (handed back at the
     * next step's start); a stable counting sort keeps request order within a step */
    for (int i = 0; i < n; i++) {
        if (root[i] != i) continue;
        cf[req[i].first]++;
        if (end[i] < steps) ce[end[i]]++;
    }
    for (int s = 0, af = 0, ae = 0; s <= steps; s++) {
        int f = cf[s], e = ce[s];
        cf[s] = af, ce[s] = ae;
        af += f, ae += e;
    }
    for (int i = 0; i < n; i++) {
        if (root[i] != i) continue;
        by_first[cf[req[i].first]++] = i;
        if (end[i] < steps) by_end[ce[end[i]]++] = i;
    }
    /* now bucket s is [cf[s - 1], cf[s]) (from 0 for s = 0), the same for ce */
    for (int s = 0; s < steps; s++) {
        for (int k = s >= 2 ? ce[s - 2] : 0; s >= 1 && k < ce[s - 1]; k++)
            if (!fl_free(&fl, offset[by_end[k]], R->bsize[by_end[k]])) goto out;
        for (int k = s >= 1 ? cf[s - 1] : 0; k < cf[s]; k++) offset[by_first[k]] = fl_alloc(&fl, R->bsize[by_first[k]]);
    }
    *peak = fl.top;
    ok = true;
out:
    free(fl.b);
    free(count);
    free(idx);
    return ok;
}

/* A root to place by size, or a placed block: sort keys carried along (qsort's
 * comparators see no globals, so planning is thread-safe). */
typedef struct Key {
    int64_t a;
    int b, i;
} Key;

/* Ascending in a, then b, then i (a total order: the plan does not depend on qsort). */
static int key_cmp(const void *x, const void *y)
{
    const Key *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    if (p->b != q->b) return p->b < q->b ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* Largest first: each root takes the smallest gap, among the blocks of the roots
 * already placed whose lifetimes meet its own, that holds it, else the end of the
 * highest of them. Quadratic in the roots. */
static bool place_by_size(const BclBufReq *req, const Roots *R, int64_t *offset, int64_t *peak)
{
    int n = R->n, nr = 0;
    Key *order = bcl_malloc(sizeof(Key) * (size_t)(n ? n : 1) * 2);
    if (!order) return false;
    Key *meet = order + n;
    for (int i = 0; i < n; i++)
        if (R->root[i] == i) order[nr++] = (Key){-R->bsize[i], req[i].first, i};   /* largest, earliest, first asked */
    qsort(order, (size_t)nr, sizeof(Key), key_cmp);
    *peak = 0;
    for (int k = 0; k < nr; k++) {
        int r = order[k].i, nm = 0;
        for (int q = 0; q < k; q++) {
            int o = order[q].i;
            if (req[o].first <= R->end[r] && req[r].first <= R->end[o]) meet[nm++] = (Key){offset[o], 0, o};
        }
        qsort(meet, (size_t)nm, sizeof(Key), key_cmp);
        int64_t at = -1, best_gap = 0, top = 0, size = R->bsize[r];
        for (int q = 0; q < nm; q++) {
            int64_t gap = meet[q].a - top;
            if (gap >= size && (at < 0 || gap < best_gap)) at = top, best_gap = gap;
            if (top < meet[q].a + R->bsize[meet[q].i]) top = meet[q].a + R->bsize[meet[q].i];
        }
        offset[r] = at >= 0 ? at : top;
        if (*peak < offset[r] + size) *peak = offset[r] + size;
    }
    free(order);
    return true;
}

int64_t bcl_plan_buffers(const BclBufReq *req, int n, BclPlacement how, int64_t *offset)
{
    Roots R = {.n = n};
    R.bsize = bcl_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    R.root = bcl_malloc(sizeof(int) * (size_t)(n ? n : 1) * 2);
    int64_t peak = -1;
    if (!R.bsize || !R.root) goto out;
    R.end = R.root + n;
    for (int i = 0; i < n; i++) {
        const BclBufReq *r = &req[i];
        int a = r->alias_of, rt = R.root[i] = a >= 0 ? R.root[a] : i;
        BCL_ASSERT(a < i && r->first >= 0 && (a < 0 || req[a].first <= r->first));
        int64_t s = align_up(r->size > 0 ? r->size : 1);
        int last = r->last > r->first ? r->last : r->first;
        if (rt == i) {
            R.bsize[i] = s;
            R.end[i] = last;
            if (r->first + 1 > R.steps) R.steps = r->first + 1;
        } else {
            if (R.bsize[rt] < s) R.bsize[rt] = s;
            if (R.end[rt] < last) R.end[rt] = last;
        }
    }
    bool ok = how == BCL_PLACE_BY_SIZE ? place_by_size(req, &R, offset, &peak)
                                       : place_in_step_order(req, &R, offset, &peak);
    if (!ok) {
        peak = -1;
        goto out;
    }
    for (int i = 0; i < n; i++) offset[i] = offset[R.root[i]];
out:
    free(R.root);
    free(R.bsize);
    return peak;
}

MemPlan *bcl_plan_memory(const IrGraph *g, Arena *a)
{
    int nv = g->values.n, nn = g->nodes.n;
    MemPlan *p = ARENA_NEW(a, MemPlan);
    p->n_values = nv;
    p->offset = ARENA_NEWN(a, int64_t, nv ? nv : 1);
    p->size = ARENA_NEWN(a, int64_t, nv ? nv : 1);
    p->shares = ARENA_NEWN(a, int, nv ? nv : 1);
    /* the temporaries are freed by guards if an allocation below fails (support/oom.h) */
    int *last = bcl_xmalloc(sizeof(int) * (size_t)(nv ? nv : 1) * 3);   /* last use, root, buffer end */
    BclOomGuard g_last, g_req;
    bcl_oom_guard(&g_last, bcl_oom_free_ptr, &last);
    int *root = last + nv, *end = root + nv;
    for (int v = 0; v < nv; v++) {
        p->offset[v] = p->size[v] = -1;
        p->shares[v] = -1;
        last[v] = -1;
        root[v] = v;
        end[v] = -1;
    }
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        for (int k = 0; k < n->n_in; k++) last[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last[((IrValue *)g->outputs.v[i])->id] = nn;

    /* Buffers: decide views and in-place in schedule order; end[r] is the last use of
     * any value sharing root r, final for every value defined so far. */
    BclBufReq *req = bcl_xmalloc(sizeof(BclBufReq) * (size_t)(nn ? nn : 1));   /* one per node, in node order */
    bcl_oom_guard(&g_req, bcl_oom_free_ptr, &req);
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        int o = n->out->id;
        p->size[o] = shape_numel(&n->out->shape) * (int64_t)sizeof(float);
        p->total += p->size[o];
        int use = last[o] > i ? last[o] : i;   /* an unused result still gets written */
        int share = -1;
        if (n->op == IR_RESHAPE && n->in[0]->kind == IRV_NODE) {
            share = n->in[0]->id;
        } else {
            unsigned mask = ir_op_info[n->op].inplace;
            for (int k = 0; k < n->n_in && share < 0; k++) {
                const IrValue *x = n->in[k];
                if (k >= 32 || !(mask >> k & 1u) || x->kind != IRV_NODE || !shape_eq(&x->shape, &n->out->shape)) continue;
                if (end[root[x->id]] == i && inplace_safe(n, k, root)) share = x->id;
            }
        }
        if (share >= 0) {
            root[o] = root[share];
            p->shares[o] = share;
        }
        if (end[root[o]] < use) end[root[o]] = use;
        /* the request of share's node: node indices of results, recorded in offset until placed */
        req[i] = (BclBufReq){p->size[o], i, use, share >= 0 ? (int)p->offset[share] : -1};
        p->offset[o] = i;
    }
    int64_t *off = ARENA_NEWN(a, int64_t, nn ? nn : 1);
    p->peak = bcl_plan_buffers(req, nn, BCL_PLACE_IN_STEP_ORDER, off);
    if (p->peak < 0) bcl_oom_fail("the memory plan");
    for (int i = 0; i < nn; i++) p->offset[((IrNode *)g->nodes.v[i])->out->id] = off[i];
    bcl_oom_unguard(&g_req);
    bcl_oom_unguard(&g_last);
    free(req);
    free(last);
    return p;
}
