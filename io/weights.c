/* Binding a weight file's tensors to a graph's parameters by state-dict key, the
 * layout equivalences of docs/language.md#weights, deterministic random weights, and the
 * key-by-key report of `bclc params --weights`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/io_util.h"
#include "support/oom.h"
#include "io/weights.h"

/* ---- shape equivalence ---- */

static int squeeze(const Shape *s, int64_t *out)
{
    int n = 0;
    for (int i = 0; i < s->rank; i++)
        if (s->d[i] != 1) out[n++] = s->d[i];
    return n;
}

static bool same_dims(const int64_t *a, int na, const int64_t *b, int nb)
{
    return na == nb && (na == 0 || !memcmp(a, b, (size_t)na * sizeof *a));
}

static bool squeezed_eq(const Shape *a, const Shape *b)
{
    int64_t x[BCL_MAX_RANK], y[BCL_MAX_RANK];
    int nx = squeeze(a, x), ny = squeeze(b, y);
    return same_dims(x, nx, y, ny);
}

/* -1 when the count overflows (only a hostile shape can). */
static int64_t numel_checked(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->d[i] < 0 || !io_mul_ok(n, s->d[i], &n)) return -1;
    return n;
}

bool bcl_weight_shape_compatible(const Shape *model, const Shape *file)
{
    if (shape_eq(model, file)) return true;
    int64_t n = numel_checked(model);
    if (n < 0 || n != numel_checked(file)) return false;
    /* (O,) ~ (1,O,1,1) and the like: the same dims once the 1s are dropped */
    if (squeezed_eq(model, file)) return true;
    /* grouped conv: (G, O/G, I/G, kh, kw) ~ (O, I/G, kh, kw), i.e. the 5-d shape with
     * its first two dims merged; only for conv weights, so that a (4,) bias never
     * matches a (2, 2) tensor */
    const Shape *lo = model, *hi = file;
    if (lo->rank > hi->rank) lo = file, hi = model;
    if (hi->rank != 5 || lo->rank != 4) return false;
    Shape merged = {hi->rank - 1, {0}};
    merged.d[0] = hi->d[0] * hi->d[1];   /* cannot overflow: numel did not */
    for (int i = 2; i < hi->rank; i++) merged.d[i - 1] = hi->d[i];
    return squeezed_eq(&merged, lo);
}

/* ---- name lookup: sorted (name, index) pairs ---- */

typedef struct Key {
    const char *name;
    int idx;
} Key;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const Key *)a)->name, ((const Key *)b)->name);
}

static Key *param_index(const IrGraph *g)
{
    Key *k = bcl_malloc((size_t)(g->params.n ? g->params.n : 1) * sizeof *k);
    if (!k) return NULL;
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        k[i] = (Key){v->name ? v->name : "", i};
    }
    qsort(k, (size_t)g->params.n, sizeof *k, cmp_key);
    return k;
}

static int lookup(const Key *k, int n, const char *name)
{
    Key probe = {name, 0};
    const Key *hit = bsearch(&probe, k, (size_t)n, sizeof *k, cmp_key);
    return hit ? hit->idx : -1;
}

/* BatchNorm's step counter is a buffer in PyTorch state dicts but not a parameter. */
static bool ignored_key(const char *name)
{
    static const char suffix[] = "num_batches_tracked";
    size_t n = strlen(name), m = sizeof suffix - 1;
    return n >= m && !strcmp(name + n - m, suffix) && (n == m || name[n - m - 1] == '.');
}

/* ---- key prefixes ---- */

/* Keys saved from a wrapped model carry a prefix the model's keys lack ("module." from
 * DataParallel, "model." from a wrapper): when no key of the file matches, and every
 * key starts with the same dotted component(s), the length of that prefix (up to three
 * components) when stripping it makes keys match; 0 otherwise. */
static size_t common_prefix(const Key *k, int np, const StFile *f)
{
    size_t plen = 0;
    for (int depth = 0; depth < 4; depth++) {
        int matched = 0, counted = 0;
        const char *first = NULL;
        for (int i = 0; f && i < f->n; i++) {
            const char *name = f->t[i].name;
            if (ignored_key(name)) continue;
            if (strlen(name) < plen || (first && strncmp(name, first, plen))) return 0;
            if (!first) first = name;
            counted++;
            matched += lookup(k, np, name + plen) >= 0;
        }
        if (!counted) return 0;
        if (matched) return plen;
        const char *dot = strchr(first + plen, '.');
        if (!dot) return 0;
        plen = (size_t)(dot - first) + 1;
    }
    return 0;
}

static const char *bound_name(const char *name, size_t plen)
{
    return strlen(name) >= plen ? name + plen : name;
}

int bcl_weights_strip_prefix(StFile *f, const char *prefix)
{
    size_t n = strlen(prefix);
    int count = 0;
    for (int i = 0; i < f->n; i++)
        if (!strncmp(f->t[i].name, prefix, n)) {
            memmove(f->t[i].name, f->t[i].name + n, strlen(f->t[i].name + n) + 1);
            count++;
        }
    return count;
}

/* ---- dtypes ---- */

/* Whether a file tensor's values are what the model's dtype holds (docs/language.md
 * "Weights"): a float32 parameter takes any (as PyTorch's load_state_dict converts
 * them); an int32 buffer (Swin's rel_pos_index) whole numbers within float32's exact
 * range, from an integer entry (MegEngine's int32, PyTorch's int64) or from a float
 * file that holds whole numbers, not a bool entry; a bool buffer bool data or 0/1.
 * NULL if they fit, else why not (in why). */
static const char *dtype_misfit(const IrValue *v, const StTensor *t, char *why, size_t len)
{
    if (v->dtype != IR_DT_I32 && v->dtype != IR_DT_BOOL) return NULL;
    if (v->dtype == IR_DT_I32 && t->dtype == ST_BOOL) {
        snprintf(why, len, "a bool entry");
        return why;
    }
    if (v->dtype == IR_DT_BOOL && t->dtype == ST_BOOL) return NULL;
    if (st_dtype_is_int(t->dtype) && t->int_inexact) {
        snprintf(why, len, "values beyond +-2^24, which the model's int32 (computed as float32) cannot hold exactly");
        return why;
    }
    int64_t n = shape_numel(&t->shape);
    for (int64_t k = 0; k < n; k++) {
        float x = t->data[k];
        bool bad = v->dtype == IR_DT_BOOL ? x != 0.0f && x != 1.0f
                                          : x != x || x >= 16777216.0f || x <= -16777216.0f || x != truncf(x);
        if (bad) {
            snprintf(why, len, "element %lld is %.9g, %s", (long long)k, (double)x,
                     v->dtype == IR_DT_BOOL ? "not 0 or 1" : "not a whole number within +-2^24");
            return why;
        }
    }
    return NULL;
}

/* ---- binding ---- */

static void report(Diag *d, const char *path, bool strict, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(Diag *d, const char *path, bool strict, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *msg = n >= 0 ? bcl_malloc((size_t)n + 1) : NULL;
    if (msg) vsnprintf(msg, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    if (strict) diag_error_path(d, path, "%s", msg ? msg : "out of memory");
    else diag_warning_path(d, path, "%s", msg ? msg : "out of memory");
    free(msg);
}

/* "what (N): a, b, c" with names made printable. */
static void report_list(Diag *d, const char *path, bool strict, const char *what,
                        const char *const *names, int n)
{
    if (!n) return;
    char *buf = NULL, nb[512];
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return;
    for (int i = 0; i < n; i++)
        fprintf(m, "%s%s", i ? ", " : "", bcl_printable(names[i], strlen(names[i]), nb, sizeof nb));
    fclose(m);
    report(d, path, strict, "%s (%d): %s", what, n, buf ? buf : "");
    free(buf);
}

/* Weights that are NaN or infinite load (PyTorch loads them too), with one warning that
 * names the tensors, so that NaN outputs can be traced back to the file. */
static void warn_non_finite(const IrGraph *g, const char *path, Diag *d)
{
    char list[512];
    size_t len = 0;
    int n_tensors = 0;
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        if (!v->data) continue;
        int64_t n = shape_numel(&v->shape), nan = 0, inf = 0;
        for (int64_t k = 0; k < n; k++) {
            float x = v->data[k];
            if (x != x) nan++;
            else if (x - x != 0) inf++;
        }
        if (!nan && !inf) continue;
        if (n_tensors++ < 4 && len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s' (%lld NaN, %lld infinite)", n_tensors > 1 ? ", " : "",
                                    v->name ? v->name : "", (long long)nan, (long long)inf);
    }
    if (!n_tensors) return;
    if (n_tensors > 4 && len < sizeof list) snprintf(list + len, sizeof list - len, " and %d more", n_tensors - 4);
    diag_warning_path(d, path, "%d tensor%s hold%s NaN or infinite values: %s", n_tensors, n_tensors > 1 ? "s" : "",
                      n_tensors > 1 ? "" : "s", list);
}

/* The lookup tables of a bind, freed on every way out (an arena that cannot grow
 * for a parameter's data jumps: support/oom.h). */
typedef struct BindTemps {
    Key *keys;
    char *present;
    const char **missing, **unexpected;
    int *mismatch, *misfit;
} BindTemps;

static void bind_temps_free(void *arg)
{
    BindTemps *t = arg;
    free(t->keys), free(t->present), free(t->missing), free(t->unexpected), free(t->mismatch), free(t->misfit);
    memset(t, 0, sizeof *t);
}

static int bind_weights(IrGraph *g, StFile *f, const char *path, int strict, Diag *d, BindTemps *tmp);

int bcl_bind_weights(IrGraph *g, StFile *f, const char *path, int strict, Diag *d)
{
    BindTemps tmp = {0};
    BclOomGuard guard;
    bcl_oom_guard(&guard, bind_temps_free, &tmp);
    int rc = bind_weights(g, f, path, strict, d, &tmp);
    bcl_oom_unguard(&guard);
    bind_temps_free(&tmp);
    return rc;
}

static int bind_weights(IrGraph *g, StFile *f, const char *path, int strict, Diag *d, BindTemps *tmp)
{
    int np = g->params.n, nt = f ? f->n : 0;
    Key *keys = tmp->keys = param_index(g);
    char *present = tmp->present = bcl_calloc((size_t)(np ? np : 1), 1);
    const char **missing = tmp->missing = bcl_calloc((size_t)(np ? np : 1), sizeof *missing);
    const char **unexpected = tmp->unexpected = bcl_calloc((size_t)(nt ? nt : 1), sizeof *unexpected);
    int *mismatch = tmp->mismatch = bcl_malloc((size_t)(nt ? nt : 1) * sizeof *mismatch);
    int *misfit = tmp->misfit = bcl_malloc((size_t)(nt ? nt : 1) * sizeof *misfit);
    if (!keys || !present || !missing || !unexpected || !mismatch || !misfit) {
        diag_error_path(d, path, "out of memory");
        return -1;
    }
    int n_missing = 0, n_unexpected = 0, n_mismatch = 0, n_misfit = 0;
    bool slab_used = false;
    char why[160];
    size_t plen = common_prefix(keys, np, f);
    if (plen) {
        char nb[256];
        int i0 = 0;
        while (ignored_key(f->t[i0].name)) i0++;
        diag_note(d, NO_LOC, "%s: every key starts with '%s', which the model's keys lack: matched without it",
                  path, bcl_printable(f->t[i0].name, plen, nb, sizeof nb));
    }
    for (int i = 0; i < nt; i++) {
        const StTensor *t = &f->t[i];
        int p = lookup(keys, np, bound_name(t->name, plen));
        if (p < 0) {
            if (!ignored_key(t->name)) unexpected[n_unexpected++] = t->name;
            continue;
        }
        present[p] = 1;
        IrValue *v = g->params.v[p];
        if (!bcl_weight_shape_compatible(&v->shape, &t->shape)) {
            mismatch[n_mismatch++] = i;
            continue;
        }
        if (dtype_misfit(v, t, why, sizeof why)) {   /* the parameter keeps its own values */
            misfit[n_misfit++] = i;
            continue;
        }
        /* The tensor's buffer moves into the graph's arena: no copy (a second pass over
         * every weight, and fresh pages for it: a third of VGG-11's 0.9 s start-up) */
        if (shape_numel(&v->shape) > 0) {
            float *data = t->data;
            f->t[i].data = NULL;   /* before adopting: if that runs out of memory, it frees data */
            if (st_in_slab(f, data))
                slab_used = true;  /* the whole slab moves into the arena below */
            else
                arena_adopt(g->arena, data);
            v->data = data;
        } else {
            v->data = ARENA_NEWN(g->arena, float, 1);
        }
    }
    if (slab_used && !f->slab_moved) {
        /* The slab is the graph's now; f's unbound tensors still point into it (valid
         * while the graph lives). Marked first: if adopting runs out of memory, it
         * frees the slab. */
        f->slab_moved = true;
        arena_adopt(g->arena, f->slab);
    }
    for (int i = 0; i < np; i++)
        if (!present[i]) {
            const char *name = ((const IrValue *)g->params.v[i])->name;
            missing[n_missing++] = name ? name : "";
        }

    int errors = d->n_errors;
    report_list(d, path, strict, "missing keys", missing, n_missing);
    report_list(d, path, strict, "unexpected keys", unexpected, n_unexpected);
    for (int k = 0; k < n_mismatch; k++) {
        const StTensor *t = &f->t[mismatch[k]];
        const IrValue *v = g->params.v[lookup(keys, np, bound_name(t->name, plen))];
        char ms[160], fs[160], nb[512];
        report(d, path, strict, "shape mismatch for '%s': model %s, file %s",
               bcl_printable(t->name, strlen(t->name), nb, sizeof nb),
               shape_str(&v->shape, ms, sizeof ms), shape_str(&t->shape, fs, sizeof fs));
    }
    for (int k = 0; k < n_misfit; k++) {
        const StTensor *t = &f->t[misfit[k]];
        const IrValue *v = g->params.v[lookup(keys, np, bound_name(t->name, plen))];
        char nb[512];
        report(d, path, strict, "dtype mismatch for '%s': model %s, file %s (%s)",
               bcl_printable(t->name, strlen(t->name), nb, sizeof nb), ir_dtype_name(v->dtype),
               st_dtype_name(t->dtype), dtype_misfit(v, t, why, sizeof why));
    }
    warn_non_finite(g, path, d);
    return d->n_errors > errors ? -1 : 0;
}

/* ---- random weights ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* FNV-1a: each parameter's stream depends on the seed and its name, so adding a
 * parameter elsewhere in the model does not change the others' values. */
static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* A standard normal draw (Box-Muller) from u in [0, 1) and one more uniform. */
static float normal_draw(uint64_t *state, float u)
{
    double u2 = (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
    double r = sqrt(-2.0 * log(1.0 - (double)u));
    return (float)(r * cos(6.283185307179586 * u2));
}

void bcl_random_weights(IrGraph *g, uint64_t seed)
{
    for (int i = 0; i < g->params.n; i++) {
        IrValue *v = g->params.v[i];
        if (v->data) continue;
        int64_t n = shape_numel(&v->shape);
        v->data = ARENA_NEWN(g->arena, float, n > 0 ? n : 1);
        uint64_t state = seed ^ hash_name(v->name ? v->name : "");
        float bound = 1.0f;
        if (v->init == INIT_FAN_IN && v->shape.rank > 0 && v->shape.d[0] > 0 && n > 0) {
            int64_t fan_in = n / v->shape.d[0];
            bound = 1.0f / sqrtf((float)(fan_in > 0 ? fan_in : 1));
        }
        const float *arg = v->init_args;
        for (int64_t k = 0; k < n; k++) {
            float u = (float)(splitmix64(&state) >> 40) * (1.0f / 16777216.0f);   /* [0, 1) */
            switch (v->init) {
            case INIT_ZEROS: v->data[k] = 0.0f; break;
            case INIT_ONES: v->data[k] = 1.0f; break;
            case INIT_FAN_IN: v->data[k] = (2.0f * u - 1.0f) * bound; break;
            case INIT_VAR: v->data[k] = 0.5f + u; break;
            case INIT_CONST: v->data[k] = arg[0]; break;
            case INIT_UNIFORM: v->data[k] = arg[0] + (arg[1] - arg[0]) * u; break;
            case INIT_NORMAL: v->data[k] = arg[0] + arg[1] * normal_draw(&state, u); break;
            case INIT_TRUNC_NORMAL: {
                /* redrawn until inside [a, b] (bounded tries: the mean clamped after) */
                float x = arg[0] + arg[1] * normal_draw(&state, u);
                for (int tries = 0; (x < arg[2] || x > arg[3]) && tries < 64; tries++) {
                    float u2 = (float)(splitmix64(&state) >> 40) * (1.0f / 16777216.0f);
                    x = arg[0] + arg[1] * normal_draw(&state, u2);
                }
                v->data[k] = x < arg[2] || x > arg[3] ? fminf(fmaxf(arg[0], arg[2]), arg[3]) : x;
                break;
            }
            }
        }
    }
}

/* ---- report ---- */

void bcl_print_weight_match(FILE *out, const IrGraph *g, const StFile *f)
{
    int nt = f ? f->n : 0, np = g->params.n;
    Key *tk = bcl_malloc((size_t)(nt ? nt : 1) * sizeof *tk);
    Key *pk = param_index(g);
    if (!tk || !pk) {
        free(tk), free(pk);
        fprintf(out, "out of memory\n");
        return;
    }
    size_t plen = common_prefix(pk, np, f);
    for (int i = 0; i < nt; i++) tk[i] = (Key){bound_name(f->t[i].name, plen), i};
    qsort(tk, (size_t)nt, sizeof *tk, cmp_key);
    char s1[160], s2[160], nb[512], why[160];
    for (int i = 0; i < np; i++) {
        const IrValue *v = g->params.v[i];
        const char *name = v->name ? v->name : "";
        fprintf(out, "%s %s", bcl_printable(name, strlen(name), nb, sizeof nb),
                shape_str(&v->shape, s1, sizeof s1));
        if (v->dtype != IR_DT_F32) fprintf(out, " %s", ir_dtype_name(v->dtype));
        int t = lookup(tk, nt, name);
        if (t < 0) fputs(" missing\n", out);
        else if (!bcl_weight_shape_compatible(&v->shape, &f->t[t].shape))
            fprintf(out, " shape mismatch (file %s)\n", shape_str(&f->t[t].shape, s2, sizeof s2));
        else if (dtype_misfit(v, &f->t[t], why, sizeof why))
            fprintf(out, " dtype mismatch (file %s: %s)\n", st_dtype_name(f->t[t].dtype), why);
        else fputs(" ok\n", out);
    }
    for (int i = 0; i < nt; i++) {
        const StTensor *t = &f->t[i];
        if (lookup(pk, np, bound_name(t->name, plen)) >= 0 || ignored_key(t->name)) continue;
        fprintf(out, "%s %s unexpected\n", bcl_printable(t->name, strlen(t->name), nb, sizeof nb),
                shape_str(&t->shape, s2, sizeof s2));
    }
    free(tk);
    free(pk);
}
