/* The memory planner: every activation (node result) gets a byte offset in one arena.
 * Liveness runs over the schedule (node order); graph outputs live to the end.
 * A reshape of an activation is a view (same buffer, same offset). A node writes over
 * an input whose buffer dies there when ops.def's INPLACE column allows it (unary and
 * binary elementwise ops, scale_shift, batch_norm, conv2d's fused residual). Buffers
 * get best-fit offsets from a free list, aligned to BCL_MEMPLAN_ALIGN. */
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
static void fl_free(FreeList *fl, int64_t off, int64_t size)
{
    int i = 0;
    while (i < fl->n && fl->b[i].off < off) i++;
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? 2 * fl->cap : 16;
        fl->b = bcl_xrealloc(fl->b, sizeof(Block) * (size_t)fl->cap);
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
    BclOomGuard g_last, g_order, g_bsize, g_fl;
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
    }

    /* Offsets: walk the schedule, release buffers that ended before this node, then
     * place the buffer this node starts. */
    FreeList fl = {0};
    bcl_oom_guard(&g_fl, bcl_oom_free_ptr, &fl.b);
    int *order = bcl_xmalloc(sizeof(int) * (size_t)(nn ? nn : 1));   /* root started at node i, or -1 */
    bcl_oom_guard(&g_order, bcl_oom_free_ptr, &order);
    int64_t *bsize = bcl_xcalloc((size_t)(nv ? nv : 1), sizeof(int64_t));
    bcl_oom_guard(&g_bsize, bcl_oom_free_ptr, &bsize);
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        int o = n->out->id;
        order[i] = root[o] == o ? o : -1;
        int64_t s = align_up(p->size[o] > 0 ? p->size[o] : 1);
        if (bsize[root[o]] < s) bsize[root[o]] = s;
    }
    for (int i = 0; i < nn; i++) {
        for (int j = 0; j < i; j++) {
            int r = order[j];
            if (r >= 0 && end[r] == i - 1) fl_free(&fl, p->offset[r], bsize[r]);
        }
        if (order[i] >= 0) p->offset[order[i]] = fl_alloc(&fl, bsize[order[i]]);
    }
    for (int i = 0; i < nn; i++) {
        int o = ((IrNode *)g->nodes.v[i])->out->id;
        p->offset[o] = p->offset[root[o]];
    }
    p->peak = fl.top;
    bcl_oom_unguard(&g_bsize);
    bcl_oom_unguard(&g_order);
    bcl_oom_unguard(&g_fl);
    bcl_oom_unguard(&g_last);
    free(fl.b);
    free(order);
    free(bsize);
    free(last);
    return p;
}

