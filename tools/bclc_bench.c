/* bclc bench: measuring, statistics and reports (bclc_bench.h). */
#include "tools/bclc_bench.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int bench_measure(BenchRunFn fn, void *arg, int iters, double seconds, double **lat, int *n)
{
    *lat = NULL;
    *n = 0;
    int rc = fn(arg);   /* warm-up: first-touch of buffers, thread start-up */
    if (rc) return rc;
    int cap = seconds > 0 ? 1024 : (iters > 0 ? iters : 1);
    double *l = malloc(sizeof *l * (size_t)cap);
    if (!l) return -1;
    double start = now_seconds();
    int k = 0;
    for (;;) {
        if (seconds > 0 ? (k > 0 && now_seconds() - start >= seconds) || k == BENCH_MAX_ITERS : k == iters) break;
        if (k == cap) {
            double *m = realloc(l, sizeof *l * (size_t)cap * 2);
            if (!m) break;   /* keep what was measured */
            l = m;
            cap *= 2;
        }
        double a = now_seconds();
        rc = fn(arg);
        l[k++] = now_seconds() - a;
        if (rc) break;
    }
    *lat = l;
    *n = k;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_quantile(const double *sorted, int n, double q)
{
    if (n <= 0) return NAN;
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return sorted[n - 1];
    double f = pos - lo;
    return sorted[lo] + f * (sorted[lo + 1] - sorted[lo]);
}

void bench_stats(const double *lat, int n, BenchStats *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n <= 0) return;
    double *sorted = malloc(sizeof *sorted * (size_t)n);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += lat[i];
    s->mean = sum / n;
    double ss = 0;   /* two-pass: no cancellation for tightly clustered latencies */
    for (int i = 0; i < n; i++) ss += (lat[i] - s->mean) * (lat[i] - s->mean);
    s->stddev = n > 1 ? sqrt(ss / (n - 1)) : 0;
    if (!sorted) {   /* out of memory: the moments are still right */
        s->min = s->max = s->p50 = s->p90 = s->p99 = s->mean;
        return;
    }
    memcpy(sorted, lat, sizeof *sorted * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    s->min = sorted[0];
    s->max = sorted[n - 1];
    s->p50 = bench_quantile(sorted, n, 0.50);
    s->p90 = bench_quantile(sorted, n, 0.90);
    s->p99 = bench_quantile(sorted, n, 0.99);
    free(sorted);
}

const char *bench_cpu_model(char *buf, size_t n)
{
    buf[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10)) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        v += 1 + strspn(v + 1, " \t");
        snprintf(buf, n, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    if (f) fclose(f);
    if (!buf[0]) {
        struct utsname u;
        snprintf(buf, n, "%s", uname(&u) == 0 ? u.machine : "unknown CPU");
    }
    return buf;
}

void bench_print(FILE *out, const BenchReport *r)
{
    char shape[128];
    const BenchStats *s = &r->st;
    fprintf(out, "model:       %s, input %s\n", r->model, shape_str(&r->input, shape, sizeof shape));
    fprintf(out, "cpu:         %s, %d online\n", r->cpu, r->online_cpus);
    fprintf(out, "engine:      %s, %d thread%s\n", r->engine, r->threads, r->threads == 1 ? "" : "s");
    fprintf(out, "compile:     %.3f s (build %.3f s, passes %.3f s, engine %.3f s)\n",
            r->t_build + r->t_passes + r->t_engine, r->t_build, r->t_passes, r->t_engine);
    fprintf(out, "latency:     p50 %.3f ms, p90 %.3f ms, p99 %.3f ms (%d runs)\n", s->p50 * 1e3, s->p90 * 1e3,
            s->p99 * 1e3, s->n);
    fprintf(out, "             mean %.3f ms, stddev %.3f ms, min %.3f ms, max %.3f ms\n", s->mean * 1e3,
            s->stddev * 1e3, s->min * 1e3, s->max * 1e3);
    fprintf(out, "throughput:  %.1f images/s (batch %d / mean latency)\n", r->images_per_s, r->batch);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

int bench_write_json(const char *path, const BenchReport *r, const double *lat, Diag *d)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        diag_error_path(d, path, "cannot write: %s", strerror(errno));
        return 1;
    }
    const BenchStats *s = &r->st;
    fprintf(f, "{\n  \"model\": ");
    json_string(f, r->model);
    fprintf(f, ",\n  \"input_shape\": [");
    for (int i = 0; i < r->input.rank; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)r->input.d[i]);
    fprintf(f, "],\n  \"batch\": %d,\n  \"engine\": ", r->batch);
    json_string(f, r->engine);
    fprintf(f, ",\n  \"threads\": %d,\n  \"cpu\": ", r->threads);
    json_string(f, r->cpu);
    fprintf(f, ",\n  \"online_cpus\": %d,\n", r->online_cpus);
    fprintf(f, "  \"compile_s\": {\"build\": %.9g, \"passes\": %.9g, \"engine\": %.9g, \"total\": %.9g},\n",
            r->t_build, r->t_passes, r->t_engine, r->t_build + r->t_passes + r->t_engine);
    fprintf(f, "  \"runs\": %d,\n", s->n);
    fprintf(f, "  \"latency_ms\": {\"p50\": %.9g, \"p90\": %.9g, \"p99\": %.9g, \"mean\": %.9g, \"stddev\": %.9g, "
               "\"min\": %.9g, \"max\": %.9g},\n",
            s->p50 * 1e3, s->p90 * 1e3, s->p99 * 1e3, s->mean * 1e3, s->stddev * 1e3, s->min * 1e3, s->max * 1e3);
    fprintf(f, "  \"images_per_s\": %.9g,\n  \"latencies_ms\": [", r->images_per_s);
    for (int i = 0; i < s->n; i++) fprintf(f, "%s%.9g", i ? ", " : "", lat[i] * 1e3);
    fprintf(f, "]\n}\n");
    if (fclose(f) != 0) {
        diag_error_path(d, path, "cannot write: %s", strerror(errno));
        return 1;
    }
    return 0;
}

/* The start of line `line` (1-based) of src, or NULL. */
static const char *line_start(const Source *src, int line)
{
    const char *p = src->text;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    return p && *p ? p : NULL;
}

/* The name after `kw ` at the start of the (indented) line p, in buf; false if none. */
static bool keyword_name(const char *p, const char *kw, int *indent, char *buf, size_t n)
{
    int in = (int)strspn(p, " \t");
    size_t k = strlen(kw);
    if (strncmp(p + in, kw, k) || (p[in + k] != ' ' && p[in + k] != '\t')) return false;
    const char *name = p + in + k;
    name += strspn(name, " \t");
    size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (!len) return false;
    snprintf(buf, n, "%.*s", (int)len, name);
    *indent = in;
    return true;
}

/* "Class.method" (or "method", or "?") of the code at loc: the nearest enclosing
 * def, and the class that encloses it, found by indentation. */
static void scope_name(SrcLoc loc, char *buf, size_t n)
{
    snprintf(buf, n, "?");
    if (!loc.src || loc.line <= 0) return;
    const char *at = line_start(loc.src, loc.line);
    if (!at) return;
    int indent = (int)strspn(at, " \t");
    char fn[128] = "", cls[128] = "";
    for (int l = loc.line - 1; l >= 1; l--) {
        const char *p = line_start(loc.src, l);
        int in;
        char name[128];
        if (!p || p[strspn(p, " \t")] == '\n') continue;
        if (!fn[0] && keyword_name(p, "def", &in, name, sizeof name) && in < indent) {
            snprintf(fn, sizeof fn, "%s", name);
            indent = in;
        } else if (fn[0] && keyword_name(p, "class", &in, name, sizeof name) && in < indent) {
            snprintf(cls, sizeof cls, "%s", name);
            break;
        } else if (fn[0] && (int)strspn(p, " \t") == 0) {
            break;   /* back at module level: a plain function */
        }
    }
    if (fn[0]) snprintf(buf, n, "%s%s%s", cls, cls[0] ? "." : "", fn);
}

void bench_print_profile(FILE *out, const BenchStep *steps, int n, int runs)
{
    double total = 0;
    for (int i = 0; i < n; i++) total += steps[i].seconds;
    if (runs <= 0 || n <= 0) {
        fprintf(out, "profile:     no profiled runs (the interpreter is not profiled; use --engine jit)\n");
        return;
    }
    fprintf(out, "profile:     %d steps, %.3f ms per run (%d runs), in execution order:\n", n, total * 1e3 / runs, runs);
    fprintf(out, "  %3s %12s %6s  %-12s %-20s %-22s %s\n", "#", "time/run", "share", "op", "module", "code in", "where");
    for (int i = 0; i < n; i++) {
        const BenchStep *s = &steps[i];
        char scope[256], where[512] = "?";
        scope_name(s->loc, scope, sizeof scope);
        const char *text = s->loc.src ? line_start(s->loc.src, s->loc.line) : NULL;
        if (s->loc.src) {
            int len = text ? (int)strcspn(text, "\n") : 0;
            int skip = text ? (int)strspn(text, " \t") : 0;
            snprintf(where, sizeof where, "%s:%d: %.*s", s->loc.src->path, s->loc.line, len - skip > 60 ? 60 : len - skip,
                     text ? text + skip : "");
        }
        const char *module = !s->scope ? "-" : !*s->scope ? "(model)" : s->scope;
        fprintf(out, "  %3d %9.3f ms %5.1f%%  %-12s %-20s %-22s %s\n", i, s->seconds * 1e3 / runs,
                total > 0 ? 100 * s->seconds / total : 0, s->op, module, scope, where);
    }
}
