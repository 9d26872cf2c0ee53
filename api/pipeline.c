/* The pipeline every driver runs: build -> read and bind weights -> fill missing ->
 * passes (api/pipeline.h). */
#include <stdlib.h>
#include <string.h>

#include "api/pipeline.h"
#include "io/weights.h"
#include "ir/memplan.h"
#include "support/oom.h"

IrGraph *bcl_pipeline_build(const BclModelOptions *o, Arena *a, Diag *d)
{
    IrGraph *g = bcl_build(&o->build, a, d);
    if (!g && d->n_errors == 0) diag_error(d, NO_LOC, "could not build the model");
    return d->n_errors ? NULL : g;
}

/* Fills the parameters without data from their initialisers (seed), after checking
 * that they fit in memory: refused up front rather than failing (or swapping) half
 * way. False after an error. */
static bool fill(IrGraph *g, uint64_t seed, Diag *d)
{
    double bytes = 0;
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        if (!v->data) bytes += 4.0 * (double)shape_numel(&v->shape);
    }
    if (!bcl_memory_fits(bytes)) {
        diag_error(d, NO_LOC, "the model's weights need %.1f GiB, more than this machine's memory", bytes / (1 << 30));
        return false;
    }
    bcl_random_weights(g, seed);
    return true;
}

/* The --non-strict rule: parameters the weights did not give start from their
 * initialiser, as in a freshly built MegEngine/PyTorch module, and a warning says which. */
static bool fill_missing(IrGraph *g, const char *name, uint64_t seed, Diag *d)
{
    char *list = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&list, &len);
    int n = 0;
    for (int i = 0; m && i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        if (!v->data) fprintf(m, "%s%s", n++ ? ", " : "", v->name ? v->name : "");
    }
    if (m) fclose(m);
    if (n)
        diag_warning_path(d, name, "--non-strict: %d parameter%s without weights start%s from %s initialiser "
                          "(seed %llu): %s", n, n == 1 ? "" : "s", n == 1 ? "s" : "", n == 1 ? "its" : "their",
                          (unsigned long long)seed, list ? list : "");
    free(list);
    return fill(g, seed, d);
}

void bcl_pipeline_note_load_hook(const IrGraph *g, Diag *d)
{
    if (!g->load_hook) return;
    diag_warning(d, g->load_hook_loc,
                 "'%s' is not run: bclc binds the checkpoint's tensors to the parameters by name itself, as "
                 "megengine.module.Module.load_state_dict does; a checkpoint that this method would adapt (another "
                 "shape, renamed keys) must be converted to the model's keys and shapes beforehand", g->load_hook);
}

int bcl_pipeline_bind(IrGraph *g, StFile *f, const char *name, bool non_strict, uint64_t seed, Diag *d)
{
    bcl_pipeline_note_load_hook(g, d);
    int rc = bcl_bind_weights(g, f, name, !non_strict, d);
    if (rc == 0 && non_strict && !fill_missing(g, name, seed, d)) rc = 1;
    return rc;
}

static void st_free_guarded(void *arg) { st_free(arg); }

int bcl_pipeline_weights(IrGraph *g, const BclModelOptions *o, Diag *d)
{
    uint64_t seed = o->has_seed ? o->seed : 0;
    if (o->weights) {
        StFile f = {0};
        BclOomGuard g_f;   /* the tensors read, freed if binding runs out of memory */
        bcl_oom_guard(&g_f, st_free_guarded, &f);
        int rc = bcl_read_weights(o->weights, &f, d) != 0;
        if (!rc) {
            if (o->strip_prefix) bcl_weights_strip_prefix(&f, o->strip_prefix);
            rc = bcl_pipeline_bind(g, &f, o->weights, o->non_strict, seed, d);
        }
        bcl_oom_unguard(&g_f);
        st_free(&f);
        if (rc) return rc;
    }
    if (o->has_seed && !fill(g, seed, d)) return 1;
    return d->n_errors ? 1 : 0;
}

static void arena_free_guarded(void *arg) { arena_free(arg); }

bool bcl_pipeline_jit_fits(const IrGraph *g, Diag *d)
{
    Arena pa;
    arena_init(&pa);
    BclOomGuard g_pa;
    bcl_oom_guard(&g_pa, arena_free_guarded, &pa);
    double act = (double)bcl_plan_memory(g, &pa)->peak, w = 0;
    bcl_oom_unguard(&g_pa);
    arena_free(&pa);
    for (int i = 0; i < g->params.n; i++) w += 4.0 * (double)shape_numel(&((const IrValue *)g->params.v[i])->shape);
    if (bcl_memory_fits(2 * w + act)) return true;
    diag_error(d, NO_LOC, "the JIT needs %.1f GiB (weights %.1f GiB twice, activations %.1f GiB), more than this machine's memory",
               (2 * w + act) / (1 << 30), w / (1 << 30), act / (1 << 30));
    return false;
}

int bcl_pipeline_passes(IrGraph *g, const BclModelOptions *o, const char *default_pipeline, Diag *d)
{
    return bcl_run_passes(g, o->pipeline ? o->pipeline : default_pipeline, &o->pass_opt, d);
}

IrGraph *bcl_pipeline(const BclModelOptions *o, const char *default_pipeline, Arena *a, Diag *d)
{
    IrGraph *g = bcl_pipeline_build(o, a, d);
    if (!g || bcl_pipeline_weights(g, o, d) || bcl_pipeline_passes(g, o, default_pipeline, d)) return NULL;
    return g;
}
