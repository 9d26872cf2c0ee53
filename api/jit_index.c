/* The JIT cache's index (api/jit_index.h). A record is a cache entry of its own
 * (backend/llvm/cache.h: written atomically, checksummed, trimmed with the rest),
 * keyed by the index key, holding one blob: IndexRecord. */
#define _GNU_SOURCE   /* open_memstream */
#include "api/jit_index.h"
#if BCL_HAVE_LLVM
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/llvm/cache.h"

extern char **environ;

typedef struct IndexRecord {
    uint64_t version;       /* 1 */
    uint64_t never;         /* 1: the plan needs the data (a graph without it plans otherwise) */
    BclJitCacheIds ids;     /* the entry, and its plan's signature */
} IndexRecord;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t hash_str(const char *s, uint64_t k) { return jit_hash(s ? s : "", s ? strlen(s) + 1 : 0, k); }

/* The graph as ir_print writes it (every op, attribute, shape, initialiser, parameter
 * name and source location) and the constants' values, hashed as they are, so two
 * builds hash alike only when they are the same model. */
static bool hash_graph(const IrGraph *g, uint64_t *k)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return false;
    ir_print_values(f, g, false);
    bool ok = !ferror(f);
    ok = !fclose(f) && ok;
    if (ok) *k = jit_hash(text, len, *k);
    free(text);
    for (int i = 0; ok && i < g->values.n; i++) {
        const IrValue *v = g->values.v[i];
        if (v->kind == IRV_CONST && v->data) *k = jit_hash(v->data, sizeof(float) * (size_t)shape_numel(&v->shape), *k);
    }
    return ok;
}

/* The index key, or false when the index does not apply to this compile (the caller
 * has found the cache directory). */
static bool index_key(const IrGraph *g, const BclModelOptions *o, const char *pipeline, const BclJitOptions *jo,
                      uint64_t pre[2])
{
    struct stat st;
    if (!o->weights || o->pass_opt.print_after || o->pass_opt.stats || jo->emit_llvm || jo->tune ||
        stat(o->weights, &st) || !S_ISREG(st.st_mode))
        return false;
    const char *te = getenv("BCL_JIT_TUNE");
    if (te && *te && strcmp(te, "0")) return false;   /* measures first: needs the data */
    uint64_t k = jit_hash("bclc-jit-index-1", 16, bcl_jit_build_id());
    if (!hash_graph(g, &k)) return false;
    int64_t file[7] = {(int64_t)st.st_dev, (int64_t)st.st_ino, (int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                       (int64_t)st.st_mtim.tv_nsec, (int64_t)st.st_ctim.tv_sec, (int64_t)st.st_ctim.tv_nsec};
    k = jit_hash(file, sizeof file, k);
    int64_t opts[8] = {o->non_strict, o->has_seed, (int64_t)o->seed, o->pass_opt.verify_each, jo->threads,
                       jo->profile, sysconf(_SC_NPROCESSORS_ONLN), 0};
    k = jit_hash(opts, sizeof opts, k);
    k = hash_str(o->strip_prefix, k);
    k = hash_str(pipeline, k);
    k = hash_str(jo->target_cpu, k);
    /* bclc's knobs (threads, target, the JIT's experiments) all start with BCL_ */
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "BCL_", 4)) k = hash_str(*e, k);
    pre[0] = k;
    pre[1] = jit_hash(&k, sizeof k, 0x2545F4914F6CDD1Dull);
    return true;
}

static bool read_record(const char *dir, const uint64_t pre[2], IndexRecord *r)
{
    JitCacheEntry e;
    if (!jit_cache_load(dir, (JitCacheKey){{pre[0], pre[1]}}, 1, NULL, &e)) return false;
    bool ok = e.len[0] == sizeof *r;
    if (ok) memcpy(r, e.blob[0], sizeof *r);
    jit_cache_close(&e);
    return ok && r->version == 1;
}

BclJit *bcl_jit_index_load(IrGraph **g, const BclModelOptions *o, const char *pipeline, const BclJitOptions *jo,
                           Arena *a, Diag *d, BclJitIndex *ix)
{
    memset(ix, 0, sizeof *ix);
    char dir[4096];
    IndexRecord r;
    if (!*g || !bcl_jit_cache_dir(jo, dir, sizeof dir) || !index_key(*g, o, pipeline, jo, ix->pre)) return NULL;
    ix->on = true;
    if (!read_record(dir, ix->pre, &r)) return NULL;
    if (r.never) {
        ix->never = true;
        return NULL;
    }
    /* the passes without data: their errors, if any, are the full pipeline's to report */
    double t0 = now_s();
    DiagCapture cap;
    diag_capture_begin(d, &cap);
    int rc = bcl_pipeline_passes(*g, o, pipeline, d);
    diag_capture_end(d, &cap, false);
    ix->passes_s = now_s() - t0;
    bool other_plan = false;
    BclJit *j = rc ? NULL : bcl_jit_load_cached(*g, jo, &r.ids, &other_plan);
    ix->engine_s = now_s() - t0 - ix->passes_s;
    if (j) return j;
    ix->other_plan = other_plan;
    memcpy(ix->old_sig, r.ids.sig, sizeof ix->old_sig);
    *g = bcl_pipeline_build(o, a, d);   /* the passes changed it: the full pipeline starts afresh */
    return NULL;
}

void bcl_jit_index_store(const BclJitIndex *ix, const BclJit *j, bool clean)
{
    char dir[4096];
    IndexRecord r = {.version = 1};
    if (!ix->on || ix->never || !j || !bcl_jit_cache_ids(j, &r.ids) || !jit_cache_dir(dir, sizeof dir))
        return;
    /* The record's plan was not the one planned without data, and planning with the
     * data gave it again: this model plans by its data (a pass folds parameters, say),
     * so the index would only cost time. Another signature means something else
     * changed since (the record is replaced). */
    r.never = !clean || (ix->other_plan && !memcmp(r.ids.sig, ix->old_sig, sizeof ix->old_sig));
    const void *blob[1] = {&r};
    size_t len[1] = {sizeof r};
    jit_cache_store(dir, (JitCacheKey){{ix->pre[0], ix->pre[1]}}, 1, blob, len, NULL);
}
#endif
