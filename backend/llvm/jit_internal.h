/* Internals shared by the JIT's files: the execution plan (plan.c) that codegen.c
 * turns into an LLVM module, the host target (target.c), and the engine (jit.c). */
#ifndef BCL_JIT_INTERNAL_H
#define BCL_JIT_INTERNAL_H
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "runtime/pool.h"
#include "backend/llvm/jit.h"

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
    int node;               /* that op's node index in the graph lowered (-1: none) */
    uint64_t rt;            /* entries of p read at run time (kernels.h rt fields; 0 in p):
                             * from the plan's buffer at binding position 0, else 0 */
} JitStep;

/* How graph output i is produced: written in place into the caller's buffer
 * (direct), or copied from its slot after the run. */
typedef struct JitOut {
    int slot;
    bool direct;
    int64_t numel;
    bool whole;             /* a split plan's output after the cut: the whole batch, written
                               once by steps [split_step, n_steps) */
} JitOut;

/* A buffer the plan allocated: its size, and whether it holds constant data
 * (packed weights) rather than activations or scratch. */
typedef struct JitOwned {
    size_t bytes;
    bool is_const;
} JitOwned;

/* Weight packing is recorded while planning and done afterwards (jit_plan_pack, in
 * parallel), so an engine loaded from the on-disk cache skips it: the packed
 * buffers then come from the cache file. */
typedef enum JitPackKind { JIT_PACK_CONV16C, JIT_PACK_DW16C, JIT_PACK_LINEAR16, JIT_PACK_GEMM, JIT_PACK_WINO23,
                           JIT_PACK_WINO43 } JitPackKind;

typedef struct JitPack {
    JitPackKind kind;
    const float *w, *b;     /* graph data: weights (w_floats of them) and bias or NULL */
    int64_t w_floats, b_floats;
    int64_t a[5];           /* the packer's shape arguments, in runtime/pack.h order */
    int slot;               /* the slot the packed buffer goes into */
    float *out;             /* after jit_plan_pack: its floats, in the one buffer the plan owns for all packs */
    size_t n_floats;
} JitPack;

/* A step that checks data (take, gather): its kernel records a bad index in the int32[2]
 * buffer of `slot` (set, the index's float bits); bcl_jit_run clears it before a run and
 * reports it after, at the op's source line, as the interpreter does. */
typedef struct JitFault {
    int slot;
    const char *op;
    int64_t axis, dim;
    SrcLoc loc;
} JitFault;

/* The plan's memory, as bclc --print-memplan shows it (bcl_jit_memplan): per value id
 * of the graph the plan was lowered from, how it is held (MEMPLAN_*, ir/memplan.h),
 * its offset in the one arena (the only non-constant buffer the plan owns besides
 * fault words), its size; the scratch buffers (each a node's, alive during its steps
 * only) and their places; the arena's size. */
typedef struct JitMemPlan {
    int n_values;
    int64_t *offset, *size;     /* bytes; offset -1 when not in the arena */
    int *shares;                /* a view's input, else -1 */
    unsigned char *how;
    int n_scratch;
    int64_t *scratch_offset, *scratch_size;
    int *scratch_value;         /* the result of the node whose steps use it */
    int64_t peak, total;        /* the arena's bytes; the sum of node result sizes */
} JitMemPlan;

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
    JitPack *packs;         /* weight packing to do (jit_plan_pack) */
    int n_packs, cap_packs;
    JitFault *faults;       /* data checks to report after each run */
    int n_faults, cap_faults;
    size_t bytes_packed, bytes_act;   /* for --time-phases */
    bool profile;           /* time every step (BCL_JIT_PROFILE) */
    int64_t images;         /* 1, or N: the steps compute one image, run once per image
                               (sub-batching, plan.c); inputs and outputs advance by
                               input_numel[i] and outs[i].numel floats per image */
    int64_t *input_numel;
    /* Per-stage sub-batching (plan.c split_point): steps [0, split_step) run per image,
     * the rest once over the whole batch, reading the staging buffer (stage_numel
     * floats) that the first steps fill image by image: the lowered graph's last output
     * (per image) and its last input (whole). 0: no split. */
    int split_step;
    int64_t stage_numel;
    JitMemPlan mem;
} JitPlan;

typedef struct JitHost {
    char *triple, *cpu, *features;   /* LLVM-owned strings (LLVMDisposeMessage) */
    bool vec512;                     /* AVX-512: 16-float vectors are native */
} JitHost;

/* view.c: val read in place from base: element i of val (row-major index over d) is
 * base[off + sum i_k * st[k]]; base is val itself when no view op leads to it. */
typedef struct JitView {
    const IrValue *base;
    int64_t off;
    int rank;
    int64_t d[BCL_MAX_RANK], st[BCL_MAX_RANK];
} JitView;
bool jit_is_view_op(const IrNode *n);   /* reshape, transpose, slice without an epilogue */
void jit_view_of(const IrValue *val, JitView *v);

/* plan.c: lowers g into steps; reports to d and returns false on failure. Flags:
 * JIT_PLAN_SUB_BATCH, a graph whose images are independent may be lowered for one
 * image (pl->images); JIT_PLAN_DATALESS, leaves without data are no error (their
 * slots and the pack jobs' sources stay NULL: bcl_jit_load_cached fills them from the
 * cache). tune (NULL: the heuristics) answers the per-shape choices (tune.h). */
enum { JIT_PLAN_SUB_BATCH = 1, JIT_PLAN_DATALESS = 2 };
struct JitTune;
bool jit_plan_build(JitPlan *pl, const IrGraph *g, const JitHost *h, unsigned flags, struct JitTune *tune, Diag *d);
void jit_plan_free(JitPlan *pl);
/* Packs the weights of every recorded pack job, on pool's threads (pool may be
 * NULL), into buffers the plan owns, and points their slots at them. */
bool jit_plan_pack(JitPlan *pl, BclPool *pool, Diag *d);
/* Points pack job i's slot at bufs[i] (not owned: e.g. mapped from the cache). */
void jit_plan_use_packed(JitPlan *pl, float *const *bufs, const size_t *n_floats);

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

/* The same, split for compiling on several threads: part `part` of n_parts holds
 * every n_parts-th step function (from the part-th) and, in part 0, the entry. */
LLVMModuleRef jit_codegen_part(const JitPlan *pl, const JitHost *h, LLVMContextRef ctx, LLVMTargetMachineRef tm,
                               int part, int n_parts, Diag *d);

/* jit.c: the LLVM pass pipeline jit_optimize runs (BCL_JIT_LLVM_PASSES, else default<O2>). */
const char *jit_llvm_pipeline(void);
/* jit.c: the JIT's optimisation pipeline (that pipeline, vectorisers, no generic
 * unrolling), shared with the ahead-of-time compiler (aot.c) so both produce the same code. */
bool jit_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, Diag *d);
/* jit.c: LLVM's warnings and remarks are dropped (a context diagnostic handler). */
void jit_quiet_diagnostics(LLVMDiagnosticInfoRef di, void *ctx);

/* jit.c: the engine's step count (its profile's length). */
int jit_n_steps(const BclJit *j);

#define JIT_ENTRY "bcl_entry"
#define JIT_ENTRY_TAIL "bcl_entry_tail"   /* a split plan's steps [split_step, n_steps) */

#endif
