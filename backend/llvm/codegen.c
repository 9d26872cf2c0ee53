/* Plan -> LLVM module. The module starts as the embedded kernel bitcode (libjit);
 * every kernel becomes internal and always-inline, and each step gets a function
 *   void step_i(void **slots, i64 begin, i64 end) { bcl_k_K(slots, @tbl_i, begin, end); }
 * with its parameter table as an internal constant, so inlining plus constant
 * folding specialise the kernel to the node; steps with equal tables share it.
 * The entry runs the steps in order, each on its own buffer bindings (slots +
 * ctx_off), through bcl_rt_parallel_for (or directly when it has one item). */
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

/* Runs step function sf over its items: directly when there is one item, else on
 * the pool. */
static void emit_call(LLVMBuilderRef b, LLVMTypeRef step_ty, LLVMTypeRef pfor_ty, LLVMValueRef pfor,
                      LLVMValueRef sf, LLVMValueRef pool, LLVMValueRef ctx, int64_t items)
{
    LLVMTypeRef i64 = LLVMInt64TypeInContext(LLVMGetTypeContext(step_ty));
    if (items == 1)
        LLVMBuildCall2(b, step_ty, sf, (LLVMValueRef[]){ctx, LLVMConstInt(i64, 0, 0), LLVMConstInt(i64, 1, 0)}, 3, "");
    else
        LLVMBuildCall2(b, pfor_ty, pfor,
                       (LLVMValueRef[]){pool, sf, ctx, LLVMConstInt(i64, (unsigned long long)items, 0)}, 4, "");
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
    /* Part 0 holds the entry; the step functions are dealt out to the parts in turn
     * (external when there are several parts, so the entry links to them). */
    LLVMValueRef entry = part == 0 ? LLVMAddFunction(m, JIT_ENTRY, entry_ty) : NULL;
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(ctx), sb = LLVMCreateBuilderInContext(ctx);
    if (entry) {
        jit_host_fn_attrs(h, entry);
        LLVMPositionBuilderAtEnd(eb, LLVMAppendBasicBlockInContext(ctx, entry, "entry"));
    } else {   /* a throwaway block for the entry's instructions this part does not need */
        LLVMValueRef dummy = LLVMAddFunction(m, "bcl.unused", entry_ty);
        LLVMPositionBuilderAtEnd(eb, LLVMAppendBasicBlockInContext(ctx, dummy, "entry"));
    }
    LLVMValueRef ef = LLVMGetBasicBlockParent(LLVMGetInsertBlock(eb));
    LLVMValueRef slots = LLVMGetParam(ef, 0), pool = LLVMGetParam(ef, 1);
    int fn_no = 0;
    char name[64];
    unsigned noinline_kind = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMValueRef *fns = bcl_xcalloc((size_t)(pl->n_steps ? pl->n_steps : 1), sizeof *fns);
    for (int i = 0; i < pl->n_steps; i++) {
        const JitStep *s = &pl->steps[i];
        LLVMValueRef ctx_i = LLVMBuildGEP2(eb, ptr, slots, (LLVMValueRef[]){LLVMConstInt(i64, (unsigned long long)s->ctx_off, 0)}, 1, "");
        if (s->same_as != i) {   /* the same code as an earlier step, other buffers */
            emit_call(eb, step_ty, pfor_ty, pfor, fns[s->same_as], pool, ctx_i, s->items);
            if (prof) LLVMBuildCall2(eb, prof_ty, prof, (LLVMValueRef[]){pool, LLVMConstInt(i64, (unsigned)i, 0)}, 2, "");
            continue;
        }
        bool here = fn_no++ % n_parts == part;
        if (!here) {   /* defined by another part: a declaration (only part 0 calls it) */
            snprintf(name, sizeof name, "step%d.%s", i, s->kernel);
            fns[i] = LLVMAddFunction(m, name, step_ty);
            if (entry) emit_call(eb, step_ty, pfor_ty, pfor, fns[i], pool, ctx_i, s->items);
            if (entry && prof)
                LLVMBuildCall2(eb, prof_ty, prof, (LLVMValueRef[]){pool, LLVMConstInt(i64, (unsigned)i, 0)}, 2, "");
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
        LLVMBuildCall2(sb, kern_ty, kf,
                       (LLVMValueRef[]){LLVMGetParam(sf, 0), tbl, LLVMGetParam(sf, 1), LLVMGetParam(sf, 2)},
                       4, "");
        LLVMBuildRetVoid(sb);
        fns[i] = sf;
        emit_call(eb, step_ty, pfor_ty, pfor, sf, pool, ctx_i, s->items);
        if (prof) LLVMBuildCall2(eb, prof_ty, prof, (LLVMValueRef[]){pool, LLVMConstInt(i64, (unsigned)i, 0)}, 2, "");
    }
    free(fns);
    LLVMBuildRetVoid(eb);
    LLVMDisposeBuilder(eb);
    LLVMDisposeBuilder(sb);
    if (!entry) LLVMDeleteFunction(LLVMGetNamedFunction(m, "bcl.unused"));
    drop_unused(m);
    return m;
}
