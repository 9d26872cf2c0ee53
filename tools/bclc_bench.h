/* bclc bench's measuring and reporting (tools/bclc.c parses the options and
 * prepares the engine): timed runs for a count or a duration, latency statistics,
 * the text and JSON reports, the host's CPU, and the per-step profile. */
#ifndef BCL_TOOLS_BCLC_BENCH_H
#define BCL_TOOLS_BCLC_BENCH_H
#include <stdio.h>

#include "ir/ir.h"
#include "support/diag.h"

/* One run of the model; 0 on success. */
typedef int (*BenchRunFn)(void *arg);

/* Runs fn once to warm up, then iters times, or, when seconds > 0, until that much
 * time has passed (at least once, at most BENCH_MAX_ITERS). *lat gets the latencies
 * in seconds (malloc'ed), *n their count. Returns fn's first failure, or 0. */
#define BENCH_MAX_ITERS 10000000
int bench_measure(BenchRunFn fn, void *arg, int iters, double seconds, double **lat, int *n);

typedef struct BenchStats {
    int n;
    double mean, stddev;              /* stddev: sample (n - 1), 0 for one run */
    double min, max, p50, p90, p99;   /* percentiles interpolated linearly (numpy's default) */
} BenchStats;

/* Statistics of n > 0 latencies (not modified). */
void bench_stats(const double *lat, int n, BenchStats *s);
/* The q-quantile (0 <= q <= 1) of sorted[0..n), interpolated linearly. */
double bench_quantile(const double *sorted, int n, double q);

/* "AMD EPYC 7B13" from /proc/cpuinfo, else the machine name from uname. */
const char *bench_cpu_model(char *buf, size_t n);

typedef struct BenchReport {
    const char *model, *engine, *cpu;
    Shape input;
    int batch, threads, online_cpus;
    double t_build, t_passes, t_engine;   /* compile phases, seconds */
    BenchStats st;
    double images_per_s;                  /* batch / mean latency */
} BenchReport;

void bench_print(FILE *out, const BenchReport *r);
/* The report and every latency as JSON; 0, or 1 after reporting to d. */
int bench_write_json(const char *path, const BenchReport *r, const double *lat, Diag *d);

/* One profiled step: its op, kernel, .bcl location and total time over runs. */
typedef struct BenchStep {
    const char *op, *kernel;
    SrcLoc loc;
    const char *scope;    /* the module path whose forward made it ("" the model), or NULL */
    double seconds;
} BenchStep;
/* Prints the steps in execution order, each named by its module path ("layer1.0";
 * "(model)" the top module; "-" for an op a pass made), the class.method around
 * its .bcl line, the file:line and the line's text. */
void bench_print_profile(FILE *out, const BenchStep *steps, int n, int runs);

#endif
