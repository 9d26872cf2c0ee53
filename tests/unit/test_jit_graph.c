/* The JIT on small multi-op models, against the interpreter, and the same results
 * for 1, 2 and 4 threads. */
#include "backend/llvm/jit_internal.h"   /* jit_n_steps */
#include "tests/unit/test_jit_util.h"

/* Global avg pool (flattened), linear to 10 classes; outputs: softmax, then logits. */
static void add_head(JT *t, IrValue *x)
{
    IrAttrs a = ir_attrs_default();
    a.kernel[0] = x->shape.d[2], a.kernel[1] = x->shape.d[3];
    a.flatten = true;
    IrValue *gp = jt_node(t, IR_AVG_POOL2D, &x, 1, &a);
    int c = (int)x->shape.d[1];
    IrValue *fc[3] = {gp, jt_param(t, jt_shape(2, 10, c), -0.3f, 0.3f), jt_param(t, jt_shape(1, 10), -0.1f, 0.1f)};
    IrValue *logits = jt_node(t, IR_LINEAR, fc, 3, NULL);
    a = ir_attrs_default();
    a.axis = 1;
    ir_add_output(t->g, jt_node(t, IR_SOFTMAX, &logits, 1, &a));
    ir_add_output(t->g, logits);
}

/* conv-bn-relu-maxpool, a residual block (conv with fused residual and act),
 * a depthwise conv, global avg pool (flattened), linear + softmax. */
static void build_net(JT *t, int N)
{
    IrValue *x = jt_input(t, jt_shape(4, N, 3, 20, 18));
    IrAttrs a = ir_attrs_default();
    a.stride[0] = a.stride[1] = 2;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    IrValue *c1[2] = {x, jt_param(t, jt_shape(4, 24, 3, 3, 3), -0.3f, 0.3f)};
    IrValue *y = jt_node(t, IR_CONV2D, c1, 2, &a);
    IrValue *bn[5] = {y, jt_param(t, jt_shape(1, 24), 0.5f, 1.5f), jt_param(t, jt_shape(1, 24), -0.5f, 0.5f),
                      jt_param(t, jt_shape(1, 24), -0.5f, 0.5f), jt_param(t, jt_shape(1, 24), 0.5f, 1.5f)};
    y = jt_node(t, IR_BATCH_NORM, bn, 5, NULL);
    y = jt_node(t, IR_RELU, &y, 1, NULL);
    a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 3;
    a.stride[0] = a.stride[1] = 2;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    IrValue *p = jt_node(t, IR_MAX_POOL2D, &y, 1, &a);
    /* residual block: relu(conv(relu(conv(p))) + p) */
    a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    a.act = IR_RELU;
    IrValue *r1[3] = {p, jt_param(t, jt_shape(4, 24, 24, 3, 3), -0.1f, 0.1f), jt_param(t, jt_shape(1, 24), -0.2f, 0.2f)};
    IrValue *h = jt_node(t, IR_CONV2D, r1, 3, &a);
    IrValue *r2[4] = {h, jt_param(t, jt_shape(4, 24, 24, 3, 3), -0.1f, 0.1f), jt_param(t, jt_shape(1, 24), -0.2f, 0.2f), p};
    IrValue *blk = jt_node(t, IR_CONV2D, r2, 4, &a);
    a.groups = 24;   /* depthwise, then a 1x1 projection with relu6 */
    IrValue *dw[2] = {blk, jt_param(t, jt_shape(4, 24, 1, 3, 3), -0.3f, 0.3f)};
    IrValue *dy = jt_node(t, IR_CONV2D, dw, 2, &a);
    a = ir_attrs_default();
    a.act = IR_RELU6;
    IrValue *pw[3] = {dy, jt_param(t, jt_shape(4, 40, 24, 1, 1), -0.2f, 0.2f), jt_param(t, jt_shape(1, 40), -0.1f, 0.1f)};
    IrValue *q = jt_node(t, IR_CONV2D, pw, 3, &a);
    add_head(t, q);
}

static void test_net_vs_interp(void **st)
{
    JT t;
    jt_init(&t, 21);
    build_net(&t, 3);
    jt_check(&t, 2, 1e-4, false);
    jt_free(&t);
}

static void test_threads_agree(void **st)
{
    JT t;
    jt_init(&t, 22);
    build_net(&t, 2);
    float **o1 = jt_check(&t, 1, 1e-4, true);
    int counts[] = {2, 4};
    /* Each element is computed by one thread in a fixed order: bitwise equal. */
    for (int c = 0; c < 2; c++) o1 = jt_same_outputs(&t, o1, jt_check(&t, counts[c], 1e-4, true));
    jt_free_outputs(&t, o1);
    jt_free(&t);
}

/* Repeated runs of one engine give the same answer (no state leaks between runs). */
static void test_rerun(void **st)
{
    JT t;
    jt_init(&t, 23);
    build_net(&t, 1);
    IrGraph *g = t.g;
    const float *in[1] = {jt_data(&t, &((IrValue *)g->inputs.v[0])->shape, -1, 1)};
    float a0[10], a1[10], b0[10], b1[10];
    float *o1[2] = {a0, b0}, *o2[2] = {a1, b1};
    BclJit *j = bcl_jit_compile(g, NULL, &t.d);
    assert_non_null(j);
    assert_int_equal(bcl_jit_run(j, in, o1, &t.d), 0);
    assert_int_equal(bcl_jit_run(j, in, o2, &t.d), 0);
    assert_memory_equal(a0, a1, sizeof a0);
    assert_memory_equal(b0, b1, sizeof b0);
    bcl_jit_free(j);
    jt_free(&t);
}

/* threads = 0 takes BCL_NUM_THREADS. */
static void test_threads_from_env(void **st)
{
    JT t;
    jt_init(&t, 24);
    IrValue *x = jt_input(&t, jt_shape(2, 4, 5));
    ir_add_output(t.g, jt_node(&t, IR_RELU, &x, 1, NULL));
    setenv("BCL_NUM_THREADS", "3", 1);
    BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = 0}, &t.d);
    unsetenv("BCL_NUM_THREADS");
    assert_non_null(j);
    assert_int_equal(bcl_jit_threads(j), 3);
    bcl_jit_free(j);
    jt_free(&t);
}

/* The JIT's memory plan (bcl_jit_memplan, the one arena the engine runs in, laid out by
 * ir/memplan.c): every buffer lies in the arena, aligned; a view is its input's buffer;
 * two buffers whose values are alive at one node (written there or before, read there
 * or after; graph outputs to the end), or a node's scratch buffer and a buffer alive at
 * that node, never share bytes; the engine still matches the interpreter. build_net, and a chain with a
 * reshape view whose input is read again after it. */
static void check_jit_memplan(JT *t)
{
    IrGraph *g = t->g;
    int nv = g->values.n, nn = g->nodes.n;
    BclJit *j = bcl_jit_compile(g, &(BclJitOptions){.threads = 2}, &t->d);
    assert_non_null(j);
    MemPlan *p = bcl_jit_memplan(j, &t->ar);
    assert_string_equal(p->engine, "jit");
    assert_int_equal(p->n_values, nv);
    int *first = calloc((size_t)nv, sizeof(int)), *last = calloc((size_t)nv, sizeof(int));
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        first[n->out->id] = last[n->out->id] = i;
        for (int k = 0; k < n->n_in; k++) last[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last[((IrValue *)g->outputs.v[i])->id] = nn;
    int own = 0;
    for (int u = 0; u < nv; u++) {
        const IrValue *vu = g->values.v[u];
        if (vu->kind != IRV_NODE) {
            assert_int_equal(p->how[u], MEMPLAN_NONE);
            continue;
        }
        assert_int_equal(p->size[u], shape_numel(&vu->shape) * 4);
        if (p->how[u] != MEMPLAN_OWN && p->how[u] != MEMPLAN_VIEW) continue;
        own += p->how[u] == MEMPLAN_OWN;
        assert_true(p->offset[u] >= 0 && p->offset[u] % BCL_MEMPLAN_ALIGN == 0);
        assert_true(p->offset[u] + p->size[u] <= p->peak);
        if (p->how[u] == MEMPLAN_VIEW) assert_int_equal(p->offset[u], p->offset[p->shares[u]]);
        for (int k = 0; k < p->n_scratch; k++) {   /* a node's scratch, alive during its steps */
            int at = first[p->scratch_value[k]];
            if (first[u] <= at && at <= last[u])
                assert_true(p->offset[u] + p->size[u] <= p->scratch_offset[k] ||
                            p->scratch_offset[k] + p->scratch_size[k] <= p->offset[u]);
        }
        for (int w = u + 1; w < nv; w++) {
            const IrValue *vw = g->values.v[w];
            if (vw->kind != IRV_NODE || p->how[w] != MEMPLAN_OWN || p->how[u] != MEMPLAN_OWN) continue;
            bool live = first[u] <= last[w] && first[w] <= last[u];
            bool overlap = p->offset[u] < p->offset[w] + p->size[w] && p->offset[w] < p->offset[u] + p->size[u];
            if (live && overlap) fail_msg("values %d and %d are alive together in one buffer", u, w);
        }
    }
    assert_true(own > 0);
    for (int k = 0; k < p->n_scratch; k++) {
        assert_true(p->scratch_offset[k] % BCL_MEMPLAN_ALIGN == 0 && p->scratch_offset[k] + p->scratch_size[k] <= p->peak);
        for (int q = k + 1; q < p->n_scratch; q++)   /* one node's scratch buffers are apart */
            if (p->scratch_value[q] == p->scratch_value[k])
                assert_true(p->scratch_offset[k] + p->scratch_size[k] <= p->scratch_offset[q] ||
                            p->scratch_offset[q] + p->scratch_size[q] <= p->scratch_offset[k]);
    }
    free(first);
    free(last);
    bcl_jit_free(j);
    jt_check(t, 2, 1e-4, false);
}

static void test_jit_memplan(void **st)
{
    JT t;
    jt_init(&t, 26);
    build_net(&t, 1);
    check_jit_memplan(&t);
    jt_free(&t);

    jt_init(&t, 27);
    IrValue *x = jt_input(&t, jt_shape(4, 1, 4, 6, 6));
    IrValue *r = jt_node(&t, IR_RELU, &x, 1, NULL);
    IrAttrs a = ir_attrs_default();
    a.shape = jt_shape(2, 1, 144);
    IrValue *flat = jt_node(&t, IR_RESHAPE, &r, 1, &a);
    IrValue *fc[3] = {flat, jt_param(&t, jt_shape(2, 10, 144), -0.3f, 0.3f), jt_param(&t, jt_shape(1, 10), -0.1f, 0.1f)};
    IrValue *y = jt_node(&t, IR_LINEAR, fc, 3, NULL);
    IrValue *s = jt_node(&t, IR_SIGMOID, &r, 1, NULL);   /* r read after its view */
    IrValue *m[2] = {s, r};
    ir_add_output(t.g, jt_node(&t, IR_MUL, m, 2, NULL));
    ir_add_output(t.g, y);
    BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = 1}, &t.d);
    assert_non_null(j);
    MemPlan *p = bcl_jit_memplan(j, &t.ar);
    assert_int_equal(p->how[flat->id], MEMPLAN_VIEW);
    assert_int_equal(p->shares[flat->id], r->id);
    bcl_jit_free(j);
    check_jit_memplan(&t);
    jt_free(&t);
}

/* Sub-batching (plan.c): a CNN whose images are independent is lowered for one image and
 * run image by image, images in parallel on the threads when there are as many images as
 * threads (else one at a time on all threads). Same results as the interpreter in every
 * mode, and bitwise the same for 1, 2 and 3 threads (one image's steps compute it in the
 * same way whichever mode runs them). */
static void test_sub_batch_net(void **st)
{
    JT t;
    jt_init(&t, 25);
    build_net(&t, 4);
    int threads[] = {1, 2, 3, 5}, sets[] = {1, 2, 3, 1};
    float **o1 = NULL;
    for (int c = 0; c < 4; c++) {
        BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = threads[c]}, &t.d);
        assert_non_null(j);
        assert_int_equal(bcl_jit_images(j), 4);
        assert_int_equal(bcl_jit_image_sets(j), sets[c]);
        bcl_jit_free(j);
        o1 = jt_same_outputs(&t, o1, jt_check(&t, threads[c], 1e-4, true));
    }
    jt_free_outputs(&t, o1);
    setenv("BCL_JIT_SUB_BATCH", "0", 1);   /* the whole batch in each step */
    BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = 2}, &t.d);
    assert_non_null(j);
    assert_int_equal(bcl_jit_images(j), 1);
    bcl_jit_free(j);
    jt_check(&t, 2, 1e-4, false);
    unsetenv("BCL_JIT_SUB_BATCH");
    jt_free(&t);
}

/* A small CNN whose last stage reads a large weight for a small image: a 3x3 conv
 * 16 -> 2048 on 2x2 (295 K floats of weights for 64 of input per image), a 1x1 back
 * to 16 with the stage input added (when `residual`), global pool, linear. Outputs: the
 * logits and their softmax, and with `early` also the first conv's result. */
static void build_late_heavy(JT *t, int N, bool residual, bool early)
{
    IrValue *x = jt_input(t, jt_shape(4, N, 3, 8, 8));
    IrAttrs a = ir_attrs_default();
    a.stride[0] = a.stride[1] = 2;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    a.act = IR_RELU;
    IrValue *c1[3] = {x, jt_param(t, jt_shape(4, 16, 3, 3, 3), -0.3f, 0.3f), jt_param(t, jt_shape(1, 16), -0.1f, 0.1f)};
    IrValue *y = jt_node(t, IR_CONV2D, c1, 3, &a);
    IrValue *c2[2] = {y, jt_param(t, jt_shape(4, 16, 16, 3, 3), -0.1f, 0.1f)};
    IrValue *s = jt_node(t, IR_CONV2D, c2, 2, &a);   /* [N, 16, 2, 2]: the stage's input */
    a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    a.act = IR_RELU;
    IrValue *c3[3] = {s, jt_param(t, jt_shape(4, 2048, 16, 3, 3), -0.05f, 0.05f), jt_param(t, jt_shape(1, 2048), -0.1f, 0.1f)};
    IrValue *h = jt_node(t, IR_CONV2D, c3, 3, &a);
    a = ir_attrs_default();
    IrValue *c4[4] = {h, jt_param(t, jt_shape(4, 16, 2048, 1, 1), -0.02f, 0.02f), jt_param(t, jt_shape(1, 16), -0.1f, 0.1f), s};
    h = jt_node(t, IR_CONV2D, c4, residual ? 4 : 3, &a);
    add_head(t, h);
    if (early) ir_add_output(t->g, y);
}

/* Per-stage sub-batching (plan.c split_point): the steps before the heavy stage run per
 * image, the rest once over the batch; the same results as the interpreter, and
 * bitwise the same with 1, 2 (images in parallel, then the batch steps on both
 * threads) and 3 threads; with the stage input also read after the
 * conv (a residual) the cut stays before the stage; with an early result among the
 * outputs there is none. BCL_JIT_SPLIT_RATIO=0 turns it off. */
static void test_split_batch(void **st)
{
    (void)st;
    for (int c = 0; c < 3; c++) {
        JT t;
        jt_init(&t, 31 + c);
        build_late_heavy(&t, 4, c == 1, c == 2);
        setenv("BCL_JIT_SPLIT_RATIO", "0", 1);
        BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = 1}, &t.d);
        assert_non_null(j);
        assert_int_equal(bcl_jit_split_step(j), 0);
        assert_int_equal(bcl_jit_images(j), 4);
        bcl_jit_free(j);
        jt_check(&t, 1, 1e-4, false);
        unsetenv("BCL_JIT_SPLIT_RATIO");
        float **ref = NULL;   /* the split plan's results on one thread */
        int threads[] = {1, 2, 3};
        for (int k = 0; k < 3; k++) {
            j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = threads[k]}, &t.d);
            assert_non_null(j);
            assert_int_equal(bcl_jit_images(j), 4);
            int split = bcl_jit_split_step(j);
            if (c == 2) assert_int_equal(split, 0);
            else assert_true(split >= 2 && split < jit_n_steps(j));
            Arena a;   /* --print-memplan names the first node run over the batch */
            arena_init(&a);
            const MemPlan *mp = bcl_jit_memplan(j, &a);
            assert_true(split ? mp->batch_from > 0 && mp->batch_from < t.g->nodes.n : mp->batch_from == 0);
            arena_free(&a);
            bcl_jit_free(j);
            ref = jt_same_outputs(&t, ref, jt_check(&t, threads[k], 1e-4, true));
        }
        jt_free_outputs(&t, ref);
        jt_free(&t);
    }
}

/* Graphs with a node that mixes images (or data that differs per image) are not
 * sub-batched; the ones that only move data within an image are. Each case: an input
 * [3, 3, 5, 6] (batch = channels, so a transpose of the two keeps the batch size),
 * a conv, then the node. */
static void test_sub_batch_rules(void **st)
{
    enum { N = 3 };
    for (int c = 0; c < 12; c++) {
        JT t;
        jt_init(&t, 40 + c);
        IrValue *x = jt_input(&t, jt_shape(4, N, 3, 5, 6));
        IrAttrs a = ir_attrs_default();
        a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
        a.act = IR_RELU;
        IrValue *cin[2] = {x, jt_param(&t, jt_shape(4, 3, 3, 3, 3), -0.3f, 0.3f)};
        IrValue *y = jt_node(&t, IR_CONV2D, cin, 2, &a), *z = NULL;
        a = ir_attrs_default();
        IrAttrs d0 = ir_attrs_default();
        int64_t want = 1;
        switch (c) {
        case 0:   /* softmax over the batch */
            a.axis = 0;
            z = jt_node(&t, IR_SOFTMAX, &y, 1, &a);
            break;
        case 1:   /* softmax within an image */
            a.axis = 1;
            z = jt_node(&t, IR_SOFTMAX, &y, 1, &a), want = N;
            break;
        case 2: {   /* a weight with a batch-sized first axis: different data per image */
            IrValue *m[2] = {y, jt_param(&t, jt_shape(4, N, 3, 5, 6), -1, 1)};
            z = jt_node(&t, IR_MUL, m, 2, &a);
            break;
        }
        case 3: {   /* a weight broadcast over the images */
            IrValue *m[2] = {jt_param(&t, jt_shape(3, 3, 1, 6), -1, 1), y};
            z = jt_node(&t, IR_MUL, m, 2, &a), want = N;
            break;
        }
        case 4:   /* batch and channels swapped */
            a.perm[0] = 1, a.perm[1] = 0, a.perm[2] = 2, a.perm[3] = 3;
            z = jt_node(&t, IR_TRANSPOSE, &y, 1, &a);
            break;
        case 5:   /* H and W swapped */
            a.perm[0] = 0, a.perm[1] = 1, a.perm[2] = 3, a.perm[3] = 2;
            z = jt_node(&t, IR_TRANSPOSE, &y, 1, &a), want = N;
            break;
        case 6:   /* a mean over the batch, kept as an axis of 1: then broadcast back */
            a.n_axes = 1, a.axes[0] = 0, a.keepdim = true;
            z = jt_node(&t, IR_REDUCE_MEAN, &y, 1, &a);
            z = jt_node(&t, IR_SUB, (IrValue *[]){y, z}, 2, &d0);
            break;
        case 7:   /* a mean over the channels */
            a.n_axes = 1, a.axes[0] = 1, a.keepdim = true;
            z = jt_node(&t, IR_REDUCE_MEAN, &y, 1, &a), want = N;
            break;
        case 8:   /* a roll along the batch */
            a.shifts[0] = 1;
            z = jt_node(&t, IR_ROLL, &y, 1, &a);
            break;
        case 9: {   /* matmul: batched as it is */
            IrValue *m[2] = {y, jt_input(&t, jt_shape(4, N, 3, 6, 4))};
            z = jt_node(&t, IR_MATMUL, m, 2, &a);
            break;
        }
        case 10: {   /* concat along the channels, then flatten and a linear */
            a.axis = 1;
            z = jt_node(&t, IR_CONCAT, (IrValue *[]){y, x}, 2, &a);
            a = ir_attrs_default();
            a.shape = jt_shape(2, N, 6 * 5 * 6);
            z = jt_node(&t, IR_RESHAPE, &z, 1, &a);
            IrValue *l[3] = {z, jt_param(&t, jt_shape(2, 7, 180), -0.1f, 0.1f), jt_param(&t, jt_shape(1, 7), -1, 1)};
            z = jt_node(&t, IR_LINEAR, l, 3, &d0), want = N;
            break;
        }
        default: {   /* a pad along the batch, then a slice of the first N images */
            a.pads[0] = 1, a.pads[1] = 0;
            z = jt_node(&t, IR_PAD, &y, 1, &a);
            a = ir_attrs_default();
            for (int k = 0; k < 4; k++) a.begin[k] = 0, a.end[k] = z->shape.d[k], a.step[k] = 1;
            a.end[0] = N;
            z = jt_node(&t, IR_SLICE, &z, 1, &a);
            break;
        }
        }
        ir_add_output(t.g, z);
        BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = 2}, &t.d);
        assert_non_null(j);
        if (bcl_jit_images(j) != want) fprintf(stderr, "case %d: %lld images\n", c, (long long)bcl_jit_images(j));
        assert_int_equal(bcl_jit_images(j), want);
        bcl_jit_free(j);
        jt_check(&t, 2, 1e-4, false);
        jt_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_vs_interp),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_rerun),
        cmocka_unit_test(test_threads_from_env),
        cmocka_unit_test(test_jit_memplan),
        cmocka_unit_test(test_sub_batch_net),
        cmocka_unit_test(test_sub_batch_rules),
        cmocka_unit_test(test_split_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
