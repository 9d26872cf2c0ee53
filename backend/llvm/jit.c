/* The JIT engine: plan -> module (codegen.c) -> verify -> O3 for the host (with the
 * target machine, loop and SLP vectorisation) -> ORC LLJIT -> entry point; runs on
 * a persistent thread pool. */
#define _GNU_SOURCE   /* dladdr, open_memstream */
#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/foreign_call.h"
#include "support/oom.h"
#include "runtime/pack.h"
#include "runtime/pool.h"
#include "backend/llvm/jit.h"
#include "backend/llvm/cache.h"
#include "backend/llvm/jit_internal.h"
#include "backend/llvm/tune.h"

extern const unsigned char bcl_jit_bitcode[];
extern const size_t bcl_jit_bitcode_len;

#define P_KEY2 0x5851F42D4C957F2Dull

typedef void (*EntryFn)(void **slots, void *pool);

struct BclJit {
    LLVMOrcLLJITRef lljit;
    EntryFn entry;
    EntryFn tail;   /* a split plan's batch steps (plan.split_step) */
    float *stage;   /* and the buffer its per-image steps fill for them (plan.stage_numel) */
    const float **split_ins;   /* a run's inputs and outputs, then the stage (bcl_jit_run) */
    float **split_outs;
    BclPool *pool;
    JitPlan plan;
    void **slots;   /* every buffer, by slot */
    void **ctx;     /* the steps' bindings, filled from slots before each run */
    int runs;       /* profiled runs */
    bool profile_stderr;   /* BCL_JIT_PROFILE: print the profile when freed */
    JitCacheEntry cached;   /* mapped cache entry (packed weights used in place) */
    bool from_cache;
    bool keyed;             /* ids name the entry stored or loaded */
    BclJitCacheIds ids;
    /* Sub-batching with images in parallel (plan.images > 1, at least as many images as
     * threads): one image per thread at a time, each in its own set of activation and
     * scratch buffers. Set 0 is slots/ctx; sets 1.. n_sets-1 live in set_slots/set_ctx
     * (n_slots and n_ctx entries each) and own the buffers in set_bufs. */
    int n_sets, n_set_bufs;
    void **set_slots, **set_ctx, **set_bufs;
    unsigned set_busy;      /* bit s: a thread runs an image in set s */
};

/* Milliseconds on clock c: wall (monotonic), the whole process's CPU (every thread,
 * for --time-phases on a busy machine) or one thread's. */
static double clock_ms(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* this thread's CPU time (a compile part's) */
static double thread_cpu_ms(void) { return clock_ms(CLOCK_THREAD_CPUTIME_ID); }

/* Reports an LLVM error (and consumes it); returns true if there was one. */
static bool llvm_failed(LLVMErrorRef e, Diag *d, const char *what)
{
    if (!e) return false;
    char *msg = LLVMGetErrorMessage(e);
    diag_error(d, NO_LOC, "JIT: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return true;
}

/* LLVM's own warnings and remarks (e.g. an unroll pragma it could not honour on a
 * remainder loop) are not the user's business; errors surface as failures. */
void jit_quiet_diagnostics(LLVMDiagnosticInfoRef di, void *ctx)
{
    (void)di;
    (void)ctx;
}

/* LLVM's pipeline for the specialised kernels: O2. O3 spent a fifth more time (ResNet-50's
 * two parts 1.36-1.56 s of CPU, 1.19-1.27 with O2) for code no faster on the zoo (the same
 * model compiled both ways in one process, runs interleaved: within +-5% either way,
 * as much as two O3 builds differ); O1 lost 3-5% on ResNet-18 and VGG-11.
 * BCL_JIT_LLVM_PASSES overrides it (an experiment's knob; part of the cache key). */
const char *jit_llvm_pipeline(void)
{
    const char *p = getenv("BCL_JIT_LLVM_PASSES");
    return p && *p ? p : "default<O2>";
}

bool jit_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, Diag *d)
{
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(po, 0);
    LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
    LLVMErrorRef e = LLVMRunPasses(m, jit_llvm_pipeline(), tm, po);
    LLVMDisposePassBuilderOptions(po);
    return !llvm_failed(e, d, "optimisation");
}

/* The LLJIT for the host, with the runtime's entry points and the process's
 * symbols (libm, memcpy) visible to the compiled code. */
static LLVMOrcLLJITRef make_lljit(const JitHost *h, Diag *d)
{
    LLVMTargetMachineRef tm = jit_host_machine(h, d);
    if (!tm) return NULL;
    LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    LLVMOrcLLJITRef j;
    if (llvm_failed(LLVMOrcCreateLLJIT(&j, b), d, "creating the LLJIT")) return NULL;
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(j);
    LLVMOrcDefinitionGeneratorRef gen;
    if (llvm_failed(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j),
                                                                          NULL, NULL),
                    d, "process symbols")) {
        LLVMOrcDisposeLLJIT(j);
        return NULL;
    }
    LLVMOrcJITDylibAddGenerator(jd, gen);
    LLVMJITSymbolFlags fl = {LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable, 0};
    LLVMOrcCSymbolMapPair sym[2] = {
        {LLVMOrcLLJITMangleAndIntern(j, "bcl_rt_parallel_for"), {(LLVMOrcJITTargetAddress)(uintptr_t)&bcl_rt_parallel_for, fl}},
        {LLVMOrcLLJITMangleAndIntern(j, "bcl_rt_prof_mark"), {(LLVMOrcJITTargetAddress)(uintptr_t)&bcl_rt_prof_mark, fl}},
    };
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(sym, 2);
    if (llvm_failed(LLVMOrcJITDylibDefine(jd, mu), d, "runtime symbols")) {
        LLVMOrcDisposeMaterializationUnit(mu);
        LLVMOrcDisposeLLJIT(j);
        return NULL;
    }
    return j;
}

static int n_fns(const JitPlan *pl)
{
    int n = 0;
    for (int i = 0; i < pl->n_steps; i++) n += pl->steps[i].same_as == i;
    return n;
}

/* One part of the module, compiled on a thread of its own: codegen, verify, O3,
 * machine code into an object file in memory. */
typedef struct Part {
    const JitPlan *pl;
    const JitHost *h;
    int part, n_parts;
    FILE *emit_llvm;
    char *obj;
    size_t obj_len;
    char err[512];
    double ms, cpu;         /* wall and this thread's CPU time */
    double cpu_ir, cpu_opt; /* of which building the module, and optimising it */
    /* what the thread holds while it compiles, here so that an out-of-memory jump
     * back to compile_part can release it */
    LLVMContextRef ctx;
    LLVMTargetMachineRef tm;
    LLVMModuleRef mod;
    FILE *dout;
    char *dbuf;
    size_t dlen;
} Part;

static void compile_part_body(Part *P)
{
    double c0 = thread_cpu_ms();
    Diag d;   /* diagnostics of this thread, into memory (the caller reports them) */
    P->dout = open_memstream(&P->dbuf, &P->dlen);
    diag_init(&d, P->dout ? P->dout : stderr);
    P->ctx = LLVMContextCreate();
    LLVMContextSetDiagnosticHandler(P->ctx, jit_quiet_diagnostics, NULL);
    P->tm = jit_host_machine(P->h, &d);
    P->mod = P->tm ? jit_codegen_part(P->pl, P->h, P->ctx, P->tm, P->part, P->n_parts, &d) : NULL;
    LLVMModuleRef m = P->mod;
    char *msg = NULL;
    double c1 = thread_cpu_ms();
    P->cpu_ir = c1 - c0;
    if (m && LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        snprintf(P->err, sizeof P->err, "generated module does not verify: %s", msg ? msg : "?");
    } else if (m && jit_optimize(m, P->tm, &d)) {
        P->cpu_opt = thread_cpu_ms() - c1;
        if (P->emit_llvm) {
            char *s = LLVMPrintModuleToString(m);
            fputs(s, P->emit_llvm);
            LLVMDisposeMessage(s);
        }
        LLVMMemoryBufferRef mb = NULL;
        char *err = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(P->tm, m, LLVMObjectFile, &err, &mb)) {
            snprintf(P->err, sizeof P->err, "machine code: %s", err ? err : "?");
        } else {
            P->obj_len = LLVMGetBufferSize(mb);
            P->obj = bcl_malloc(P->obj_len ? P->obj_len : 1);
            if (P->obj) memcpy(P->obj, LLVMGetBufferStart(mb), P->obj_len);
            else snprintf(P->err, sizeof P->err, "out of memory");
            LLVMDisposeMemoryBuffer(mb);
        }
        LLVMDisposeMessage(err);
    }
    LLVMDisposeMessage(msg);
}

static void *compile_part(void *arg)
{
    Part *P = arg;
    double t0 = now_ms();
    double c0 = thread_cpu_ms();
    /* this thread's own scope (scopes are per thread): an allocation that fails in
     * codegen, or LLVM's fatal error handler, comes back here as an error */
    BclOomScope sc;
    if (BCL_OOM_CATCH(sc)) {
        snprintf(P->err, sizeof P->err, "out of memory (%s)", sc.what);
        free(P->obj);
        P->obj = NULL;
    } else {
        compile_part_body(P);
        bcl_oom_pop(&sc);
    }
    if (P->dout) fclose(P->dout);
    if (!P->obj && !P->err[0]) {   /* the failure was reported to d */
        const char *msg1 = P->dbuf && *P->dbuf ? P->dbuf : "compiling failed";
        const char *tag = strstr(msg1, "error: ");
        const char *m = tag ? tag + 7 : msg1;
        if (!strncmp(m, "JIT: ", 5)) m += 5;   /* compile_finish says "JIT: " once */
        snprintf(P->err, sizeof P->err, "%s", m);
        P->err[strcspn(P->err, "\n")] = 0;
    }
    free(P->dbuf);
    if (P->mod) LLVMDisposeModule(P->mod);
    if (P->tm) LLVMDisposeTargetMachine(P->tm);
    if (P->ctx) LLVMContextDispose(P->ctx);
    P->dout = NULL, P->dbuf = NULL, P->mod = NULL, P->tm = NULL, P->ctx = NULL;
    P->ms = now_ms() - t0;
    P->cpu = thread_cpu_ms() - c0;
    return NULL;
}

/* The plan compiling into n_parts object files on as many threads, while the caller
 * does other work (packs the weights): compile_start, then compile_finish. */
typedef struct Compiling {
    Part *parts;
    int n_parts;
    pthread_t *th;
    bool *started;
} Compiling;

static void compile_start(Compiling *c, const JitPlan *pl, const JitHost *h, FILE *emit_llvm)
{
    c->th = bcl_calloc((size_t)c->n_parts, sizeof *c->th);
    c->started = bcl_calloc((size_t)c->n_parts, sizeof *c->started);
    for (int i = 0; i < c->n_parts; i++) {
        c->parts[i] = (Part){.pl = pl, .h = h, .part = i, .n_parts = c->n_parts, .emit_llvm = emit_llvm};
        if (c->th && c->started) c->started[i] = !pthread_create(&c->th[i], NULL, compile_part, &c->parts[i]);
    }
}

/* Waits for the parts (compiling here any that got no thread); false after an error. */
static bool compile_finish(Compiling *c, Diag *d)
{
    for (int i = 0; i < c->n_parts; i++) {
        if (c->started && c->started[i]) pthread_join(c->th[i], NULL);
        else compile_part(&c->parts[i]);
    }
    free(c->th);
    free(c->started);
    c->th = NULL, c->started = NULL;
    for (int i = 0; i < c->n_parts; i++)
        if (c->parts[i].err[0]) {
            diag_error(d, NO_LOC, "JIT: %s", c->parts[i].err);
            return false;
        }
    return true;
}

/* The bclc binary itself (path, size, time) and the kernels' bitcode stand for the
 * compiler's own code: a rebuilt bclc never reuses entries of an older one. */
uint64_t bcl_jit_build_id(void)
{
    uint64_t k = jit_hash("bclc-jit-cache-2", 16, 0);
    Dl_info di;
    struct stat st;
    if (dladdr((void *)&bcl_jit_compile, &di) && di.dli_fname && !stat(di.dli_fname, &st)) {
        int64_t id[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
        k = jit_hash(di.dli_fname, strlen(di.dli_fname), k);
        k = jit_hash(id, sizeof id, k);
    }
    return jit_hash(bcl_jit_bitcode, bcl_jit_bitcode_len, k);
}

/* The leaves (parameters, constants) the steps read in place, not packed: their slots,
 * ascending. The cache entry holds their data too, so an engine loaded for a graph
 * whose parameters have no data (bcl_jit_load_cached) has all it reads. */
static int *direct_leaves(const JitPlan *pl, const IrGraph *g, int *n_out)
{
    int nv = g->values.n, n = 0;
    bool *read = bcl_calloc((size_t)nv + 1, 1);
    int *leaf = bcl_malloc(sizeof(int) * ((size_t)nv + 1));
    if (!read || !leaf) {
        free(read), free(leaf);
        return NULL;
    }
    for (int i = 0; i < pl->n_steps; i++)
        for (int b = 0; b < pl->steps[i].nbind; b++)
            if (pl->steps[i].bind[b] >= 0 && pl->steps[i].bind[b] < nv) read[pl->steps[i].bind[b]] = true;
    for (int i = 0; i < pl->n_outputs; i++)
        if (pl->outs[i].slot >= 0 && pl->outs[i].slot < nv) read[pl->outs[i].slot] = true;
    for (int i = 0; i < nv; i++) {
        IrValueKind k = ((const IrValue *)g->values.v[i])->kind;
        if (read[i] && (k == IRV_PARAM || k == IRV_CONST)) leaf[n++] = i;
    }
    free(read);
    *n_out = n;
    return leaf;
}

static size_t pad16(size_t n) { return (n + 15) / 16 * 16; }   /* 64-byte steps, as packed weights */

static size_t leaf_floats(const IrGraph *g, int slot)
{
    return (size_t)shape_numel(&((const IrValue *)g->values.v[slot])->shape);
}

/* The plan's signature: everything the compiled code depends on (the compiler, the
 * target, the steps and their bindings) and what it reads (the packing jobs, the
 * leaves read in place: kinds and sizes, not data). */
static BclJitCacheIds plan_sig(const JitPlan *pl, const JitHost *h, const IrGraph *g, const int *leaf, int n_leaf)
{
    uint64_t k = bcl_jit_build_id();
    const char *hs[4] = {h->triple, h->cpu, h->features, jit_llvm_pipeline()};
    for (int i = 0; i < 4; i++) k = jit_hash(hs[i], strlen(hs[i]), k);
    int64_t flags[4] = {h->vec512, pl->profile, pl->split_step, pl->n_slots};
    k = jit_hash(flags, sizeof flags, k);
    for (int i = 0; i < pl->n_steps; i++) {
        const JitStep *s = &pl->steps[i];
        int64_t hd[6] = {s->np, s->items, s->nbind, s->ctx_off, s->same_as, (int64_t)s->rt};
        k = jit_hash(s->kernel, strlen(s->kernel), k);
        k = jit_hash(hd, sizeof hd, k);
        k = jit_hash(s->p, sizeof(int64_t) * (size_t)s->np, k);
        k = jit_hash(s->bind, sizeof(int) * (size_t)s->nbind, k);
    }
    for (int i = 0; i < pl->n_packs; i++) {
        const JitPack *q = &pl->packs[i];
        int64_t hd[9] = {q->kind, q->w_floats, q->b_floats, q->a[0], q->a[1], q->a[2], q->a[3], q->a[4], q->slot};
        k = jit_hash(hd, sizeof hd, k);
    }
    for (int i = 0; i < n_leaf; i++) {
        int64_t hd[2] = {leaf[i], (int64_t)leaf_floats(g, leaf[i])};
        k = jit_hash(hd, sizeof hd, k);
    }
    return (BclJitCacheIds){.sig = {k, jit_hash(&k, sizeof k, P_KEY2)}};
}

/* The entry's key: the signature and every byte the plan reads (the packing jobs'
 * weights and the direct leaves, hashed on the pool's threads). */
static bool data_key(BclJitCacheIds *ids, const JitPlan *pl, const IrGraph *g, const int *leaf, int n_leaf,
                     BclPool *pool)
{
    int nb = 2 * pl->n_packs + n_leaf;
    const void **data = bcl_calloc((size_t)(nb ? nb : 1), sizeof *data);
    uint64_t *len = bcl_calloc((size_t)(nb ? nb : 1), sizeof *len), wh = 0;
    bool ok = data && len;
    for (int i = 0; ok && i < pl->n_packs; i++) {
        const JitPack *q = &pl->packs[i];
        data[2 * i] = q->w, len[2 * i] = sizeof(float) * (uint64_t)q->w_floats;
        data[2 * i + 1] = q->b, len[2 * i + 1] = q->b ? sizeof(float) * (uint64_t)q->b_floats : 0;
    }
    for (int i = 0; ok && i < n_leaf; i++)
        data[2 * pl->n_packs + i] = pl->slot_init[leaf[i]], len[2 * pl->n_packs + i] = sizeof(float) * leaf_floats(g, leaf[i]);
    ok = ok && jit_hash_blobs(nb, data, len, pool, &wh);
    free(data);
    free(len);
    uint64_t k = jit_hash(ids->sig, sizeof ids->sig, wh);
    ids->key[0] = k, ids->key[1] = jit_hash(&k, sizeof k, wh ^ P_KEY2);
    return ok;
}

/* The buffer sets for images in parallel (see BclJit): copies of every activation and
 * scratch buffer the plan owns (the arena and fault words; packed weights and graph
 * data are shared). A slot pointing into an owned buffer points at the same offset
 * in the copy. */
static bool make_sets(BclJit *j)
{
    const JitPlan *pl = &j->plan;
    int T = bcl_pool_threads(j->pool);
    j->n_sets = 1;
    if (pl->images < 2 || T < 2 || pl->images < T || pl->profile) return true;
    if (T > 32) T = 32;
    size_t ns = (size_t)(pl->n_slots ? pl->n_slots : 1), nc = (size_t)(pl->n_ctx ? pl->n_ctx : 1);
    j->set_slots = bcl_malloc(sizeof(void *) * ns * (size_t)(T - 1));
    j->set_ctx = bcl_malloc(sizeof(void *) * nc * (size_t)(T - 1));
    j->set_bufs = bcl_calloc((size_t)(T - 1) * (size_t)pl->n_owned + 1, sizeof(void *));
    if (!j->set_slots || !j->set_ctx || !j->set_bufs) return false;
    for (int s = 1; s < T; s++) {
        void **sl = j->set_slots + (size_t)(s - 1) * ns;
        memcpy(sl, j->slots, sizeof(void *) * (size_t)pl->n_slots);
        for (int i = 0; i < pl->n_owned; i++) {
            if (pl->owned_info[i].is_const) continue;
            float *b = bcl_alloc_floats((pl->owned_info[i].bytes + sizeof(float) - 1) / sizeof(float));
            if (!b) return false;
            j->set_bufs[j->n_set_bufs++] = b;
            const char *o = pl->owned[i];
            size_t bytes = pl->owned_info[i].bytes ? pl->owned_info[i].bytes : 1;
            for (int k = 0; k < pl->n_slots; k++) {
                const char *p = j->slots[k];
                if (p >= o && p < o + bytes) sl[k] = (char *)b + (p - o);
            }
        }
    }
    j->n_sets = T;
    return true;
}

static void **set_slots(BclJit *j, int s)
{
    return s ? j->set_slots + (size_t)(s - 1) * (size_t)(j->plan.n_slots ? j->plan.n_slots : 1) : j->slots;
}

static void **set_ctx(BclJit *j, int s)
{
    return s ? j->set_ctx + (size_t)(s - 1) * (size_t)(j->plan.n_ctx ? j->plan.n_ctx : 1) : j->ctx;
}

/* Points the inputs and direct outputs of set s at image n and binds every step. */
static void bind_image(BclJit *j, int s, int64_t n, const float *const *inputs, float *const *outputs)
{
    const JitPlan *pl = &j->plan;
    void **slots = set_slots(j, s), **ctx = set_ctx(j, s);
    for (int i = 0; i < pl->n_inputs; i++)
        slots[pl->input_slot[i]] = (void *)(inputs[i] + (n ? n * pl->input_numel[i] : 0));
    for (int i = 0; i < pl->n_outputs; i++)
        if (pl->outs[i].direct) slots[pl->outs[i].slot] = outputs[i] + (pl->outs[i].whole ? 0 : n * pl->outs[i].numel);
    for (int i = 0; i < pl->n_steps; i++) {
        const JitStep *st = &pl->steps[i];
        for (int k = 0; k < st->nbind; k++) ctx[st->ctx_off + k] = slots[st->bind[k]];
    }
}

/* Copies the outputs that are not written in place out of set s, image n. */
/* Copies out the results the steps left in the plan's buffers: image n's (whole:
 * after a split plan's batch steps, the whole batch's). */
static void finish_image(BclJit *j, int s, int64_t n, float *const *outputs, bool whole)
{
    const JitPlan *pl = &j->plan;
    void **slots = set_slots(j, s);
    for (int i = 0; i < pl->n_outputs; i++)
        if (!pl->outs[i].direct && pl->outs[i].numel > 0 && pl->outs[i].whole == whole)
            memcpy(outputs[i] + (whole ? 0 : n * pl->outs[i].numel), slots[pl->outs[i].slot],
                   sizeof(float) * (size_t)pl->outs[i].numel);
}

typedef struct ImageRun {
    BclJit *j;
    const float *const *in;
    float *const *out;
} ImageRun;

/* A pool task over images: each runs single-threaded in a free buffer set (at most
 * as many tasks run at once as there are threads, so one is always free). */
BCL_CALLS_FOREIGN_CODE static void image_task(void **arg, int64_t begin, int64_t end)
{
    ImageRun *r = (ImageRun *)(void *)arg;
    BclJit *j = r->j;
    unsigned busy = __atomic_load_n(&j->set_busy, __ATOMIC_RELAXED);
    int s;
    for (;;) {
        s = __builtin_ctz(~busy);
        BCL_ASSERT(s < j->n_sets);
        if (__atomic_compare_exchange_n(&j->set_busy, &busy, busy | 1u << s, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
    }
    for (int64_t n = begin; n < end; n++) {
        bind_image(j, s, n, r->in, r->out);
        j->entry(set_ctx(j, s), NULL);
        finish_image(j, s, n, r->out, false);
    }
    __atomic_fetch_and(&j->set_busy, ~(1u << s), __ATOMIC_RELEASE);
}

bool bcl_jit_cache_dir(const BclJitOptions *opt, char *dir, size_t cap)
{
    const char *nc = getenv("BCL_NO_CACHE");
    return opt->cache && !opt->emit_llvm && !(nc && *nc && strcmp(nc, "0")) && jit_cache_dir(dir, cap);
}

BclJit *bcl_jit_compile(const IrGraph *g, const BclJitOptions *opt, Diag *d)
{
    BclJitOptions defaults = {0};
    if (!opt) opt = &defaults;
    JitTune tune = {.round = -1};
    char dir[4096];
    bool cached = bcl_jit_cache_dir(opt, dir, sizeof dir);
    if (cached) jit_tune_load(&tune, dir);
    const char *te = getenv("BCL_JIT_TUNE");   /* 1: as --tune (C API users) */
    bool measure = opt->tune || (te && *te && strcmp(te, "0"));
    if (measure) {
        jit_tune_measure(g, opt, &tune, d);
        if (cached) jit_tune_store(&tune, dir);
    }
    BclJit *j = jit_compile_tuned(g, opt, &tune, NULL, d);
    jit_tune_free(&tune);
    return j;
}

BclJit *bcl_jit_load_cached(const IrGraph *g, const BclJitOptions *opt, const BclJitCacheIds *ids, bool *other_plan)
{
    *other_plan = false;
    BclJitOptions defaults = {0};
    if (!opt) opt = &defaults;
    JitTune tune = {.round = -1};
    char dir[4096];
    if (opt->tune || !bcl_jit_cache_dir(opt, dir, sizeof dir)) return NULL;
    JitExpect expect = {*ids, false};
    jit_tune_load(&tune, dir);
    /* every failure here means "compile instead": nothing is reported */
    char *text = NULL;
    size_t text_len = 0;
    FILE *sink = open_memstream(&text, &text_len);
    BclJit *j = NULL;
    if (sink) {
        Diag quiet;
        diag_init(&quiet, sink);
        j = jit_compile_tuned(g, opt, &tune, &expect, &quiet);
        fclose(sink);
    }
    *other_plan = expect.other_plan;
    free(text);
    jit_tune_free(&tune);
    return j;
}

bool bcl_jit_cache_ids(const BclJit *j, BclJitCacheIds *ids)
{
    if (j->keyed) *ids = j->ids;
    return j->keyed;
}

BclJit *jit_compile_tuned(const IrGraph *g, const BclJitOptions *opt, JitTune *tune, JitExpect *expect, Diag *d)
{
    BclJit *j = bcl_calloc(1, sizeof *j);
    if (!j) {
        diag_error(d, NO_LOC, "out of memory in the JIT");
        return NULL;
    }
    JitHost h;
    Part *parts = NULL;
    int n_parts = 0;
    const void **blob = NULL;
    size_t *blen = NULL;
    const char **objs = NULL;
    size_t *obj_lens = NULL;
    int *leaf = NULL, n_leaf = 0;
    double c0 = cpu_ms(), t0 = now_ms(), t_plan, t_key = 0, t_pack, t_mc, t_link;
    const char *cpu = opt->target_cpu ? opt->target_cpu : getenv("BCL_JIT_TARGET_CPU");
    if (!jit_host_init_cpu(&h, cpu && *cpu ? cpu : NULL, d)) goto fail_nohost;
    const char *pe = getenv("BCL_JIT_PROFILE");
    j->pool = bcl_pool_new(opt->threads);
    if (tune) jit_tune_init(tune, h.cpu, h.features, bcl_pool_threads(j->pool));
    if (!jit_plan_build(&j->plan, g, &h, JIT_PLAN_SUB_BATCH | (expect ? JIT_PLAN_DATALESS : 0), tune, d)) goto fail;
    j->plan.profile = opt->profile || (pe && *pe && strcmp(pe, "0") != 0);
    j->profile_stderr = pe && *pe && strcmp(pe, "0") != 0;
    j->slots = bcl_malloc(sizeof(void *) * (size_t)(j->plan.n_slots ? j->plan.n_slots : 1));
    j->ctx = bcl_malloc(sizeof(void *) * (size_t)(j->plan.n_ctx ? j->plan.n_ctx : 1));
    if (!j->pool || !j->slots || !j->ctx) {
        diag_error(d, NO_LOC, "out of memory in the JIT");
        goto fail;
    }
    t_plan = now_ms();

    const JitPlan *pl = &j->plan;
    char dir[4096];
    bool use_cache = bcl_jit_cache_dir(opt, dir, sizeof dir);
    if (use_cache && !(leaf = direct_leaves(pl, g, &n_leaf))) use_cache = false;
    if (use_cache) {
        j->ids = plan_sig(pl, &h, g, leaf, n_leaf);
        if (expect) {
            j->keyed = !memcmp(j->ids.sig, expect->ids.sig, sizeof j->ids.sig);
            expect->other_plan = !j->keyed;
            memcpy(j->ids.key, expect->ids.key, sizeof j->ids.key);
        } else {
            j->keyed = data_key(&j->ids, pl, g, leaf, n_leaf, j->pool);
        }
        use_cache = j->keyed;
        t_key = now_ms();
    }
    /* blobs: the object files (count, lengths, bytes), one per pack job, the direct leaves */
    JitCacheKey key = {{j->ids.key[0], j->ids.key[1]}};
    if (use_cache && jit_cache_load(dir, key, 2 + pl->n_packs, j->pool, &j->cached)) {
        const JitCacheEntry *e = &j->cached;
        uint64_t nobj;
        memcpy(&nobj, e->blob[0], 8);
        bool ok = e->len[0] >= 8 + 8 * nobj && nobj > 0 && nobj < 1024;
        float **bufs = bcl_calloc((size_t)pl->n_packs + 1, sizeof *bufs);
        size_t *nf = bcl_calloc((size_t)pl->n_packs + 1, sizeof *nf);
        objs = bcl_calloc(nobj + 1, sizeof *objs);
        obj_lens = bcl_calloc(nobj + 1, sizeof *obj_lens);
        ok = ok && bufs && nf && objs && obj_lens;
        size_t off = 8 + 8 * nobj;
        for (uint64_t i = 0; ok && i < nobj; i++) {
            uint64_t l;
            memcpy(&l, e->blob[0] + 8 + 8 * i, 8);
            ok = l <= e->len[0] - off;
            objs[i] = e->blob[0] + off, obj_lens[i] = l, off += l;
        }
        for (int i = 0; ok && i < pl->n_packs; i++) bufs[i] = (float *)e->blob[1 + i], nf[i] = e->len[1 + i] / 4;
        uint64_t leaves_len = 0;
        for (int i = 0; i < n_leaf; i++) leaves_len += sizeof(float) * pad16(leaf_floats(g, leaf[i]));
        ok = ok && e->len[1 + pl->n_packs] == leaves_len;
        if (ok) {
            jit_plan_use_packed(&j->plan, bufs, nf);
            float *at = (float *)e->blob[1 + pl->n_packs];
            for (int i = 0; i < n_leaf; i++) j->plan.slot_init[leaf[i]] = at, at += pad16(leaf_floats(g, leaf[i]));
            n_parts = (int)nobj;
            j->from_cache = true;
        } else {   /* consistent checksum but nonsense inside: rebuild */
            jit_cache_close(&j->cached);
            free(objs), free(obj_lens);
            objs = NULL, obj_lens = NULL;
        }
        free(bufs);
        free(nf);
    }
    if (expect && !j->from_cache) goto fail;   /* no entry, or another plan: the caller compiles */
    double t_start = now_ms();
    t_pack = t_start;
    if (!j->from_cache) {
        /* the module in parts, one per core (a part should hold a few functions),
         * compiled on threads of their own while this one packs the weights */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_parts = opt->emit_llvm ? 1 : (int)(cores < 1 ? 1 : cores > 8 ? 8 : cores);
        if (n_parts > n_fns(pl) / 2) n_parts = n_fns(pl) / 2 > 0 ? n_fns(pl) / 2 : 1;
        if (!(parts = bcl_calloc((size_t)n_parts, sizeof *parts))) {
            diag_error(d, NO_LOC, "out of memory in the JIT");
            goto fail;
        }
        Compiling c = {.parts = parts, .n_parts = n_parts};
        compile_start(&c, pl, &h, opt->emit_llvm);
        bool packed = jit_plan_pack(&j->plan, j->pool, d);
        t_pack = now_ms();
        if (!compile_finish(&c, d) || !packed) goto fail;
        objs = bcl_calloc((size_t)n_parts, sizeof *objs);
        obj_lens = bcl_calloc((size_t)n_parts, sizeof *obj_lens);
        if (!objs || !obj_lens) {
            diag_error(d, NO_LOC, "out of memory in the JIT");
            goto fail;
        }
        for (int i = 0; i < n_parts; i++) objs[i] = parts[i].obj, obj_lens[i] = parts[i].obj_len;
    }
    t_mc = now_ms();
    if (!(j->lljit = make_lljit(&h, d))) goto fail;
    for (int i = 0; i < n_parts; i++) {
        LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRangeCopy(objs[i], obj_lens[i], "bcl_jit_part");
        if (llvm_failed(LLVMOrcLLJITAddObjectFile(j->lljit, LLVMOrcLLJITGetMainJITDylib(j->lljit), mb), d,
                        "adding the code"))
            goto fail;
    }
    LLVMOrcJITTargetAddress addr = 0;
    if (llvm_failed(LLVMOrcLLJITLookup(j->lljit, &addr, JIT_ENTRY), d, "linking the code")) goto fail;
    j->entry = (EntryFn)(uintptr_t)addr;
    if (pl->split_step > 0) {
        if (llvm_failed(LLVMOrcLLJITLookup(j->lljit, &addr, JIT_ENTRY_TAIL), d, "linking the code")) goto fail;
        j->tail = (EntryFn)(uintptr_t)addr;
        j->split_ins = bcl_calloc((size_t)pl->n_inputs, sizeof *j->split_ins);
        j->split_outs = bcl_calloc((size_t)pl->n_outputs, sizeof *j->split_outs);
        if (!(j->stage = bcl_alloc_floats((size_t)pl->stage_numel)) || !j->split_ins || !j->split_outs) {
            diag_error(d, NO_LOC, "out of memory in the JIT");
            goto fail;
        }
    }
    t_link = now_ms();
    if (use_cache && !j->from_cache) {   /* store: the objects as one blob, then the packed weights */
        size_t ob = 8 + 8 * (size_t)n_parts;
        for (int i = 0; i < n_parts; i++) ob += obj_lens[i];
        char *ocat = bcl_malloc(ob);
        size_t lb = 0;
        for (int i = 0; i < n_leaf; i++) lb += sizeof(float) * pad16(leaf_floats(g, leaf[i]));
        float *lcat = bcl_calloc(lb ? lb : 1, 1);
        blob = bcl_calloc((size_t)pl->n_packs + 2, sizeof *blob);
        blen = bcl_calloc((size_t)pl->n_packs + 2, sizeof *blen);
        if (ocat && lcat && blob && blen) {
            uint64_t no = (uint64_t)n_parts;
            memcpy(ocat, &no, 8);
            size_t off = 8 + 8 * (size_t)n_parts;
            for (int i = 0; i < n_parts; i++) {
                uint64_t l = obj_lens[i];
                memcpy(ocat + 8 + 8 * i, &l, 8);
                memcpy(ocat + off, objs[i], obj_lens[i]);
                off += obj_lens[i];
            }
            blob[0] = ocat, blen[0] = ob;
            for (int i = 0; i < pl->n_packs; i++)
                blob[1 + i] = pl->packs[i].out, blen[1 + i] = pl->packs[i].n_floats * sizeof(float);
            float *at = lcat;
            for (int i = 0; i < n_leaf; i++) {
                memcpy(at, pl->slot_init[leaf[i]], sizeof(float) * leaf_floats(g, leaf[i]));
                at += pad16(leaf_floats(g, leaf[i]));
            }
            blob[1 + pl->n_packs] = lcat, blen[1 + pl->n_packs] = lb;
            jit_cache_store(dir, key, 2 + pl->n_packs, blob, blen, j->pool);
        }
        free(ocat);
        free(lcat);
    }
    double t_store = now_ms();
    memcpy(j->slots, j->plan.slot_init, sizeof(void *) * (size_t)j->plan.n_slots);
    if (!make_sets(j)) {
        diag_error(d, NO_LOC, "out of memory in the JIT");
        goto fail;
    }
    if (opt->time_phases) {
        double comp = 0;
        for (int i = 0; parts && i < n_parts; i++) comp += parts[i].ms;
        fprintf(stderr,
                "jit: %d steps (%d functions), %.1f MiB packed weights, %.1f MiB activations, %d threads\n"
                "jit: plan %.1f ms, cache key %.1f ms, %s %.1f ms, %s %.1f ms (%d parts, %.1f ms summed over them), link %.1f ms",
                pl->n_steps, n_fns(pl), pl->bytes_packed / 1048576.0, pl->bytes_act / 1048576.0,
                bcl_pool_threads(j->pool), t_plan - t0, t_key ? t_key - t_plan : 0.0,
                j->from_cache ? "cache load" : "pack (while compiling)",
                j->from_cache ? t_start - (t_key ? t_key : t_plan) : t_pack - t_start,
                j->from_cache ? "codegen (cached)" : "codegen+optimize+machine code", t_mc - t_start, n_parts, comp,
                t_link - t_mc);
        if (use_cache && !j->from_cache) fprintf(stderr, ", cache store %.1f ms", t_store - t_link);
        fprintf(stderr, "\njit: engine %.1f ms wall, %.1f ms CPU (all threads)", t_store - t0, cpu_ms() - c0);
        for (int i = 0; parts && i < n_parts; i++)
            fprintf(stderr, "%s%.1f (module %.1f, optimise %.1f, machine code %.1f)", i ? ", " : "; parts' CPU ms: ",
                    parts[i].cpu, parts[i].cpu_ir, parts[i].cpu_opt, parts[i].cpu - parts[i].cpu_ir - parts[i].cpu_opt);
        fprintf(stderr, "\n");
        if (tune && tune->used)
            fprintf(stderr, "jit: %d lowering choice%s from the tuning table (--tune)\n", tune->used,
                    tune->used == 1 ? "" : "s");
        if (pl->images > 1 && pl->split_step > 0)
            fprintf(stderr, "jit: steps 0-%d lowered for one image, run for each of the batch's %lld (%d at once, one "
                    "thread each); steps %d-%d for the whole batch, run once\n", pl->split_step - 1,
                    (long long)pl->images, j->n_sets, pl->split_step, pl->n_steps - 1);
        else if (pl->images > 1)
            fprintf(stderr, "jit: steps lowered for one image, run for each of the batch's %lld (%d at once, one thread each)\n",
                    (long long)pl->images, j->n_sets);
    }
    if (!j->from_cache)
        for (int i = 0; i < n_parts; i++) free(parts[i].obj);
    free(parts);
    free(objs);
    free(obj_lens);
    free(blob);
    free(blen);
    free(leaf);
    jit_host_free(&h);
    return j;
fail:
    jit_host_free(&h);
fail_nohost:
    if (parts && !j->from_cache)
        for (int i = 0; i < n_parts; i++) free(parts[i].obj);
    free(parts);
    free(objs);
    free(obj_lens);
    free(blob);
    free(blen);
    free(leaf);
    bcl_jit_free(j);
    return NULL;
}

BCL_CALLS_FOREIGN_CODE int bcl_jit_run(BclJit *j, const float *const *inputs, float *const *outputs, Diag *d)
{
    const JitPlan *pl = &j->plan;
    for (int s = 0; s < j->n_sets; s++)
        for (int i = 0; i < pl->n_faults; i++) memset(set_slots(j, s)[pl->faults[i].slot], 0, 2 * sizeof(int32_t));
    if (pl->profile) {
        bcl_pool_prof_start(j->pool, pl->n_steps);
        j->runs++;
    }
    /* a split plan: its graph's inputs and outputs, then the staging buffer (the last
     * input, bound whole; the last output, image by image) */
    const float *const *ins = inputs;
    float *const *outs = outputs;
    if (j->tail) {
        memcpy(j->split_ins, inputs, sizeof *j->split_ins * (size_t)(pl->n_inputs - 1));
        memcpy(j->split_outs, outputs, sizeof *j->split_outs * (size_t)(pl->n_outputs - 1));
        j->split_ins[pl->n_inputs - 1] = j->stage;
        j->split_outs[pl->n_outputs - 1] = j->stage;
        ins = j->split_ins, outs = j->split_outs;
    }
    if (j->n_sets > 1) {   /* images in parallel, one thread each */
        ImageRun r = {j, ins, outs};
        bcl_rt_parallel_for(j->pool, image_task, (void **)(void *)&r, pl->images);
    } else {
        for (int64_t n = 0; n < pl->images; n++) {
            bind_image(j, 0, n, ins, outs);
            j->entry(j->ctx, j->pool);
            finish_image(j, 0, n, outs, false);
        }
    }
    if (j->tail) {   /* the batch steps, over the staged batch, on the pool */
        bind_image(j, 0, 0, ins, outs);
        j->tail(j->ctx, j->pool);
        finish_image(j, 0, 0, outs, true);
    }
    int rc = 0;
    for (int i = 0; i < pl->n_faults; i++) {
        const JitFault *f = &pl->faults[i];
        const int32_t *w = NULL;
        for (int s = 0; s < j->n_sets && !w; s++)
            if (((const int32_t *)set_slots(j, s)[f->slot])[0]) w = set_slots(j, s)[f->slot];
        if (!w) continue;
        float v;
        memcpy(&v, &w[1], sizeof v);
        /* the interpreter's words (kern_fault_str) */
        if (v == v && v >= -(float)f->dim && v < (float)f->dim)
            diag_error(d, f->loc, "%s: index %.9g is not a whole number", f->op, (double)v);
        else
            diag_error(d, f->loc, "%s: index %.9g is out of range for axis %lld of size %lld", f->op, (double)v,
                       (long long)f->axis, (long long)f->dim);
        rc = 1;
    }
    return rc;
}

int bcl_jit_threads(const BclJit *j) { return bcl_pool_threads(j->pool); }

int64_t bcl_jit_images(const BclJit *j) { return j->plan.images; }

int bcl_jit_split_step(const BclJit *j) { return j->plan.split_step; }

int bcl_jit_image_sets(const BclJit *j) { return j->n_sets; }

MemPlan *bcl_jit_memplan(const BclJit *j, Arena *a)
{
    const JitMemPlan *m = &j->plan.mem;
    int nv = m->n_values;
    size_t n = (size_t)(nv ? nv : 1);
    MemPlan *p = ARENA_NEW(a, MemPlan);
    p->n_values = nv;
    p->offset = ARENA_NEWN(a, int64_t, n);
    p->size = ARENA_NEWN(a, int64_t, n);
    p->shares = ARENA_NEWN(a, int, n);
    p->how = ARENA_NEWN(a, unsigned char, n);
    memcpy(p->offset, m->offset, sizeof(int64_t) * (size_t)nv);
    memcpy(p->size, m->size, sizeof(int64_t) * (size_t)nv);
    memcpy(p->shares, m->shares, sizeof(int) * (size_t)nv);
    memcpy(p->how, m->how, (size_t)nv);
    p->peak = m->peak;
    p->total = m->total;
    p->engine = "jit";
    int ns = m->n_scratch;
    p->n_scratch = ns;
    p->scratch_offset = ARENA_NEWN(a, int64_t, ns ? ns : 1);
    p->scratch_size = ARENA_NEWN(a, int64_t, ns ? ns : 1);
    p->scratch_value = ARENA_NEWN(a, int, ns ? ns : 1);
    memcpy(p->scratch_offset, m->scratch_offset, sizeof(int64_t) * (size_t)ns);
    memcpy(p->scratch_size, m->scratch_size, sizeof(int64_t) * (size_t)ns);
    memcpy(p->scratch_value, m->scratch_value, sizeof(int) * (size_t)ns);
    p->images = j->plan.images;
    p->sets = j->n_sets;
    p->batch_from = j->plan.split_step > 0 ? j->plan.steps[j->plan.split_step].node : 0;
    return p;
}

int bcl_jit_profile(const BclJit *j, BclJitStepTime *steps, int max_steps, int *runs)
{
    const double *t = j->plan.profile ? bcl_pool_prof(j->pool) : NULL;
    *runs = j->runs;
    if (!t) return 0;
    for (int i = 0; i < j->plan.n_steps && i < max_steps; i++) {
        const JitStep *s = &j->plan.steps[i];
        steps[i] = (BclJitStepTime){s->what ? s->what : "?", s->kernel, s->loc, s->scope, s->node, t[i]};
    }
    return j->plan.n_steps;
}

int bcl_jit_from_cache(const BclJit *j) { return j->from_cache; }

int jit_n_steps(const BclJit *j) { return j->plan.n_steps; }

/* BCL_JIT_PROFILE: the time of every step, averaged over the runs, to stderr. */
static void print_profile(const BclJit *j)
{
    const double *t = bcl_pool_prof(j->pool);
    if (!t || !j->runs) return;
    double total = 0;
    for (int i = 0; i < j->plan.n_steps; i++) total += t[i];
    fprintf(stderr, "jit profile: %d runs, %.3f ms per run\n", j->runs, total * 1e3 / j->runs);
    for (int i = 0; i < j->plan.n_steps; i++) {
        const JitStep *s = &j->plan.steps[i];
        fprintf(stderr, "  step %3d %-12s %-10s %8lld items %9.3f ms %5.1f%%\n", i, s->what ? s->what : "?",
                s->kernel, (long long)s->items, t[i] * 1e3 / j->runs, total > 0 ? 100 * t[i] / total : 0);
    }
}

void bcl_jit_free(BclJit *j)
{
    if (!j) return;
    if (j->profile_stderr) print_profile(j);
    if (j->lljit) LLVMOrcDisposeLLJIT(j->lljit);
    bcl_pool_free(j->pool);
    jit_plan_free(&j->plan);
    jit_cache_close(&j->cached);
    free(j->stage);
    free(j->split_ins);
    free(j->split_outs);
    free(j->slots);
    free(j->ctx);
    for (int i = 0; i < j->n_set_bufs; i++) free(j->set_bufs[i]);
    free(j->set_bufs);
    free(j->set_slots);
    free(j->set_ctx);
    free(j);
}
