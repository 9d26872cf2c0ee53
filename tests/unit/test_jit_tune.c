/* The JIT's tuning (backend/llvm/tune*.c): the table's answers (stored choice, round,
 * default, what the shape allows), its file (round trip, malformed lines, merging with
 * another process's entries), every choice of every tunable against the interpreter on
 * both code paths, and a measurement that fills the table so a later compile uses it. */
#include <sys/stat.h>
#include <unistd.h>

#include "backend/llvm/tune.h"
#include "tests/unit/test_jit_util.h"

static const char *const cpus[] = {NULL, "x86-64-v3"};

static void test_choice(void **st)
{
    (void)st;
    JitTune t = {.round = -1};
    jit_tune_init(&t, "znver4", "+avx512f", 2);
    int64_t a[] = {1, 64, 56, 56, 64}, b[] = {1, 64, 28, 28, 64};
    assert_int_equal(jit_tune_choice(&t, 0, JIT_TUNE_conv3x3, a, 5, 7, 1), 1);   /* nothing stored: the default */
    uint64_t ka = t.sites[0].key;
    jit_tune_choice(&t, 1, JIT_TUNE_conv3x3, b, 5, 7, 1);
    jit_tune_choice(&t, 2, JIT_TUNE_conv1x1, a, 5, 15, 2);
    assert_int_equal(t.n_sites, 3);
    assert_true(t.sites[1].key != ka);   /* another shape */
    assert_true(t.sites[2].key != ka);   /* another tunable, same numbers */
    jit_tune_set(&t, ka, JIT_TUNE_conv3x3, 2);
    assert_int_equal(jit_tune_choice(&t, 0, JIT_TUNE_conv3x3, a, 5, 7, 1), 2);
    assert_true(t.sites[3].stored);
    assert_int_equal(t.used, 1);
    assert_int_equal(jit_tune_choice(&t, 0, JIT_TUNE_conv3x3, a, 5, 3, 1), 1);   /* stored 2 not allowed here */
    t.round = 0;   /* measuring: unstored sites take the round's choice when allowed */
    assert_int_equal(jit_tune_choice(&t, 1, JIT_TUNE_conv3x3, b, 5, 7, 1), 0);
    assert_int_equal(jit_tune_choice(&t, 0, JIT_TUNE_conv3x3, a, 5, 7, 1), 2);
    t.round = 3;
    assert_int_equal(jit_tune_choice(&t, 1, JIT_TUNE_conv3x3, b, 5, 7, 1), 1);
    assert_int_equal(jit_tune_choice(NULL, 0, JIT_TUNE_conv3x3, b, 5, 7, 2), 2);
    JitTune u = {.round = -1};   /* the key depends on the thread count and the target */
    jit_tune_init(&u, "znver4", "+avx512f", 1);
    jit_tune_choice(&u, 0, JIT_TUNE_conv3x3, a, 5, 7, 1);
    assert_true(u.sites[0].key != ka);
    jit_tune_free(&u);
    jit_tune_init(&u, "znver3", "+avx512f", 2);
    jit_tune_choice(&u, 0, JIT_TUNE_conv3x3, a, 5, 7, 1);
    assert_true(u.sites[0].key != ka);
    jit_tune_free(&u);
    jit_tune_free(&t);
}

static void test_file(void **st)
{
    (void)st;
    char dir[] = "/tmp/bcl_tune_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tune.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* another process's entries, and lines to skip: bad key, unknown tunable, choice out
     * of range, trailing junk, a truncated last line */
    fputs("00000000000000aa conv3x3 2\nzz conv3x3 1\n00000000000000bb conv9x9 1\n"
          "00000000000000cc conv3x3 3\n00000000000000dd conv1x1 1 x\n00000000000000ee conv1x1 3",
          f);
    fclose(f);
    JitTune t = {.round = -1};
    jit_tune_load(&t, dir);
    assert_int_equal(t.n, 1);
    assert_true(t.e[0].key == 0xaa && t.e[0].what == JIT_TUNE_conv3x3 && t.e[0].choice == 2);
    jit_tune_free(&t);
    jit_tune_set(&t, 0x1234, JIT_TUNE_conv1x1, 3);
    jit_tune_set(&t, 0xaa, JIT_TUNE_conv3x3, 0);   /* ours win over the file's */
    jit_tune_store(&t, dir);
    jit_tune_free(&t);
    jit_tune_load(&t, dir);
    assert_int_equal(t.n, 2);
    for (int i = 0; i < t.n; i++) {
        if (t.e[i].key == 0xaa) assert_true(t.e[i].what == JIT_TUNE_conv3x3 && t.e[i].choice == 0);
        else assert_true(t.e[i].key == 0x1234 && t.e[i].what == JIT_TUNE_conv1x1 && t.e[i].choice == 3);
    }
    jit_tune_free(&t);
    jit_tune_load(&t, "/nonexistent/bcl");   /* no file: nothing, no error */
    assert_int_equal(t.n, 0);
    /* a directory not made yet (a fresh cache): made */
    char sub[96], sub_path[128], blocked[128];
    snprintf(sub, sizeof sub, "%s/new/bclc", dir);
    snprintf(sub_path, sizeof sub_path, "%s/tune.txt", sub);
    jit_tune_set(&t, 0x77, JIT_TUNE_conv1x1, 1);
    jit_tune_store(&t, sub);
    jit_tune_free(&t);
    jit_tune_load(&t, sub);
    assert_int_equal(t.n, 1);
    assert_true(t.e[0].key == 0x77 && t.e[0].choice == 1);
    /* one that cannot be made (under a regular file): silent */
    snprintf(blocked, sizeof blocked, "%s/tune.txt/sub", dir);
    jit_tune_store(&t, blocked);
    jit_tune_free(&t);
    unlink(sub_path);
    snprintf(sub_path, sizeof sub_path, "%s/new", dir);
    rmdir(sub);
    rmdir(sub_path);
    unlink(path);
    rmdir(dir);
}

/* 3x3 convs (Winograd-sized and small, one with a residual), 1x1 convs (pixel counts
 * under, at and over the 16-pixel vectors; one scaled by an SE-like mul) at batch n. */
static void build(JT *t, int n)
{
    IrValue *x = jt_input(t, jt_shape(4, n, 16, 12, 13));
    IrAttrs a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    a.act = IR_RELU;
    IrValue *in[4] = {x, jt_param(t, jt_shape(4, 24, 16, 3, 3), -0.2f, 0.2f), jt_param(t, jt_shape(1, 24), -1, 1)};
    IrValue *c1 = jt_node(t, IR_CONV2D, in, 3, &a);
    IrAttrs p = ir_attrs_default();
    in[0] = c1, in[1] = jt_param(t, jt_shape(4, 40, 24, 1, 1), -0.3f, 0.3f), in[2] = jt_param(t, jt_shape(1, 40), -1, 1);
    IrValue *c2 = jt_node(t, IR_CONV2D, in, 3, &p);
    in[0] = c2, in[1] = jt_param(t, jt_shape(4, 16, 40, 3, 3), -0.1f, 0.1f), in[2] = jt_param(t, jt_shape(1, 16), -1, 1);
    in[3] = x;
    IrAttrs r = a;
    r.act = -1;
    IrValue *c3 = jt_node(t, IR_CONV2D, in, 4, &r);   /* + x */
    ir_add_output(t->g, c3);
    IrValue *small = jt_input(t, jt_shape(4, n, 8, 4, 5));   /* 20 pixels */
    in[0] = small, in[1] = jt_param(t, jt_shape(4, 12, 8, 1, 1), -0.5f, 0.5f), in[2] = NULL;
    ir_add_output(t->g, jt_node(t, IR_CONV2D, in, 2, &p));
    in[0] = small, in[1] = jt_param(t, jt_shape(4, 10, 8, 3, 3), -0.5f, 0.5f);
    ir_add_output(t->g, jt_node(t, IR_CONV2D, in, 2, &a));
}

static void run_with(JT *t, const char *cpu, JitTune *tune, const float **in, float **out)
{
    BclJitOptions opt = {.threads = 2, .target_cpu = cpu, .cache = 0};
    BclJit *j = jit_compile_tuned(t->g, &opt, tune, NULL, &t->d);
    assert_non_null(j);
    assert_int_equal(bcl_jit_run(j, in, out, &t->d), 0);
    bcl_jit_free(j);
}

static void test_every_choice(void **st)
{
    (void)st;
    for (int n = 1; n <= 2; n++)
        for (int cpu = 0; cpu < 2; cpu++) {
            JT t;
            jt_init(&t, 7 + n);
            build(&t, n);
            assert_true(ir_verify(t.g, &t.d));
            IrGraph *g = t.g;
            const float **in = calloc((size_t)g->inputs.n, sizeof *in);
            float **ref = calloc((size_t)g->outputs.n, sizeof *ref), **got = calloc((size_t)g->outputs.n, sizeof *got);
            for (int i = 0; i < g->inputs.n; i++) in[i] = jt_data(&t, &((IrValue *)g->inputs.v[i])->shape, -1, 1);
            for (int i = 0; i < g->outputs.n; i++) {
                int64_t k = shape_numel(&((IrValue *)g->outputs.v[i])->shape);
                ref[i] = calloc((size_t)k, sizeof(float)), got[i] = calloc((size_t)k, sizeof(float));
            }
            assert_int_equal(bcl_interp_run(g, in, ref, &t.d), 0);
            int seen[JIT_N_TUNABLES][JIT_TUNE_MAX_CHOICES] = {{0}};
            for (int r = 0; r < JIT_TUNE_MAX_CHOICES; r++) {
                JitTune tune = {.round = r};
                run_with(&t, cpus[cpu], &tune, in, got);
                for (int s = 0; s < tune.n_sites; s++) {
                    const JitTuneSite *e = &tune.sites[s];
                    assert_int_equal(e->choice, (e->allowed >> r & 1) ? r : e->choice);
                    seen[e->what][e->choice]++;
                }
                for (int i = 0; i < g->outputs.n; i++) {
                    int64_t k = shape_numel(&((IrValue *)g->outputs.v[i])->shape);
                    for (int64_t q = 0; q < k; q++)
                        if (!(fabsf(got[i][q] - ref[i][q]) <= 1e-4f * (1 + fabsf(ref[i][q])))) {
                            fprintf(stderr, "n %d cpu %d round %d output %d [%lld]: jit %g interp %g\n", n, cpu, r, i,
                                    (long long)q, got[i][q], ref[i][q]);
                            fail();
                        }
                }
                jit_tune_free(&tune);
            }
            for (int w = 0; w < JIT_N_TUNABLES; w++)   /* every choice was lowered somewhere */
                for (int c = 0; c < jit_tunable_choices(w); c++) assert_true(seen[w][c] > 0);
            for (int i = 0; i < g->outputs.n; i++) free(ref[i]), free(got[i]);
            free(ref), free(got), free(in);
            jt_free(&t);
        }
}

/* Measures t's graph into tune (1 thread, no cache) without an error, then compiles it
 * with tune; returns how many stored choices that compile used. */
static int measure_then_compile(JT *t, JitTune *tune)
{
    BclJitOptions opt = {.threads = 1, .cache = 0};
    jit_tune_measure(t->g, &opt, tune, &t->d);
    assert_int_equal(t->d.n_errors, 0);
    BclJit *j = jit_compile_tuned(t->g, &opt, tune, NULL, &t->d);
    assert_non_null(j);
    bcl_jit_free(j);
    return tune->used;
}

/* Measuring fills one choice per shape; a later compile of the graph uses them all. */
static void test_measure(void **st)
{
    (void)st;
    JT t;
    jt_init(&t, 5);
    build(&t, 1);
    JitTune tune = {.round = -1};
    assert_int_equal(measure_then_compile(&t, &tune), 5);   /* every site used a stored choice */
    assert_int_equal(tune.n, 5);   /* three 3x3 shapes, two 1x1 shapes */
    assert_int_equal(tune.n_sites, 5);
    for (int i = 0; i < tune.n; i++) assert_true(tune.e[i].choice < jit_tunable_choices(tune.e[i].what));
    jit_tune_free(&tune);
    jt_free(&t);
}

/* Tuning is optional: a graph whose random inputs fail its index check (take with an
 * index input) gets a warning, no choices, and still compiles. */
static void test_measure_fails_softly(void **st)
{
    (void)st;
    JT t;
    jt_init(&t, 9);
    build(&t, 1);
    IrAttrs a = ir_attrs_default();
    a.axis = 0;
    IrValue *in[2] = {jt_param(&t, jt_shape(2, 5, 3), -1, 1), jt_input(&t, jt_shape(1, 4))};
    ir_add_output(t.g, jt_node(&t, IR_TAKE, in, 2, &a));
    JitTune tune = {.round = -1};
    int warnings = t.d.n_warnings;
    assert_int_equal(measure_then_compile(&t, &tune), 0);
    assert_int_equal(t.d.n_warnings, warnings + 1);
    assert_int_equal(tune.n, 0);
    jit_tune_free(&tune);
    jt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_every_choice),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_measure_fails_softly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
