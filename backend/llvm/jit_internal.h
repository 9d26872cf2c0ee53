/* Internals shared by the JIT's files: the execution plan (plan.c) that codegen.c
 * turns into an LLVM module, the host target (target.c), and the engine (jit.c). */
#ifndef BCL_JIT_INTERNAL_H
#define BCL_JIT_INTERNAL_H
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* One parallel loop: kernel bcl_k_<kernel> over items [0, items) with table p.
 * The buffers a step uses are its binding: slot numbers bind[0..nbind), copied
 * before each run into ctx[ctx_off..] (the pointer the step gets as "slots"), and
 * p refers to them by position. So steps that differ only in their buffers have
 * equal tables and share one compiled function (same_as: the first such step). */
typedef struct JitStep {
    const char *kernel;
    int64_t *p;
    int np;
    int64_t items;
    int *bind;
    int nbind, ctx_off, same_as;
    const char *what;       /* the op it comes from, for BCL_JIT_PROFILE */
    SrcLoc loc;             /* the .bcl expression of that op (bclc bench --profile) */
    const char *scope;      /* the module path whose forward made the op (IrNode.scope), or NULL */
} JitStep;

/* How graph output i is produced: written in place into the caller's buffer
 * (direct), or copied from its slot after the run. */
typedef struct JitOut {
    int slot;
    bool direct;
    int64_t numel;
} JitOut;

/* A buffer the plan allocated: its size, and whether it holds constant data
 * (packed weights) rather than activations or scratch. */
typedef struct JitOwned {
    size_t bytes;
    bool is_const;
} JitOwned;

typedef struct JitPlan {
    int n_slots, cap_slots;
    int n_ctx;              /* binding entries of all steps */
    void **slot_init;       /* fixed buffers; inputs and direct outputs are set per run */
    void **owned;           /* buffers the plan allocated (freed with it) */
    JitOwned *owned_info;   /* owned[i]'s size and kind */
    int n_owned, cap_owned;
    JitStep *steps;
    int n_steps, cap_steps;
    int n_inputs;
    int *input_slot;
    int n_outputs;
    JitOut *outs;
    size_t bytes_packed, bytes_act;   /* for --time-phases */
    bool profile;           /* time every step (BCL_JIT_PROFILE) */
} JitPlan;

typedef struct JitHost {
    char *triple, *cpu, *features;   /* LLVM-owned strings (LLVMDisposeMessage) */
    bool vec512;                     /* AVX-512: 16-float vectors are native */
} JitHost;

/* plan.c: lowers g into steps; reports to d and returns false on failure. */
bool jit_plan_build(JitPlan *pl, const IrGraph *g, const JitHost *h, Diag *d);
void jit_plan_free(JitPlan *pl);

/* target.c */
bool jit_host_init(JitHost *h, Diag *d);
void jit_host_free(JitHost *h);
/* cpu: NULL or "native" (the host), or x86-64, x86-64-v2, -v3, -v4 (an unknown name
 * is an error). */
bool jit_host_init_cpu(JitHost *h, const char *cpu, Diag *d);
LLVMTargetMachineRef jit_host_machine(const JitHost *h, Diag *d);
/* pic: relocatable position-independent code (ahead-of-time objects). */
LLVMTargetMachineRef jit_machine(const JitHost *h, bool pic, Diag *d);
/* Gives fn the host CPU and features (and wide vectors) as attributes. */
void jit_host_fn_attrs(const JitHost *h, LLVMValueRef fn);

/* codegen.c: the kernel bitcode plus one function per step and the entry
 * void bcl_entry(void **slots, void *pool); NULL after reporting to d. */
LLVMModuleRef jit_codegen(const JitPlan *pl, const JitHost *h, LLVMContextRef ctx,
                          LLVMTargetMachineRef tm, Diag *d);

/* jit.c: the JIT's optimisation pipeline (O3, vectorisers, no generic unrolling),
 * shared with the ahead-of-time compiler (aot.c) so both produce the same code. */
bool jit_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, Diag *d);
/* jit.c: LLVM's warnings and remarks are dropped (a context diagnostic handler). */
void jit_quiet_diagnostics(LLVMDiagnosticInfoRef di, void *ctx);

#define JIT_ENTRY "bcl_entry"

#endif
