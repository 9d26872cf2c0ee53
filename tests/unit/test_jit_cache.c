/* The JIT's on-disk cache: a miss stores an entry, a hit loads it and computes the
 * same outputs bitwise; other weights are another entry; corrupt or truncated
 * entries are detected and rebuilt; BCL_NO_CACHE and .cache = 0 bypass it; processes
 * compiling the same graph at once all succeed and leave one whole entry. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test_jit_util.h"

static char cache_dir[] = "/tmp/bcl_test_jit_cache_XXXXXX";

/* Every packing path: Winograd 3x3, blocked strided 3x3, depthwise, 1x1 GEMM,
 * 1x1 on few pixels, linear. */
static void build_net(JT *t)
{
    IrValue *x = jt_input(t, jt_shape(4, 2, 8, 16, 16));
    IrAttrs a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    a.act = IR_RELU;
    IrValue *c1[3] = {x, jt_param(t, jt_shape(4, 16, 8, 3, 3), -0.3f, 0.3f), jt_param(t, jt_shape(1, 16), -0.1f, 0.1f)};
    IrValue *y = jt_node(t, IR_CONV2D, c1, 3, &a);
    a.stride[0] = a.stride[1] = 2;
    IrValue *c2[2] = {y, jt_param(t, jt_shape(4, 24, 16, 3, 3), -0.2f, 0.2f)};
    y = jt_node(t, IR_CONV2D, c2, 2, &a);
    a.stride[0] = a.stride[1] = 1;
    a.groups = 24;
    IrValue *dw[2] = {y, jt_param(t, jt_shape(4, 24, 1, 3, 3), -0.3f, 0.3f)};
    y = jt_node(t, IR_CONV2D, dw, 2, &a);
    a = ir_attrs_default();
    IrValue *pw[2] = {y, jt_param(t, jt_shape(4, 32, 24, 1, 1), -0.2f, 0.2f)};
    y = jt_node(t, IR_CONV2D, pw, 2, &a);
    a.kernel[0] = a.kernel[1] = 2;
    a.stride[0] = a.stride[1] = 2;
    y = jt_node(t, IR_AVG_POOL2D, &y, 1, &a);
    y = jt_node(t, IR_AVG_POOL2D, &y, 1, &a);   /* 2x2 pixels: the 1x1 conv becomes a linear */
    a = ir_attrs_default();
    IrValue *px[2] = {y, jt_param(t, jt_shape(4, 20, 32, 1, 1), -0.2f, 0.2f)};
    y = jt_node(t, IR_CONV2D, px, 2, &a);
    a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 2;
    a.flatten = true;
    y = jt_node(t, IR_AVG_POOL2D, &y, 1, &a);
    IrValue *fc[3] = {y, jt_param(t, jt_shape(2, 10, 20), -0.3f, 0.3f), jt_param(t, jt_shape(1, 10), -0.1f, 0.1f)};
    y = jt_node(t, IR_LINEAR, fc, 3, NULL);
    IrValue *sum[2] = {y, jt_param(t, jt_shape(2, 1, 10), -1.0f, 1.0f)};   /* a leaf read in place */
    ir_add_output(t->g, jt_node(t, IR_ADD, sum, 2, NULL));
}

#define NOUT 20   /* 2 x 10 logits */

static int count_files(const char *suffix_or_prefix, bool prefix)
{
    DIR *dp = opendir(cache_dir);
    int n = 0;
    if (!dp) return 0;
    for (struct dirent *de; (de = readdir(dp));) {
        size_t l = strlen(de->d_name), k = strlen(suffix_or_prefix);
        if (prefix ? !strncmp(de->d_name, suffix_or_prefix, k) : l > k && !strcmp(de->d_name + l - k, suffix_or_prefix))
            n++;
    }
    closedir(dp);
    return n;
}

/* The path of the only entry there is (asserted). */
static void entry_path(char *buf, size_t cap)
{
    DIR *dp = opendir(cache_dir);
    assert_non_null(dp);
    int n = 0;
    for (struct dirent *de; (de = readdir(dp));) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".bjc")) {
            snprintf(buf, cap, "%s/%s", cache_dir, de->d_name);
            n++;
        }
    }
    closedir(dp);
    assert_int_equal(n, 1);
}

static void clear_dir(void)
{
    DIR *dp = opendir(cache_dir);
    if (!dp) return;
    char p[4096];
    for (struct dirent *de; (de = readdir(dp));) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        snprintf(p, sizeof p, "%s/%s", cache_dir, de->d_name);
        unlink(p);
    }
    closedir(dp);
}

/* The fixed input every test runs. */
static const float *fixed_input(void)
{
    static float in[2 * 8 * 16 * 16];
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) in[i] = (float)((i * 37) % 101) / 50.0f - 1;
    return in;
}

/* Runs j on the fixed input into out, then frees j; whether j came from the cache,
 * or -1 when the run failed. */
static int run_free(JT *t, BclJit *j, float out[NOUT])
{
    const float *ins[1] = {fixed_input()};
    float *outs[1] = {out};
    int rc = bcl_jit_run(j, ins, outs, &t->d);
    int hit = bcl_jit_from_cache(j);
    bcl_jit_free(j);
    return rc ? -1 : hit;
}

/* Compiles (cache on unless told), runs on the fixed input, returns whether the engine
 * came from the cache; out gets the outputs. */
static int compile_run(JT *t, int cache, float out[NOUT])
{
    BclJitOptions o = {.threads = 2, .cache = cache};
    BclJit *j = bcl_jit_compile(t->g, &o, &t->d);
    return j ? run_free(t, j, out) : -1;
}

/* An empty cache directory and the test net with seed's weights. */
static void start(JT *t, uint64_t seed)
{
    clear_dir();
    jt_init(t, seed);
    build_net(t);
}

static void expect_interp(JT *t, const float got[NOUT])
{
    float ref[NOUT];
    const float *ins[1] = {fixed_input()};
    float *outs[1] = {ref};
    assert_int_equal(bcl_interp_run(t->g, ins, outs, &t->d), 0);
    for (int i = 0; i < NOUT; i++) assert_true(fabs(got[i] - ref[i]) <= 1e-4 * (1 + fabs(ref[i])));
}

static int setup(void **st)
{
    (void)st;
    if (!mkdtemp(cache_dir)) return -1;
    setenv("BCL_CACHE_DIR", cache_dir, 1);
    unsetenv("BCL_NO_CACHE");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    clear_dir();
    rmdir(cache_dir);
    return 0;
}

static void test_miss_then_hit(void **st)
{
    (void)st;
    JT t;
    start(&t, 5);
    float a[NOUT], b[NOUT], c[NOUT];
    assert_int_equal(compile_run(&t, 1, a), 0);   /* miss: compiled and stored */
    assert_int_equal(count_files(".bjc", false), 1);
    assert_int_equal(count_files(".tmp-", true), 0);
    expect_interp(&t, a);
    assert_int_equal(compile_run(&t, 1, b), 1);   /* hit */
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(compile_run(&t, 0, c), 0);   /* cache off: compiled again, the same code */
    assert_memory_equal(a, c, sizeof a);
    setenv("BCL_NO_CACHE", "1", 1);
    assert_int_equal(compile_run(&t, 1, c), 0);
    unsetenv("BCL_NO_CACHE");
    assert_memory_equal(a, c, sizeof a);
    assert_int_equal(count_files(".bjc", false), 1);
    jt_free(&t);
}

/* One weight changed: another key, so a miss, and outputs from the new weights. */
static void test_weights_are_in_the_key(void **st)
{
    (void)st;
    JT t;
    start(&t, 6);
    float a[NOUT], b[NOUT];
    assert_int_equal(compile_run(&t, 1, a), 0);
    IrValue *w = t.g->params.v[0];   /* the first conv's weights */
    ((float *)w->data)[5] += 0.5f;
    assert_int_equal(compile_run(&t, 1, b), 0);
    assert_int_equal(count_files(".bjc", false), 2);
    assert_memory_not_equal(a, b, sizeof a);
    expect_interp(&t, b);
    assert_int_equal(compile_run(&t, 1, b), 1);
    ((float *)w->data)[5] -= 0.5f;   /* back: the first entry again */
    assert_int_equal(compile_run(&t, 1, b), 1);
    assert_memory_equal(a, b, sizeof a);
    jt_free(&t);
}

/* bcl_jit_load_cached: the entry of a compile loads for the same graph without any
 * parameter data (the packed weights and the leaves read in place come from it) and
 * computes the same outputs; another signature or another key loads nothing. */
static void test_load_without_data(void **st)
{
    (void)st;
    JT t;
    start(&t, 7);
    float a[NOUT], b[NOUT];
    assert_int_equal(compile_run(&t, 1, a), 0);
    BclJitOptions o = {.threads = 2, .cache = 1};
    BclJit *j = bcl_jit_compile(t.g, &o, &t.d);   /* a hit: its ids */
    assert_non_null(j);
    BclJitCacheIds ids;
    assert_true(bcl_jit_cache_ids(j, &ids));
    bcl_jit_free(j);
    int np = t.g->params.n;
    float *saved[16];
    assert_true(np <= 16);
    for (int i = 0; i < np; i++) {
        IrValue *p = t.g->params.v[i];
        saved[i] = p->data, p->data = NULL;
    }
    bool other = true;
    j = bcl_jit_load_cached(t.g, &o, &ids, &other);
    assert_non_null(j);
    assert_false(other);
    assert_int_equal(run_free(&t, j, b), 1);
    assert_memory_equal(a, b, sizeof a);
    BclJitCacheIds bad = ids;
    bad.sig[0] ^= 1;
    assert_null(bcl_jit_load_cached(t.g, &o, &bad, &other));
    assert_true(other);
    bad = ids;
    bad.key[1] ^= 1;
    assert_null(bcl_jit_load_cached(t.g, &o, &bad, &other));
    assert_false(other);
    o.cache = 0;
    assert_null(bcl_jit_load_cached(t.g, &o, &ids, &other));
    for (int i = 0; i < np; i++) ((IrValue *)t.g->params.v[i])->data = saved[i];
    assert_int_equal(t.d.n_errors, 0);
    jt_free(&t);
}

static void flip_byte(const char *path, double where)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    off_t off = (off_t)(st.st_size * where);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x10;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* A flipped bit (in the code, in the packed weights, in the header) or a truncated
 * file: detected, rebuilt with right outputs, and the rebuilt entry is good. */
static void test_corrupt_entries_are_rebuilt(void **st)
{
    (void)st;
    JT t;
    start(&t, 7);
    float a[NOUT], b[NOUT];
    assert_int_equal(compile_run(&t, 1, a), 0);
    char path[4096];
    double where[] = {0.01, 0.2, 0.5, 0.99};
    for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
        entry_path(path, sizeof path);
        flip_byte(path, where[i]);
        assert_int_equal(compile_run(&t, 1, b), 0);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(compile_run(&t, 1, b), 1);
        assert_memory_equal(a, b, sizeof a);
    }
    entry_path(path, sizeof path);
    struct stat sz;
    assert_int_equal(stat(path, &sz), 0);
    assert_int_equal(truncate(path, sz.st_size / 2), 0);
    assert_int_equal(compile_run(&t, 1, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(compile_run(&t, 1, b), 0);
    assert_int_equal(compile_run(&t, 1, b), 1);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(count_files(".bjc", false), 1);
    jt_free(&t);
}

/* Several processes compile the same graph at once, each with the cache: all get
 * right outputs, and what is left is one whole entry and no temporary files. */
static void test_concurrent_processes(void **st)
{
    (void)st;
    JT t;
    start(&t, 8);
    float a[NOUT];
    assert_int_equal(compile_run(&t, 0, a), 0);   /* the expected outputs, no cache */
    enum { NPROC = 4, ROUNDS = 2 };
    pid_t pid[NPROC];
    for (int p = 0; p < NPROC; p++) {
        pid[p] = fork();
        assert_true(pid[p] >= 0);
        if (pid[p] == 0) {
            int bad = 0;
            for (int r = 0; r < ROUNDS; r++) {
                float b[NOUT];
                bad |= compile_run(&t, 1, b) < 0 || memcmp(a, b, sizeof a) != 0;
            }
            _exit(bad);
        }
    }
    for (int p = 0; p < NPROC; p++) {
        int status = 0;
        assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(count_files(".bjc", false), 1);
    assert_int_equal(count_files(".tmp-", true), 0);
    float b[NOUT];
    assert_int_equal(compile_run(&t, 1, b), 1);
    assert_memory_equal(a, b, sizeof a);
    jt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_then_hit),
        cmocka_unit_test(test_weights_are_in_the_key),
        cmocka_unit_test(test_load_without_data),
        cmocka_unit_test(test_corrupt_entries_are_rebuilt),
        cmocka_unit_test(test_concurrent_processes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
