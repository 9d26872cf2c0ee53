/* The pass registry and the pipeline runner: parse "a,b,c", run each pass, and
 * optionally print, verify and count after each one. */
#include <string.h>

#include "passes/pass_util.h"

const PassInfo bcl_passes[] = {
#define PASS(ID, NAME, FN, DESC) {NAME, FN, DESC},
#include "passes/passes.def"
#undef PASS
};
const int bcl_n_passes = (int)(sizeof bcl_passes / sizeof bcl_passes[0]);

/* -O1: the cheap, always-profitable rewrites. -O2 adds shape and constant cleanup,
 * cse, and the IR extensions every backend must honour: conv2d's residual input
 * (fuse-add) and pool flatten (fuse-pool-flatten). fold-bn runs before the fusions
 * (a BN between conv and activation blocks them), fuse-add before fuse-act (so the
 * activation after the add lands in the conv epilogue), dce last. */
static const char *const default_pipelines[] = {
    "",
    "elide-dropout,dce,fold-bn,fuse-act,dce",
    "elide-dropout,simplify-shape,fold-constants,cse,fold-bn,fuse-attention,fuse-add,fuse-act,fuse-pool-flatten,dce",
};

const char *bcl_default_pipeline(int opt_level)
{
    if (opt_level < 0) opt_level = 0;
    if (opt_level > 2) opt_level = 2;
    return default_pipelines[opt_level];
}

static const PassInfo *find_n(const char *name, size_t len)
{
    for (int i = 0; i < bcl_n_passes; i++)
        if (strlen(bcl_passes[i].name) == len && strncmp(bcl_passes[i].name, name, len) == 0)
            return &bcl_passes[i];
    return NULL;
}

const PassInfo *bcl_find_pass(const char *name) { return name ? find_n(name, strlen(name)) : NULL; }

/* Calls fn for each non-empty, space-trimmed entry of a comma-separated list. */
static bool each_entry(const char *list, bool (*fn)(const char *s, size_t n, void *ctx), void *ctx)
{
    bool ok = true;
    const char *p = list ? list : "";
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *s = p, *t = e;
        while (s < t && (*s == ' ' || *s == '\t')) s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (t > s && !fn(s, (size_t)(t - s), ctx)) ok = false;
        p = *e ? e + 1 : e;
    }
    return ok;
}

static bool check_one(const char *s, size_t n, void *ctx)
{
    if (find_n(s, n)) return true;
    diag_error((Diag *)ctx, NO_LOC, "unknown pass '%.*s' (bcl-opt --help lists the passes)", (int)n, s);
    return false;
}

bool bcl_check_pipeline(const char *pipeline, Diag *d) { return each_entry(pipeline, check_one, d); }

typedef struct RunCtx {
    IrGraph *g;
    const PassOptions *opt;
    Diag *d;
    bool failed;
} RunCtx;

static bool run_one(const char *s, size_t len, void *vctx)
{
    RunCtx *c = vctx;
    if (c->failed) return false;
    const PassInfo *p = find_n(s, len);
    BCL_ASSERT(p != NULL);   /* checked before running anything */
    const PassOptions *o = c->opt;
    FILE *out = o && o->print_out ? o->print_out : stderr;
    int before = c->g->nodes.n;
    int errors = c->d->n_errors;
    int r = p->run(c->g, c->d);
    if (r < 0 || c->d->n_errors > errors) {
        if (c->d->n_errors == errors) diag_error(c->d, NO_LOC, "pass '%s' failed", p->name);
        c->failed = true;
        return false;
    }
    if (o && o->stats)
        fprintf(out, "pass %s: %d nodes -> %d nodes (%d rewrites)\n", p->name, before, c->g->nodes.n, r);
    if (o && o->print_after && (strcmp(o->print_after, "all") == 0 || strcmp(o->print_after, p->name) == 0)) {
        fprintf(out, "# after %s\n", p->name);
        ir_print(out, c->g);
    }
    if (o && o->verify_each && !ir_verify(c->g, c->d)) {
        diag_error(c->d, NO_LOC, "the IR is invalid after pass '%s'", p->name);
        c->failed = true;
        return false;
    }
    return true;
}

int bcl_run_passes(IrGraph *g, const char *pipeline, const PassOptions *opt, Diag *d)
{
    if (opt && opt->print_after && strcmp(opt->print_after, "all") != 0 && !bcl_find_pass(opt->print_after)) {
        diag_error(d, NO_LOC, "unknown pass '%s' in --print-after", opt->print_after);
        return 1;
    }
    if (!bcl_check_pipeline(pipeline, d)) return 1;
    RunCtx c = {g, opt, d, false};
    each_entry(pipeline, run_one, &c);
    return c.failed ? 1 : 0;
}

void bcl_list_passes(FILE *out)
{
    for (int i = 0; i < bcl_n_passes; i++)
        fprintf(out, "  %-18s %s\n", bcl_passes[i].name, bcl_passes[i].desc);
}
