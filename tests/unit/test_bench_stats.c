/* bclc bench's statistics, measuring loop, JSON report and profile names
 * (tools/bclc_bench.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/bclc_bench.h"
#include "tests/unit/test_support.h"

/* numpy.percentile / mean / std(ddof=1) of 1..10 and of a skewed sample */
static void test_stats(void **state)
{
    double a[10] = {7, 1, 10, 4, 2, 9, 3, 8, 6, 5};   /* unsorted on purpose */
    BenchStats s;
    bench_stats(a, 10, &s);
    assert_int_equal(s.n, 10);
    assert_float_equal(s.p50, 5.5, 1e-12);
    assert_float_equal(s.p90, 9.1, 1e-12);
    assert_float_equal(s.p99, 9.91, 1e-12);
    assert_float_equal(s.mean, 5.5, 1e-12);
    assert_float_equal(s.stddev, 3.0276503540974917, 1e-12);
    assert_float_equal(s.min, 1, 0);
    assert_float_equal(s.max, 10, 0);
    assert_float_equal(a[0], 7, 0);   /* the input is not sorted in place */

    double b[5] = {1, 1, 1, 1, 100};
    bench_stats(b, 5, &s);
    assert_float_equal(s.p50, 1, 1e-12);
    assert_float_equal(s.p90, 60.4, 1e-12);
    assert_float_equal(s.p99, 96.04, 1e-12);
    assert_float_equal(s.mean, 20.8, 1e-12);
    assert_float_equal(s.stddev, 44.27414595449584, 1e-9);

    double one = 0.25;   /* one run: every percentile is it, no spread */
    bench_stats(&one, 1, &s);
    assert_float_equal(s.p99, 0.25, 0);
    assert_float_equal(s.stddev, 0, 0);
}

static int calls;
static int count_run(void *arg)
{
    calls++;
    return arg && calls == *(int *)arg ? 7 : 0;   /* fail at call N when asked */
}

static int sleep_run(void *arg)
{
    struct timespec ts = {0, 2000000};   /* 2 ms */
    nanosleep(&ts, NULL);
    return 0;
}

static void test_measure(void **state)
{
    double *lat;
    int n;
    calls = 0;
    assert_int_equal(bench_measure(count_run, NULL, 13, 0, &lat, &n), 0);
    assert_int_equal(n, 13);
    assert_int_equal(calls, 14);   /* one warm-up */
    for (int i = 0; i < n; i++) assert_true(lat[i] >= 0);
    free(lat);

    calls = 0;   /* a failing run stops the loop and is reported */
    int fail_at = 5;
    assert_int_equal(bench_measure(count_run, &fail_at, 100, 0, &lat, &n), 7);
    assert_int_equal(n, 4);
    free(lat);

    /* --time: runs until the time is up; 2 ms runs for 0.1 s are at most 50 (a sleep is
     * never shorter), and on a loaded machine may be far fewer, but more than one */
    assert_int_equal(bench_measure(sleep_run, NULL, 0, 0.1, &lat, &n), 0);
    assert_true(n >= 2 && n <= 51);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += lat[i];
    assert_true(sum >= 0.098 - 0.003);   /* stops only after the time is spent (less one run) */
    free(lat);
}

static void test_json(void **state)
{
    Cap c;
    cap_init(&c);
    double lat[3] = {0.001, 0.002, 0.004};
    BenchReport r = {.model = "Net \"q\"", .engine = "jit", .cpu = "CPU\tX", .batch = 2, .threads = 3,
                     .online_cpus = 4, .t_build = 0.5, .t_passes = 0.25, .t_engine = 1};
    r.input.rank = 4;
    r.input.d[0] = 2, r.input.d[1] = 3, r.input.d[2] = 8, r.input.d[3] = 8;
    bench_stats(lat, 3, &r.st);
    r.images_per_s = 2 / r.st.mean;
    char *p = tmp_path();
    assert_int_equal(bench_write_json(p, &r, lat, &c.d), 0);
    size_t len;
    char *text = (char *)slurp(p, &len);
    assert_contains(text, "\"model\": \"Net \\\"q\\\"\"");
    assert_contains(text, "\"cpu\": \"CPU\\u0009X\"");
    assert_contains(text, "\"input_shape\": [2, 3, 8, 8]");
    assert_contains(text, "\"runs\": 3");
    assert_contains(text, "\"p50\": 2,");
    assert_contains(text, "\"total\": 1.75");
    assert_contains(text, "\"latencies_ms\": [1, 2, 4]");
    free(text);
    unlink(p);
    assert_int_equal(bench_write_json("/nonexistent/dir/b.json", &r, lat, &c.d), 1);
    assert_contains(cap_text(&c), "/nonexistent/dir/b.json: error: cannot write:");
    cap_free(&c);
}

static void test_profile_names(void **state)
{
    Source src = {"net.bcl",
                  "import megengine.module as M\n"
                  "class Block(M.Module):\n"
                  "    def __init__(self):\n"
                  "        self.conv = M.Conv2d(3, 3, 3)\n"
                  "    def forward(self, x):\n"
                  "        y = self.conv(x)\n"
                  "        return y + x\n"
                  "def helper(x):\n"
                  "    return x * 2\n",
                  0};
    src.len = strlen(src.text);
    BenchStep steps[3] = {
        {"conv2d", "conv", {&src, 4, 21, 3}, "layer1.0.conv", 0.003},
        {"add", "add", {&src, 7, 16, 5}, "layer1.0", 0.001},
        {"mul", "mul", {&src, 9, 12, 5}, NULL, 0.0},
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bench_print_profile(f, steps, 3, 2);
    fclose(f);
    assert_contains(buf, "3 steps, 2.000 ms per run (2 runs)");
    assert_contains(buf, "conv2d       layer1.0.conv        Block.__init__         net.bcl:4: self.conv = M.Conv2d(3, 3, 3)");
    assert_contains(buf, "1.500 ms  75.0%");
    assert_contains(buf, "add          layer1.0             Block.forward          net.bcl:7: return y + x");
    assert_contains(buf, "mul          -                    helper                 net.bcl:9: return x * 2");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_profile_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
