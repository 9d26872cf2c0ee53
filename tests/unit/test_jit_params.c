/* The kernels' parameter tables (backend/llvm/libjit/kernels.h): the planner fills a
 * kernel's struct by field name and the fields its list marks as slots, and only those,
 * become binding positions whose buffers are the right graph values. Each graph here
 * starts with unused inputs, so a value's slot number differs from its binding position
 * and a field left unbound, or a scalar rebound, would show. */
#include "tests/unit/test_jit_util.h"
#include "backend/llvm/jit_internal.h"
#include "backend/llvm/libjit/kernels.h"

typedef struct Planned {
    JitPlan pl;
    JitHost h;
} Planned;

static void plan(JT *t, Planned *p)
{
    assert_true(ir_verify(t->g, &t->d));
    memset(p, 0, sizeof *p);
    assert_true(jit_host_init_cpu(&p->h, "x86-64-v3", &t->d));
    assert_true(jit_plan_build(&p->pl, t->g, &p->h, 0, NULL, &t->d));
}

static void unplan(Planned *p)
{
    jit_plan_free(&p->pl);
    jit_host_free(&p->h);
}

/* The only step of `kernel` in the plan. */
static const JitStep *step_of(const Planned *p, const char *kernel)
{
    const JitStep *found = NULL;
    for (int i = 0; i < p->pl.n_steps; i++)
        if (!strcmp(p->pl.steps[i].kernel, kernel)) {
            assert_null(found);
            found = &p->pl.steps[i];
        }
    assert_non_null(found);
    return found;
}

/* The slot a bound field names (-1 stays absent). */
static int bound(const JitStep *s, int64_t field)
{
    if (field < 0) return -1;
    assert_true(field < s->nbind);
    return s->bind[field];
}

/* Entry `field` (an offsetof) of a step's table: its constant, or for an rt entry of a
 * shared step (JitStep.rt) the run-time value, from the plan's buffer at binding 0. */
static int64_t value(const Planned *p, const JitStep *s, size_t field)
{
    size_t k = field / sizeof(int64_t);
    if (!(s->rt >> k & 1)) return s->p[k];
    assert_int_equal(s->p[k], 0);   /* folded nowhere: the shared table holds 0 */
    return ((const int64_t *)p->pl.slot_init[s->bind[0]])[k];
}
#define VALUE(p, s, kp_type, f) value(p, s, offsetof(kp_type, f))

static void unused_inputs(JT *t, int n)
{
    for (int i = 0; i < n; i++) jt_input(t, jt_shape(1, 1));
}

/* where: four slots, then scalars and per-axis arrays that must stay as planned */
static void test_where_fields(void **state)
{
    (void)state;
    JT t;
    jt_init(&t, 1);
    unused_inputs(&t, 7);
    IrValue *in[3] = {jt_input(&t, jt_shape(3, 2, 1, 4)), jt_input(&t, jt_shape(3, 2, 3, 4)),
                      jt_input(&t, jt_shape(1, 4))};
    IrValue *y = jt_node(&t, IR_WHERE, in, 3, NULL);
    ir_add_output(t.g, y);
    Planned p;
    plan(&t, &p);
    const JitStep *s = step_of(&p, "where");
    assert_int_equal(s->np, sizeof(bcl_kp_where) / sizeof(int64_t));
    const bcl_kp_where *k = (const void *)s->p;
    assert_int_equal(s->nbind, 4);
    assert_int_equal(bound(s, k->m), in[0]->id);
    assert_int_equal(bound(s, k->x), in[1]->id);
    assert_int_equal(bound(s, k->y), in[2]->id);
    assert_int_equal(bound(s, k->out), y->id);
    assert_int_equal(k->rank, 3);
    assert_int_equal(k->rows, 6);
    int64_t yd[8] = {2, 3, 4}, ms[8] = {4, 0, 1}, xs[8] = {12, 4, 1}, ys[8] = {0, 0, 1};
    assert_memory_equal(k->ydims, yd, sizeof yd);
    assert_memory_equal(k->mstr, ms, sizeof ms);
    assert_memory_equal(k->xstr, xs, sizeof xs);
    assert_memory_equal(k->ystr, ys, sizeof ys);
    unplan(&p);
    jt_check(&t, 1, 0, false);   /* and the kernel reads them by the same names */
    jt_free(&t);
}

/* norm_chan: a scalar (mode) before the slots, absent slots (scale_shift has no mean
 * and variance) left at -1 and not bound */
static void test_norm_chan_fields(void **state)
{
    (void)state;
    JT t;
    jt_init(&t, 2);
    unused_inputs(&t, 5);
    IrValue *x = jt_input(&t, jt_shape(4, 2, 3, 4, 5));
    IrValue *ss[3] = {x, jt_param(&t, jt_shape(1, 3), -1, 1), jt_param(&t, jt_shape(1, 3), -1, 1)};
    IrAttrs a = ir_attrs_default();
    IrValue *y = jt_node(&t, IR_SCALE_SHIFT, ss, 3, &a);
    ir_add_output(t.g, y);
    Planned p;
    plan(&t, &p);
    const JitStep *s = step_of(&p, "norm_chan");
    const bcl_kp_norm_chan *k = (const void *)s->p;
    assert_int_equal(k->mode, 1);
    assert_int_equal(s->nbind, 4);
    assert_int_equal(bound(s, k->x), x->id);
    assert_int_equal(bound(s, k->g), ss[1]->id);
    assert_int_equal(bound(s, k->b), ss[2]->id);
    assert_int_equal(k->m, -1);
    assert_int_equal(k->v, -1);
    assert_int_equal(bound(s, k->y), y->id);
    assert_int_equal(k->N, 2);
    assert_int_equal(k->C, 3);
    assert_int_equal(k->inner, 20);
    unplan(&p);
    jt_check(&t, 1, 1e-6, false);
    jt_free(&t);
}

/* take: the fault word is a slot of the plan's own (the one the plan reports from) */
static void test_take_fault_slot(void **state)
{
    (void)state;
    JT t;
    jt_init(&t, 3);
    unused_inputs(&t, 6);
    IrValue *in[2] = {jt_input(&t, jt_shape(2, 9, 3)), jt_input(&t, jt_shape(1, 4))};
    IrAttrs a = ir_attrs_default();
    IrValue *y = jt_node(&t, IR_TAKE, in, 2, &a);
    ir_add_output(t.g, y);
    Planned p;
    plan(&t, &p);
    const JitStep *s = step_of(&p, "take");
    const bcl_kp_take *k = (const void *)s->p;
    assert_int_equal(s->nbind, 4);
    assert_int_equal(bound(s, k->x), in[0]->id);
    assert_int_equal(bound(s, k->idx), in[1]->id);
    assert_int_equal(bound(s, k->y), y->id);
    assert_int_equal(p.pl.n_faults, 1);
    assert_int_equal(bound(s, k->fault), p.pl.faults[0].slot);
    assert_int_equal(k->dx, 9);
    assert_int_equal(k->inner, 3);
    assert_int_equal(k->ni, 4);
    unplan(&p);
    jt_free(&t);
}

/* tiled attention: slots past entry 31 (mask, the transposed keys kt) bound, kt the
 * buffer attn_kt writes; absent bias (-1) not bound; the scalars after them intact */
static void test_attn_tile_fields(void **state)
{
    (void)state;
    JT t;
    jt_init(&t, 4);
    unused_inputs(&t, 9);
    IrValue *v[5] = {jt_input(&t, jt_shape(3, 2, 5, 8)), jt_input(&t, jt_shape(3, 2, 20, 8)),
                     jt_input(&t, jt_shape(3, 2, 20, 6)), NULL, jt_param(&t, jt_shape(2, 5, 20), -2, 0)};
    IrAttrs a = ir_attrs_default();
    a.alpha = 0.5f;
    v[3] = jt_param(&t, jt_shape(1, 20), -1, 1);   /* a bias broadcast over rows (a mask is input 4) */
    IrValue *y = jt_node(&t, IR_ATTENTION, v, 5, &a);
    ir_add_output(t.g, y);
    Planned p;
    plan(&t, &p);
    const JitStep *st = step_of(&p, "attn_tile"), *sk = step_of(&p, "attn_kt");
    const bcl_kp_attn_tile *k = (const void *)st->p;
    const bcl_kp_attn_kt *kk = (const void *)sk->p;
    assert_int_equal(bound(st, k->q), v[0]->id);
    assert_int_equal(bound(st, k->v), v[2]->id);
    assert_int_equal(bound(st, k->bias), v[3]->id);
    assert_int_equal(bound(st, k->mask), v[4]->id);
    assert_int_equal(bound(st, k->y), y->id);
    assert_int_equal(bound(sk, kk->k), v[1]->id);
    assert_int_equal(bound(st, k->kt), bound(sk, kk->kt));
    assert_true(bound(st, k->kt) > y->id);   /* scratch, not a graph value */
    assert_int_equal(k->M, 5);
    assert_int_equal(k->N, 20);
    assert_int_equal(k->Np, 32);
    assert_int_equal(k->mstr_m, 20);
    assert_int_equal(k->mstr_n, 1);
    assert_int_equal(k->qrow, 8);
    assert_int_equal(k->vrow, 6);
    assert_int_equal(kk->Np, 32);
    assert_int_equal(kk->krow, 8);
    unplan(&p);
    jt_check(&t, 1, 1e-5, false);
    jt_free(&t);
}

/* linear_p (a 1x1 conv on 4 pixels): its residual slot r comes after the scalars */
static void test_linear_p_fields(void **state)
{
    (void)state;
    JT t;
    jt_init(&t, 5);
    unused_inputs(&t, 8);
    IrAttrs a = ir_attrs_default();
    a.act = IR_RELU;
    IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, 8, 2, 2)), jt_param(&t, jt_shape(4, 5, 8, 1, 1), -0.3f, 0.3f),
                      jt_param(&t, jt_shape(1, 5), -1, 1), jt_input(&t, jt_shape(4, 2, 5, 2, 2))};
    IrValue *y = jt_node(&t, IR_CONV2D, in, 4, &a);
    ir_add_output(t.g, y);
    Planned p;
    plan(&t, &p);
    const JitStep *s = step_of(&p, "linear_p");
    const bcl_kp_linear_p *k = (const void *)s->p;
    assert_int_equal(s->rt, bcl_kp_rt_linear_p());   /* small: shared, binding 0 its values */
    assert_int_equal(s->nbind, 5);
    assert_int_equal(bound(s, k->x), in[0]->id);
    assert_int_equal(bound(s, k->y), y->id);
    assert_int_equal(bound(s, k->r), in[3]->id);
    assert_int_equal(bound(s, k->wp), p.pl.packs[0].slot);
    assert_int_equal(VALUE(&p, s, bcl_kp_linear_p, rows), 8);
    assert_int_equal(VALUE(&p, s, bcl_kp_linear_p, P), 4);
    assert_int_equal(VALUE(&p, s, bcl_kp_linear_p, I), 8);
    assert_int_equal(VALUE(&p, s, bcl_kp_linear_p, O), 5);
    assert_int_equal(k->act, IR_RELU);
    assert_int_equal(k->RT, 4);
    unplan(&p);
    jt_check(&t, 1, 1e-5, false);
    jt_free(&t);
}

/* SE-like blocks on planes of different sizes: the global pools share one compiled
 * function, the small linears (1x1 convs on one pixel) and the weight scalings too, each
 * step with its own run-time values; a large linear stays specialised. The JIT's
 * outputs match the interpreter's, at batch 1 and 2 (other rows, other shapes). */
static void shared_steps(int64_t N)
{
    JT t;
    jt_init(&t, 7 + (uint64_t)N);
    IrAttrs act = ir_attrs_default(), pool = ir_attrs_default(), none = ir_attrs_default();
    act.act = IR_SILU;
    const int64_t C[3] = {16, 24, 40}, HW[3] = {14, 7, 5}, R[3] = {4, 6, 10};
    IrValue *pooled[3];
    for (int b = 0; b < 3; b++) {
        IrValue *x = jt_input(&t, jt_shape(4, N, C[b], HW[b], HW[b]));
        pool.kernel[0] = pool.kernel[1] = HW[b];
        pool.stride[0] = pool.stride[1] = HW[b];
        IrValue *g = jt_node(&t, IR_AVG_POOL2D, &x, 1, &pool);
        IrValue *in1[3] = {g, jt_param(&t, jt_shape(4, R[b], C[b], 1, 1), -0.5f, 0.5f), jt_param(&t, jt_shape(1, R[b]), -1, 1)};
        IrValue *r = jt_node(&t, IR_CONV2D, in1, 3, &act);
        IrValue *in2[3] = {r, jt_param(&t, jt_shape(4, C[b], R[b], 1, 1), -0.5f, 0.5f), jt_param(&t, jt_shape(1, C[b]), -1, 1)};
        pooled[b] = jt_node(&t, IR_CONV2D, in2, 3, &none);
        ir_add_output(t.g, pooled[b]);
    }
    IrValue *fl = jt_input(&t, jt_shape(2, N, 1100));   /* 1100 x 1000: over the sharing bound */
    IrValue *in3[3] = {fl, jt_param(&t, jt_shape(2, 1000, 1100), -0.05f, 0.05f), jt_param(&t, jt_shape(1, 1000), -1, 1)};
    ir_add_output(t.g, jt_node(&t, IR_LINEAR, in3, 3, &none));
    Planned p;
    plan(&t, &p);
    int pools = 0, linears = 0, first_pool = -1, first_lin = -1;
    for (int i = 0; i < p.pl.n_steps; i++) {
        const JitStep *s = &p.pl.steps[i];
        if (!strcmp(s->kernel, "pool")) {
            assert_int_equal(s->rt, bcl_kp_rt_pool());
            if (first_pool < 0) first_pool = i;
            assert_int_equal(s->same_as, first_pool);
            assert_int_equal(VALUE(&p, s, bcl_kp_pool, H), HW[pools]);
            assert_int_equal(VALUE(&p, s, bcl_kp_pool, NC), N * C[pools]);
            pools++;
        } else if (!strcmp(s->kernel, "linear_p") && VALUE(&p, s, bcl_kp_linear_p, I) == 1100) {
            assert_int_equal(s->rt, 0);
            assert_int_equal(s->same_as, i);
        } else if (!strcmp(s->kernel, "linear_p")) {
            assert_int_equal(s->rt, bcl_kp_rt_linear_p());
            const bcl_kp_linear_p *k = (const void *)s->p;
            if (k->act == IR_SILU && first_lin < 0) first_lin = i;
            if (k->act == IR_SILU) assert_int_equal(s->same_as, first_lin);
            int b = linears / 2;
            assert_int_equal(VALUE(&p, s, bcl_kp_linear_p, I), linears % 2 ? R[b] : C[b]);
            assert_int_equal(VALUE(&p, s, bcl_kp_linear_p, rows), N);
            linears++;
        }
    }
    assert_int_equal(pools, 3);
    assert_int_equal(linears, 6);
    unplan(&p);
    jt_check(&t, 2, 1e-5, false);
    t.cpu = "x86-64-v3";
    jt_check(&t, 1, 1e-5, false);
    jt_free(&t);
}

static void test_shared_steps(void **state)
{
    (void)state;
    shared_steps(1);
    shared_steps(2);
}

/* The slot masks derived from the field lists mark the slot fields' entries. */
static void test_slot_masks(void **state)
{
    (void)state;
    assert_int_equal(bcl_kp_slots_unary(), 1u << offsetof(bcl_kp_unary, x) / 8 | 1u << offsetof(bcl_kp_unary, y) / 8);
    assert_int_equal(bcl_kp_slots_norm_chan(), 0x7e);   /* x g b m v y after mode */
    assert_int_equal(bcl_kp_slots_reduce(), 0x6);   /* x y after op */
    assert_int_equal(bcl_kp_slots_layer_norm_v(), bcl_kp_slots_layer_norm());
    assert_int_equal(bcl_kp_slots_pwdw(), bcl_kp_slots_dwconv() | 1u << offsetof(bcl_kp_pwdw, pw) / 8);
    assert_int_equal(offsetof(bcl_kp_pwdw, pw), sizeof(bcl_kp_dwconv));   /* pwdw extends dwconv */
    assert_int_equal(bcl_kp_rt_scale_w(), 1u << offsetof(bcl_kp_scale_w, C) / 8 | 1u << offsetof(bcl_kp_scale_w, OBK) / 8);
    assert_int_equal(bcl_kp_rt_unary(), 0);   /* no rt fields: never shared across shapes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_where_fields),
        cmocka_unit_test(test_norm_chan_fields),
        cmocka_unit_test(test_take_fault_slot),
        cmocka_unit_test(test_attn_tile_fields),
        cmocka_unit_test(test_linear_p_fields),
        cmocka_unit_test(test_shared_steps),
        cmocka_unit_test(test_slot_masks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
