/* Measuring the tunables (bclc --tune): the graph compiled once with the heuristics'
 * choices (the reference) and once per choice index ("round": every site without a
 * stored choice takes that choice where its shape allows it), each engine run a few
 * times on random inputs with every step timed; a site's time is the sum of its
 * node's steps (best run), and each shape keeps the choice with the least time summed
 * over the nodes of that shape. A round whose outputs drift from the reference's
 * beyond float rounding is not trusted (a warning; its choices are not kept). Tuning is
 * an optimisation: whatever fails (a round that does not compile or run, e.g. an index
 * check on the random inputs) is a warning, and the shapes measured so far are kept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/llvm/jit_internal.h"
#include "backend/llvm/tune.h"
#include "support/oom.h"

#define MAX_RUNS 5
#define ROUND_SECONDS 1.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct Io {
    int n_in, n_out;
    float **in, **out, **ref;
    int64_t *out_n;
} Io;

static void io_free(Io *io)
{
    for (int i = 0; i < io->n_in; i++) free(io->in[i]);
    for (int i = 0; i < io->n_out; i++) free(io->out[i]), free(io->ref[i]);
    free(io->in), free(io->out), free(io->ref), free(io->out_n);
}

static bool io_init(Io *io, const IrGraph *g)
{
    memset(io, 0, sizeof *io);
    io->n_in = g->inputs.n, io->n_out = g->outputs.n;
    io->in = bcl_calloc((size_t)io->n_in + 1, sizeof(float *));
    io->out = bcl_calloc((size_t)io->n_out + 1, sizeof(float *));
    io->ref = bcl_calloc((size_t)io->n_out + 1, sizeof(float *));
    io->out_n = bcl_calloc((size_t)io->n_out + 1, sizeof(int64_t));
    if (!io->in || !io->out || !io->ref || !io->out_n) return false;
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < io->n_in; i++) {
        int64_t n = shape_numel(&((const IrValue *)g->inputs.v[i])->shape);
        if (!(io->in[i] = bcl_malloc(sizeof(float) * (size_t)(n ? n : 1)))) return false;
        for (int64_t k = 0; k < n; k++) {   /* xorshift: inputs in [-1, 1) */
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            io->in[i][k] = (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
        }
    }
    for (int i = 0; i < io->n_out; i++) {
        int64_t n = io->out_n[i] = shape_numel(&((const IrValue *)g->outputs.v[i])->shape);
        io->out[i] = bcl_malloc(sizeof(float) * (size_t)(n ? n : 1));
        io->ref[i] = bcl_malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (!io->out[i] || !io->ref[i]) return false;
    }
    return true;
}

/* Whether this round's outputs agree with the reference's (as the conformance tests:
 * relative to the output's scale). */
static bool agrees(const Io *io)
{
    for (int i = 0; i < io->n_out; i++) {
        double scale = 0, diff = 0;
        for (int64_t k = 0; k < io->out_n[i]; k++) {
            double r = io->ref[i][k], y = io->out[i][k];
            if (fabs(r) > scale) scale = fabs(r);
            if (!(fabs(y - r) <= diff)) diff = isnan(y - r) ? INFINITY : fabs(y - r);
        }
        if (!(diff <= 1e-3 * (0.1 + scale))) return false;
    }
    return true;
}

/* Compiles with t at round r, runs it, and fills node_s (seconds per node, best run).
 * Returns false after a warning saying why it could not. */
static bool measure_round(const IrGraph *g, const BclJitOptions *opt, JitTune *t, int r, Io *io, double *node_s,
                          Diag *d)
{
    BclJitOptions o = *opt;
    o.cache = 0, o.profile = 1, o.tune = 0, o.emit_llvm = NULL, o.time_phases = 0;
    DiagCapture cap;   /* this round's errors become one warning */
    diag_capture_begin(d, &cap);
    t->round = r;
    BclJit *j = jit_compile_tuned(g, &o, t, NULL, d);
    t->round = -1;
    int n_steps = j ? jit_n_steps(j) : 0;
    BclJitStepTime *st = bcl_calloc((size_t)n_steps + 1, sizeof *st);
    double *prev = bcl_calloc((size_t)n_steps + 1, sizeof *prev), *best = bcl_malloc(sizeof(double) * ((size_t)n_steps + 1));
    bool ok = j && st && prev && best;
    for (int i = 0; ok && i < n_steps; i++) best[i] = INFINITY;
    double t0 = now_s();
    for (int run = 0; ok && run < MAX_RUNS && (run < 2 || now_s() - t0 < ROUND_SECONDS); run++) {
        float **out = r < 0 ? io->ref : io->out;
        if (bcl_jit_run(j, (const float *const *)io->in, out, d)) {
            ok = false;
            break;
        }
        int runs;
        bcl_jit_profile(j, st, n_steps, &runs);
        for (int i = 0; i < n_steps; i++) {
            double s = st[i].seconds - prev[i];
            prev[i] = st[i].seconds;
            if (s < best[i]) best[i] = s;
        }
    }
    for (int i = 0; ok && i < n_steps; i++)
        if (st[i].node >= 0 && st[i].node < g->nodes.n) node_s[st[i].node] += best[i];
    free(st), free(prev), free(best);
    bcl_jit_free(j);
    if (!ok) {
        const char *why = cap.n ? cap.r[0].msg : "out of memory";
        if (r < 0) diag_warning(d, NO_LOC, "tuning skipped: the default lowering failed to compile or run: %s", why);
        else diag_warning(d, NO_LOC, "tuning: choice %d not measured: %s", r, why);
    }
    diag_capture_end(d, &cap, false);
    return ok;
}

void jit_tune_measure(const IrGraph *g, const BclJitOptions *opt, JitTune *t, Diag *d)
{
    double t0 = now_s();
    int nn = g->nodes.n;
    Io io;
    JitTuneSite *sites = NULL;
    double *node_s = bcl_calloc((size_t)nn + 1, sizeof(double));
    double *times = NULL;   /* [site][choice]: seconds, or -1 not measured */
    bool ok = io_init(&io, g) && node_s;
    if (!ok) diag_warning(d, NO_LOC, "tuning skipped: out of memory");
    /* the reference: the heuristics' choices (and stored ones), which also lists the sites */
    ok = ok && measure_round(g, opt, t, -1, &io, node_s, d);
    int ns = 0, rounds = 0, kept = 0, changed = 0;
    if (ok) {
        ns = t->n_sites;
        sites = bcl_malloc(sizeof *sites * (size_t)(ns ? ns : 1));
        times = bcl_malloc(sizeof(double) * (size_t)(ns ? ns : 1) * JIT_TUNE_MAX_CHOICES);
        if (!(ok = sites && times)) diag_warning(d, NO_LOC, "tuning skipped: out of memory");
    }
    if (ok) {
        memcpy(sites, t->sites, sizeof *sites * (size_t)ns);
        for (int s = 0; s < ns * JIT_TUNE_MAX_CHOICES; s++) times[s] = -1;
        for (int s = 0; s < ns; s++) times[s * JIT_TUNE_MAX_CHOICES + sites[s].choice] = node_s[sites[s].node];
    }
    for (int r = 0; ok && r < JIT_TUNE_MAX_CHOICES; r++) {
        bool any = false;   /* a site with this choice open and not yet measured */
        for (int s = 0; s < ns; s++)
            any |= !sites[s].stored && (sites[s].allowed >> r & 1) && times[s * JIT_TUNE_MAX_CHOICES + r] < 0;
        if (!any) continue;
        memset(node_s, 0, sizeof(double) * (size_t)nn);
        if (!measure_round(g, opt, t, r, &io, node_s, d)) continue;
        rounds++;
        if (t->n_sites != ns) continue;   /* not the same sites: nothing to compare */
        if (!agrees(&io)) {
            diag_warning(d, NO_LOC, "tuning: choice %d gave outputs unlike the default lowering's; not used", r);
            continue;
        }
        for (int s = 0; s < ns; s++)
            if (t->sites[s].node == sites[s].node && t->sites[s].choice == r)
                times[s * JIT_TUNE_MAX_CHOICES + r] = node_s[sites[s].node];
    }
    /* per shape (key): the choice with the least time summed over its sites */
    for (int s = 0; ok && s < ns; s++) {
        if (sites[s].stored) continue;
        bool first = true;
        for (int q = 0; q < s; q++) first &= sites[q].key != sites[s].key;
        if (!first) continue;
        double sum[JIT_TUNE_MAX_CHOICES] = {0};
        bool all[JIT_TUNE_MAX_CHOICES];
        for (int c = 0; c < JIT_TUNE_MAX_CHOICES; c++) all[c] = true;
        for (int q = s; q < ns; q++) {
            if (sites[q].key != sites[s].key) continue;
            for (int c = 0; c < JIT_TUNE_MAX_CHOICES; c++) {
                double v = times[q * JIT_TUNE_MAX_CHOICES + c];
                if (v < 0) all[c] = false;
                else sum[c] += v;
            }
        }
        int best = sites[s].choice;   /* the default, measured in the reference round */
        for (int c = 0; c < JIT_TUNE_MAX_CHOICES; c++)
            if (all[c] && sum[c] < sum[best]) best = c;
        jit_tune_set(t, sites[s].key, sites[s].what, best);
        kept++, changed += best != sites[s].choice;
    }
    if (ok && t->oom) diag_warning(d, NO_LOC, "tuning: out of memory; some choices are not kept");
    if (ok)
        fprintf(stderr, "jit: tuned %d shape%s in %d round%s (%.1f s): %d differ from the default\n", kept,
                kept == 1 ? "" : "s", rounds, rounds == 1 ? "" : "s", now_s() - t0, changed);
    io_free(&io);
    free(sites), free(times), free(node_s);
}
