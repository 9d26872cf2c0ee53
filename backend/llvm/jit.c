/* The JIT engine: plan -> module (codegen.c) -> verify -> O3 for the host (with the
 * target machine, loop and SLP vectorisation) -> ORC LLJIT -> entry point; runs on
 * a persistent thread pool. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/pool.h"
#include "backend/llvm/jit.h"
#include "backend/llvm/jit_internal.h"

typedef void (*EntryFn)(void **slots, void *pool);

struct BclJit {
    LLVMOrcLLJITRef lljit;
    EntryFn entry;
    BclPool *pool;
    JitPlan plan;
    void **slots;   /* every buffer, by slot */
    void **ctx;     /* the steps' bindings, filled from slots before each run */
    int runs;       /* profiled runs */
    bool profile_stderr;   /* BCL_JIT_PROFILE: print the profile when freed */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

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

bool jit_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, Diag *d)
{
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(po, 0);
    LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
    LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tm, po);
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

BclJit *bcl_jit_compile(const IrGraph *g, const BclJitOptions *opt, Diag *d)
{
    BclJitOptions defaults = {0};
    if (!opt) opt = &defaults;
    BclJit *j = calloc(1, sizeof *j);
    if (!j) {
        diag_error(d, NO_LOC, "out of memory in the JIT");
        return NULL;
    }
    JitHost h;
    LLVMTargetMachineRef tm = NULL;
    LLVMOrcThreadSafeContextRef tsc = NULL;
    LLVMModuleRef m = NULL;
    double t0 = now_ms(), t_plan, t_gen, t_ver, t_opt, t_mc;
    const char *cpu = opt->target_cpu ? opt->target_cpu : getenv("BCL_JIT_TARGET_CPU");
    if (!jit_host_init_cpu(&h, cpu && *cpu ? cpu : NULL, d)) goto fail_nohost;
    if (!(tm = jit_host_machine(&h, d))) goto fail;
    if (!jit_plan_build(&j->plan, g, &h, d)) goto fail;
    const char *pe = getenv("BCL_JIT_PROFILE");
    j->plan.profile = opt->profile || (pe && *pe && strcmp(pe, "0") != 0);
    j->profile_stderr = pe && *pe && strcmp(pe, "0") != 0;
    t_plan = now_ms();
    tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextSetDiagnosticHandler(LLVMOrcThreadSafeContextGetContext(tsc), jit_quiet_diagnostics, NULL);
    m = jit_codegen(&j->plan, &h, LLVMOrcThreadSafeContextGetContext(tsc), tm, d);
    if (!m) goto fail;
    t_gen = now_ms();
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        diag_error(d, NO_LOC, "JIT: generated module does not verify: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        goto fail;
    }
    LLVMDisposeMessage(msg);
    t_ver = now_ms();
    if (!jit_optimize(m, tm, d)) goto fail;
    t_opt = now_ms();
    if (opt->emit_llvm) {
        char *s = LLVMPrintModuleToString(m);
        fputs(s, opt->emit_llvm);
        LLVMDisposeMessage(s);
    }
    if (!(j->lljit = make_lljit(&h, d))) goto fail;
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    m = NULL;   /* owned by tsm now */
    if (llvm_failed(LLVMOrcLLJITAddLLVMIRModule(j->lljit, LLVMOrcLLJITGetMainJITDylib(j->lljit), tsm), d,
                    "adding the module")) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        goto fail;
    }
    LLVMOrcJITTargetAddress addr = 0;
    if (llvm_failed(LLVMOrcLLJITLookup(j->lljit, &addr, JIT_ENTRY), d, "compiling to machine code")) goto fail;
    t_mc = now_ms();
    j->entry = (EntryFn)(uintptr_t)addr;
    j->pool = bcl_pool_new(opt->threads);
    j->slots = malloc(sizeof(void *) * (size_t)(j->plan.n_slots ? j->plan.n_slots : 1));
    j->ctx = malloc(sizeof(void *) * (size_t)(j->plan.n_ctx ? j->plan.n_ctx : 1));
    if (!j->pool || !j->slots || !j->ctx) {
        diag_error(d, NO_LOC, "out of memory in the JIT");
        goto fail;
    }
    memcpy(j->slots, j->plan.slot_init, sizeof(void *) * (size_t)j->plan.n_slots);
    if (opt->time_phases)
        fprintf(stderr,
                "jit: %d steps (%d functions), %.1f MiB packed weights, %.1f MiB activations, %d threads\n"
                "jit: plan %.1f ms, codegen %.1f ms, verify %.1f ms, optimize %.1f ms, machine code %.1f ms\n",
                j->plan.n_steps, n_fns(&j->plan), j->plan.bytes_packed / 1048576.0, j->plan.bytes_act / 1048576.0,
                bcl_pool_threads(j->pool), t_plan - t0, t_gen - t_plan, t_ver - t_gen, t_opt - t_ver,
                t_mc - t_opt);
    LLVMOrcDisposeThreadSafeContext(tsc);
    LLVMDisposeTargetMachine(tm);
    jit_host_free(&h);
    return j;
fail:
    jit_host_free(&h);
fail_nohost:
    if (m) LLVMDisposeModule(m);
    if (tsc) LLVMOrcDisposeThreadSafeContext(tsc);
    if (tm) LLVMDisposeTargetMachine(tm);
    bcl_jit_free(j);
    return NULL;
}

int bcl_jit_run(BclJit *j, const float *const *inputs, float *const *outputs, Diag *d)
{
    const JitPlan *pl = &j->plan;
    for (int i = 0; i < pl->n_inputs; i++) j->slots[pl->input_slot[i]] = (void *)inputs[i];
    for (int i = 0; i < pl->n_outputs; i++)
        if (pl->outs[i].direct) j->slots[pl->outs[i].slot] = outputs[i];
    for (int i = 0; i < pl->n_steps; i++) {
        const JitStep *s = &pl->steps[i];
        for (int k = 0; k < s->nbind; k++) j->ctx[s->ctx_off + k] = j->slots[s->bind[k]];
    }
    if (pl->profile) {
        bcl_pool_prof_start(j->pool, pl->n_steps);
        j->runs++;
    }
    j->entry(j->ctx, j->pool);
    for (int i = 0; i < pl->n_outputs; i++)
        if (!pl->outs[i].direct && pl->outs[i].numel > 0)
            memcpy(outputs[i], j->slots[pl->outs[i].slot], sizeof(float) * (size_t)pl->outs[i].numel);
    (void)d;
    return 0;
}

int bcl_jit_threads(const BclJit *j) { return bcl_pool_threads(j->pool); }

int bcl_jit_profile(const BclJit *j, BclJitStepTime *steps, int max_steps, int *runs)
{
    const double *t = j->plan.profile ? bcl_pool_prof(j->pool) : NULL;
    *runs = j->runs;
    if (!t) return 0;
    for (int i = 0; i < j->plan.n_steps && i < max_steps; i++) {
        const JitStep *s = &j->plan.steps[i];
        steps[i] = (BclJitStepTime){s->what ? s->what : "?", s->kernel, s->loc, s->scope, t[i]};
    }
    return j->plan.n_steps;
}

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
    free(j->slots);
    free(j->ctx);
    free(j);
}
