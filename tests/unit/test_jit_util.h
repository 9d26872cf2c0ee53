/* Helpers for the JIT tests: build random graphs, run them through the reference
 * interpreter and the JIT, compare every output element. Header-only, so each
 * test_jit*.c stays one executable. */
#ifndef TEST_JIT_UTIL_H
#define TEST_JIT_UTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/interp/interp.h"
#include "backend/llvm/jit.h"

typedef struct JT {
    Arena ar;
    IrGraph *g;
    Diag d;
    uint64_t rng;
    const char *cpu;   /* the JIT's target CPU in jt_check (NULL: the host) */
} JT;

static inline Shape jt_shape(int rank, ...)
{
    Shape s = {.rank = rank};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) s.d[i] = va_arg(ap, int);
    va_end(ap);
    return s;
}

static inline void jt_init(JT *t, uint64_t seed)
{
    arena_init(&t->ar);
    diag_init(&t->d, stderr);
    t->g = ir_graph_new(&t->ar, "JitTest");
    t->rng = seed * 2654435761u + 12345;
    t->cpu = NULL;
}

static inline void jt_free(JT *t) { arena_free(&t->ar); }

static inline uint32_t jt_u32(JT *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return (uint32_t)(t->rng >> 11);
}

/* Uniform integer in [lo, hi]. */
static inline int jt_int(JT *t, int lo, int hi) { return lo + (int)(jt_u32(t) % (uint32_t)(hi - lo + 1)); }
static inline float jt_unif(JT *t, float lo, float hi) { return lo + (hi - lo) * (float)(jt_u32(t) & 0xffffff) / 16777216.0f; }

static inline float *jt_data(JT *t, const Shape *s, float lo, float hi)
{
    int64_t n = shape_numel(s);
    float *p = ARENA_NEWN(&t->ar, float, n > 0 ? n : 1);
    for (int64_t i = 0; i < n; i++) p[i] = jt_unif(t, lo, hi);
    return p;
}

/* A parameter with random data in [lo, hi]. */
static inline IrValue *jt_param(JT *t, Shape s, float lo, float hi)
{
    char *name = arena_printf(&t->ar, "p%d", t->g->params.n);
    IrValue *v = ir_add_param(t->g, name, &s, INIT_ZEROS, NO_LOC);
    v->data = jt_data(t, &s, lo, hi);
    return v;
}

static inline IrValue *jt_input(JT *t, Shape s)
{
    char *name = arena_printf(&t->ar, "in%d", t->g->inputs.n);
    return ir_add_input(t->g, name, &s);
}

static inline IrValue *jt_node(JT *t, IrOp op, IrValue **in, int n, const IrAttrs *a)
{
    IrValue *v = ir_add_node(t->g, op, in, n, a, NO_LOC, &t->d);
    assert_non_null(v);
    return v;
}

/* Runs g through the interpreter and the JIT (threads), compares outputs with
 * |jit - ref| <= tol * (1 + |ref|); NaN must match NaN. Returns the JIT outputs
 * (malloc'd, for cross-thread comparisons) when keep, else NULL. */
static inline float **jt_check(JT *t, int threads, double tol, bool keep)
{
    IrGraph *g = t->g;
    assert_true(ir_verify(g, &t->d));
    int ni = g->inputs.n, no = g->outputs.n;
    const float **in = calloc((size_t)ni + 1, sizeof *in);
    float **ref = calloc((size_t)no + 1, sizeof *ref), **got = calloc((size_t)no + 1, sizeof *got);
    uint64_t save = t->rng;
    t->rng = 99991;   /* the same inputs on every call */
    for (int i = 0; i < ni; i++) in[i] = jt_data(t, &((IrValue *)g->inputs.v[i])->shape, -1, 1);
    t->rng = save;
    for (int i = 0; i < no; i++) {
        int64_t n = shape_numel(&((IrValue *)g->outputs.v[i])->shape);
        ref[i] = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
        got[i] = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    }
    assert_int_equal(bcl_interp_run(g, in, ref, &t->d), 0);
    BclJitOptions opt = {.threads = threads, .target_cpu = t->cpu};
    BclJit *j = bcl_jit_compile(g, &opt, &t->d);
    assert_non_null(j);
    assert_int_equal(bcl_jit_threads(j), threads);
    assert_int_equal(bcl_jit_run(j, in, got, &t->d), 0);
    int bad = 0;
    for (int i = 0; i < no; i++) {
        const IrValue *v = g->outputs.v[i];
        int64_t n = shape_numel(&v->shape);
        for (int64_t k = 0; k < n; k++) {
            double r = ref[i][k], x = got[i][k];
            bool ok = (isnan(r) && isnan(x)) || (isinf(r) && r == x) || fabs(x - r) <= tol * (1 + fabs(r));
            if (!ok && bad++ < 5) {
                const IrNode *nd = v->def;
                fprintf(stderr, "output %d (%s) [%lld]: jit %.9g, interp %.9g\n", i,
                        nd ? ir_op_info[nd->op].name : "value", (long long)k, x, r);
            }
        }
    }
    bcl_jit_free(j);
    for (int i = 0; i < no; i++) free(ref[i]);
    free(ref);
    free(in);
    assert_int_equal(bad, 0);
    if (keep) return got;
    for (int i = 0; i < no; i++) free(got[i]);
    free(got);
    return NULL;
}

static inline void jt_free_outputs(JT *t, float **o)
{
    for (int i = 0; i < t->g->outputs.n; i++) free(o[i]);
    free(o);
}

/* Runs that must agree bitwise: the first run's outputs (ref NULL) become the
 * reference; a later run's must equal it, and are freed. Returns the reference. */
static inline float **jt_same_outputs(JT *t, float **ref, float **o)
{
    if (!ref) return o;
    for (int i = 0; i < t->g->outputs.n; i++) {
        int64_t n = shape_numel(&((IrValue *)t->g->outputs.v[i])->shape);
        assert_memory_equal(o[i], ref[i], sizeof(float) * (size_t)n);
    }
    jt_free_outputs(t, o);
    return ref;
}

#endif
