/* Plan -> LLVM module. The module starts as the embedded kernel bitcode (libjit);
 * every kernel becomes internal and always-inline, and each step gets a function
 *   void step_i(void **slots, i64 begin, i64 end) { bcl_k_K(slots, @tbl_i, begin, end); }
 * with its parameter table as an internal constant, so inlining plus constant
 * folding specialise the kernel to the node; steps with equal tables share it.
 * The entry runs the steps in order from a table, each on its own buffer bindings
 * (slots + ctx_off), through bcl_rt_parallel_for (or directly when it has one item). */
#include <llvm-c/BitReader.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/llvm/jit_internal.h"
#include "support/oom.h"

extern const unsigned char bcl_jit_bitcode[];
extern const size_t bcl_jit_bitcode_len;

static void mark_kernels(LLVMModuleRef m, const JitHost *h)
{
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    unsigned ai = LLVMGetEnumAttributeKindForName("alwaysinline", 12);
    unsigned ni = LLVMGetEnumAttributeKindForName("noinline", 8);
    unsigned on = LLVMGetEnumAttributeKindForName("optnone", 7);
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        if (LLVMIsDeclaration(f)) continue;
        jit_host_fn_attrs(h, f);
        LLVMRemoveEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, ni);
        LLVMRemoveEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, on);
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, ai, 0));
        LLVMSetLinkage(f, LLVMInternalLinkage);
    }
}

/* Deletes the kernels (and helpers) this graph does not call, so the optimiser
 * does not spend time on them. */
static void drop_unused(LLVMModuleRef m)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (LLVMValueRef f = LLVMGetFirstFunction(m), next; f; f = next) {
            next = LLVMGetNextFunction(f);
            if (LLVMGetLinkage(f) == LLVMInternalLinkage && !LLVMGetFirstUse(f)) {
                LLVMDeleteFunction(f);
                changed = true;
            }
        }
    }
}

/* The instructions of f and of every function it calls, each counted once (seen:
 * functions already counted, n_seen of them, room for cap). */
static long code_size(LLVMValueRef f, LLVMValueRef *seen, int *n_seen, int cap)
{
    if (!f || LLVMIsDeclaration(f)) return 0;
    for (int i = 0; i < *n_seen; i++)
        if (seen[i] == f) return 0;
    if (*n_seen < cap) seen[(*n_seen)++] = f;
    long n = 0;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
            n++;
            if (LLVMIsACallInst(in)) {
                LLVMValueRef callee = LLVMIsAFunction(LLVMGetCalledValue(in));
                if (callee) n += code_size(callee, seen, n_seen, cap);
            }
        }
    return n;
}

/* Deals the distinct step functions out to the parts by their kernels' size, the
 * largest first, each to the part with the least so far (the optimiser's and code
 * generator's time grows with it; in turn, the parts differed by a fifth). Every part
 * computes the same deal from the same bitcode. part_of[i] for each step i that has
 * its own function. */
static void deal_parts(const JitPlan *pl, LLVMModuleRef m, int n_parts, int *part_of)
{
    int n = pl->n_steps;
    /* one block (an allocation that fails jumps out: nothing else to free) */
    long *cost = bcl_xcalloc((size_t)(n ? n : 1) * 2 + (size_t)n_parts, sizeof *cost), *load = cost + (n ? n : 1);
    int *order = (int *)(load + n_parts);   /* n ints, in the room of n longs */
    LLVMValueRef seen[256];
    char name[64];
    int n_fn = 0;
    for (int i = 0; i < n; i++) {
        const JitStep *s = &pl->steps[i];
        if (s->same_as != i) continue;
        snprintf(name, sizeof name, "bcl_k_%s", s->kernel);
        int n_seen = 0;
        cost[i] = 1 + code_size(LLVMGetNamedFunction(m, name), seen, &n_seen, 256);
        order[n_fn++] = i;
    }
    /* insertion sort, largest first (ties: step order): a few hundred at most */
    for (int a = 1; a < n_fn; a++)
        for (int b = a; b > 0 && cost[order[b]] > cost[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1], order[b - 1] = t;
        }
    for (int k = 0; k < n_fn; k++) {
        int best = 0;
        for (int p = 1; p < n_parts; p++)
            if (load[p] < load[best]) best = p;
        part_of[order[k]] = best;
        load[best] += cost[order[k]];
    }
    free(cost);
}

/* The entry walks a constant table of (step function, binding offset, items), so
 * its size, and the optimiser's time on it, do not grow with the graph:
 *   for (i = 0; i < n; i++) { items == 1 ? fn(ctx + off, 0, 1)
 *                                        : bcl_rt_parallel_for(pool, fn, ctx + off, items);
 *                             [bcl_rt_prof_mark(pool, i)] } */
static void dispose_builder(void *b) { LLVMDisposeBuilder(b); }

static void emit_entry(const JitPlan *pl, const JitHost *h, LLVMContextRef ctx, LLVMModuleRef m, LLVMValueRef entry,
                       int first, int n, LLVMValueRef *fns, LLVMTypeRef step_ty, LLVMTypeRef pfor_ty,
                       LLVMValueRef pfor, LLVMTypeRef prof_ty, LLVMValueRef prof)
{
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef rec = LLVMStructTypeInContext(ctx, (LLVMTypeRef[]){ptr, i64, i64}, 3, 0);
    LLVMValueRef *recs = bcl_xcalloc((size_t)(n ? n : 1), sizeof *recs);
    BclOomGuard g_recs;   /* freed if LLVM's fatal error handler jumps (support/oom.h) */
    bcl_oom_guard(&g_recs, bcl_oom_free_ptr, &recs);
    for (int i = 0; i < n; i++) {
        const JitStep *s = &pl->steps[first + i];
        recs[i] = LLVMConstNamedStruct(rec, (LLVMValueRef[]){fns[s->same_as], LLVMConstInt(i64, (unsigned long long)s->ctx_off, 0),
                                                            LLVMConstInt(i64, (unsigned long long)s->items, 0)}, 3);
    }
    LLVMTypeRef aty = LLVMArrayType2(rec, (uint64_t)n);
    LLVMValueRef tab = LLVMAddGlobal(m, aty, "bcl.steps");
    LLVMSetInitializer(tab, LLVMConstArray2(rec, recs, (uint64_t)n));
    LLVMSetGlobalConstant(tab, 1);
    LLVMSetLinkage(tab, LLVMInternalLinkage);
    bcl_oom_unguard(&g_recs);
    free(recs);
    jit_host_fn_attrs(h, entry);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMBasicBlockRef bb0 = LLVMAppendBasicBlockInContext(ctx, entry, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(ctx, entry, "step");
    LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(ctx, entry, "one");
    LLVMBasicBlockRef many = LLVMAppendBasicBlockInContext(ctx, entry, "many");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(ctx, entry, "next");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, entry, "done");
    LLVMValueRef slots = LLVMGetParam(entry, 0), pool = LLVMGetParam(entry, 1);
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0), c1 = LLVMConstInt(i64, 1, 0);
    LLVMPositionBuilderAtEnd(b, bb0);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, LLVMConstInt(i64, (unsigned long long)n, 0), zero, ""), done, loop);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMValueRef fld[3];
    for (unsigned k = 0; k < 3; k++) {
        LLVMValueRef at = LLVMBuildGEP2(b, aty, tab, (LLVMValueRef[]){zero, i, LLVMConstInt(LLVMInt32TypeInContext(ctx), k, 0)}, 3, "");
        fld[k] = LLVMBuildLoad2(b, k ? i64 : ptr, at, "");
    }
    LLVMValueRef ctx_i = LLVMBuildGEP2(b, ptr, slots, &fld[1], 1, "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, fld[2], c1, ""), one, many);
    LLVMPositionBuilderAtEnd(b, one);
    LLVMBuildCall2(b, step_ty, fld[0], (LLVMValueRef[]){ctx_i, zero, c1}, 3, "");
    LLVMBuildBr(b, next);
    LLVMPositionBuilderAtEnd(b, many);
    LLVMBuildCall2(b, pfor_ty, pfor, (LLVMValueRef[]){pool, fld[0], ctx_i, fld[2]}, 4, "");
    LLVMBuildBr(b, next);
    LLVMPositionBuilderAtEnd(b, next);
    if (prof)   /* the profile counts steps over the whole plan */
        LLVMBuildCall2(b, prof_ty, prof, (LLVMValueRef[]){pool, LLVMBuildAdd(b, i, LLVMConstInt(i64, (unsigned long long)first, 0), "")}, 2, "");
    LLVMValueRef i1 = LLVMBuildAdd(b, i, c1, "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntULT, i1, LLVMConstInt(i64, (unsigned long long)n, 0), ""), loop, done);
    LLVMAddIncoming(i, (LLVMValueRef[]){zero, i1}, (LLVMBasicBlockRef[]){bb0, next}, 2);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

/* A shared step's table (JitStep.rt): a copy on the stack of the constant table with
 * the rt entries loaded from the step's run-time values (binding 0); once the kernel is
 * inlined, the constant entries still fold and only the rt ones stay loads. */
static LLVMValueRef mixed_table(LLVMBuilderRef b, LLVMContextRef ctx, const JitStep *s, LLVMTypeRef tty,
                                LLVMValueRef tbl, LLVMValueRef slots)
{
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef t = LLVMBuildAlloca(b, tty, "kp");
    LLVMBuildStore(b, LLVMBuildLoad2(b, tty, tbl, ""), t);
    LLVMValueRef vals = LLVMBuildLoad2(b, ptr, slots, "rt");
    for (int k = 0; k < s->np && k < 64; k++) {
        if (!(s->rt >> k & 1)) continue;
        LLVMValueRef at = LLVMConstInt(i64, (unsigned long long)k, 0);
        LLVMValueRef v = LLVMBuildLoad2(b, i64, LLVMBuildGEP2(b, i64, vals, &at, 1, ""), "");
        LLVMBuildStore(b, v, LLVMBuildGEP2(b, i64, t, &at, 1, ""));
    }
    return t;
}

LLVMModuleRef jit_codegen(const JitPlan *pl, const JitHost *h, LLVMContextRef ctx,
                          LLVMTargetMachineRef tm, Diag *d)
{
    return jit_codegen_part(pl, h, ctx, tm, 0, 1, d);
}

LLVMModuleRef jit_codegen_part(const JitPlan *pl, const JitHost *h, LLVMContextRef ctx, LLVMTargetMachineRef tm,
                               int part, int n_parts, Diag *d)
{
    LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRange(
        (const char *)bcl_jit_bitcode, bcl_jit_bitcode_len, "libjit.bc", 0);
    LLVMModuleRef m = NULL;
    bool bad = LLVMParseBitcodeInContext2(ctx, mb, &m);
    LLVMDisposeMemoryBuffer(mb);
    if (bad) {
        diag_error(d, NO_LOC, "the JIT's embedded kernel bitcode does not load (LLVM version mismatch?)");
        return NULL;
    }
    LLVMSetTarget(m, h->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *dl = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(m, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(td);
    mark_kernels(m, h);

    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef vd = LLVMVoidTypeInContext(ctx);
    LLVMTypeRef step_ty = LLVMFunctionType(vd, (LLVMTypeRef[]){ptr, i64, i64}, 3, 0);
    LLVMTypeRef kern_ty = LLVMFunctionType(vd, (LLVMTypeRef[]){ptr, ptr, i64, i64}, 4, 0);
    LLVMTypeRef pfor_ty = LLVMFunctionType(vd, (LLVMTypeRef[]){ptr, ptr, ptr, i64}, 4, 0);
    LLVMTypeRef entry_ty = LLVMFunctionType(vd, (LLVMTypeRef[]){ptr, ptr}, 2, 0);
    LLVMValueRef pfor = LLVMAddFunction(m, "bcl_rt_parallel_for", pfor_ty);
    LLVMTypeRef prof_ty = LLVMFunctionType(vd, (LLVMTypeRef[]){ptr, i64}, 2, 0);
    LLVMValueRef prof = pl->profile ? LLVMAddFunction(m, "bcl_rt_prof_mark", prof_ty) : NULL;
    /* Part 0 holds the entry; the step functions are dealt out to the parts by size
     * (external when there are several parts, so the entry links to them). */
    LLVMValueRef entry = part == 0 ? LLVMAddFunction(m, JIT_ENTRY, entry_ty) : NULL;
    LLVMValueRef tail = part == 0 && pl->split_step > 0 ? LLVMAddFunction(m, JIT_ENTRY_TAIL, entry_ty) : NULL;
    char name[64];
    unsigned noinline_kind = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMValueRef *fns = bcl_xcalloc((size_t)(pl->n_steps ? pl->n_steps : 1), sizeof *fns);
    /* freed if an allocation below fails (support/oom.h); the module goes with the
     * context, the builder is the caller's to release */
    BclOomGuard g_fns, g_sb, g_part;
    bcl_oom_guard(&g_fns, bcl_oom_free_ptr, &fns);
    int *part_of = bcl_xcalloc((size_t)(pl->n_steps ? pl->n_steps : 1), sizeof *part_of);
    bcl_oom_guard(&g_part, bcl_oom_free_ptr, &part_of);
    if (n_parts > 1) deal_parts(pl, m, n_parts, part_of);
    LLVMBuilderRef sb = LLVMCreateBuilderInContext(ctx);
    bcl_oom_guard(&g_sb, dispose_builder, sb);
    for (int i = 0; i < pl->n_steps; i++) {
        const JitStep *s = &pl->steps[i];
        if (s->same_as != i) continue;   /* the same code as an earlier step, other buffers */
        bool here = part_of[i] == part;
        if (!here) {   /* defined by another part: a declaration (only part 0 refers to it) */
            if (entry) {
                snprintf(name, sizeof name, "step%d.%s", i, s->kernel);
                fns[i] = LLVMAddFunction(m, name, step_ty);
            }
            continue;
        }
        snprintf(name, sizeof name, "bcl_k_%s", s->kernel);
        LLVMValueRef kf = LLVMGetNamedFunction(m, name);
        BCL_ASSERT(kf != NULL);   /* every kernel the planner names is in libjit */
        LLVMValueRef vals[128];
        BCL_ASSERT(s->np <= 128);
        for (int k = 0; k < s->np; k++) vals[k] = LLVMConstInt(i64, (unsigned long long)s->p[k], 1);
        LLVMTypeRef tty = LLVMArrayType2(i64, (uint64_t)s->np);
        snprintf(name, sizeof name, "tbl%d.%s", i, s->kernel);
        LLVMValueRef tbl = LLVMAddGlobal(m, tty, name);
        LLVMSetInitializer(tbl, LLVMConstArray2(i64, vals, (uint64_t)s->np));
        LLVMSetGlobalConstant(tbl, 1);
        LLVMSetLinkage(tbl, LLVMInternalLinkage);
        LLVMSetUnnamedAddress(tbl, LLVMGlobalUnnamedAddr);
        snprintf(name, sizeof name, "step%d.%s", i, s->kernel);
        LLVMValueRef sf = LLVMAddFunction(m, name, step_ty);
        if (n_parts == 1) LLVMSetLinkage(sf, LLVMInternalLinkage);
        jit_host_fn_attrs(h, sf);
        /* the kernel is inlined into its step, the steps are not inlined into the entry:
         * one function of every step would make the optimiser's time grow much faster
         * than the graph (2,000 steps took 5 minutes) */
        LLVMAddAttributeAtIndex(sf, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, noinline_kind, 0));
        LLVMPositionBuilderAtEnd(sb, LLVMAppendBasicBlockInContext(ctx, sf, "entry"));
        LLVMValueRef kp = s->rt ? mixed_table(sb, ctx, s, tty, tbl, LLVMGetParam(sf, 0)) : tbl;
        LLVMBuildCall2(sb, kern_ty, kf,
                       (LLVMValueRef[]){LLVMGetParam(sf, 0), kp, LLVMGetParam(sf, 1), LLVMGetParam(sf, 2)},
                       4, "");
        LLVMBuildRetVoid(sb);
        fns[i] = sf;
    }
    int head_n = pl->split_step > 0 ? pl->split_step : pl->n_steps;
    if (entry) emit_entry(pl, h, ctx, m, entry, 0, head_n, fns, step_ty, pfor_ty, pfor, prof_ty, prof);
    if (tail) emit_entry(pl, h, ctx, m, tail, head_n, pl->n_steps - head_n, fns, step_ty, pfor_ty, pfor, prof_ty, prof);
    bcl_oom_unguard(&g_sb);
    bcl_oom_unguard(&g_part);
    bcl_oom_unguard(&g_fns);
    free(part_of);
    free(fns);
    LLVMDisposeBuilder(sb);
    drop_unused(m);
    return m;
}
