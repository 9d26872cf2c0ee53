/* bclc compile: the JIT's plan and module (codegen.c, jit_optimize) for a target
 * CPU, then the object-file specifics added after optimisation, so the kernels'
 * code is the JIT's: every constant buffer the steps bind (weights, packed
 * weights) becomes an internal 64-byte aligned constant, every activation and
 * scratch buffer an offset into one workspace, and a BclrtModel descriptor plus
 * PREFIX_create/run/destroy (calling runtime/model.c) are exported. */
#include "backend/llvm/aot.h"
#include "support/oom.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"
#include "backend/llvm/jit_internal.h"

static bool has_data(const IrValue *v) { return (v->kind == IRV_PARAM || v->kind == IRV_CONST) && v->data; }

/* A constant region: an owned packed buffer or a graph value's data, and its global
 * (created when first bound). */
typedef struct Region {
    const char *base;
    size_t bytes;
    LLVMValueRef global;
    int64_t blob_off;    /* external weights: offset in the blob's data, or -1 */
} Region;

typedef struct Aot {
    const JitPlan *pl;
    LLVMModuleRef m;
    LLVMContextRef c;
    Region *regs;
    int n_regs;
    int64_t *ws_off;     /* per owned buffer: workspace offset (activations) or -1 */
    int64_t weights;
    bool external;       /* weights go to a blob instead of globals */
    Diag *d;
} Aot;

/* The constant pointer for p inside region r: the region's global plus an offset. */
static LLVMValueRef const_ptr(Aot *A, Region *r, const char *p)
{
    LLVMTypeRef i8 = LLVMInt8TypeInContext(A->c), i64 = LLVMInt64TypeInContext(A->c);
    if (A->external) {
        /* the blob offset travels as a pointer-sized integer (model.c adds the base) */
        if (r->blob_off < 0) {
            r->blob_off = (A->weights + 63) / 64 * 64;
            A->weights = r->blob_off + (int64_t)r->bytes;
        }
        LLVMValueRef off = LLVMConstInt(i64, (unsigned long long)(r->blob_off + (p - r->base)), 0);
        return LLVMConstIntToPtr(off, LLVMPointerTypeInContext(A->c, 0));
    }
    if (!r->global) {
        char name[32];
        snprintf(name, sizeof name, "bcl.w%d", (int)(r - A->regs));
        LLVMValueRef init = LLVMConstStringInContext2(A->c, r->base, r->bytes, 1);
        r->global = LLVMAddGlobal(A->m, LLVMTypeOf(init), name);
        LLVMSetInitializer(r->global, init);
        LLVMSetGlobalConstant(r->global, 1);
        LLVMSetLinkage(r->global, LLVMInternalLinkage);
        LLVMSetAlignment(r->global, 64);   /* the kernels' aligned vector loads */
        A->weights += (int64_t)r->bytes;
    }
    LLVMValueRef off = LLVMConstInt(i64, (unsigned long long)(p - r->base), 0);
    return p == r->base ? r->global : LLVMConstInBoundsGEP2(i8, r->global, &off, 1);
}

/* Where slot s's buffer lives: *off a workspace offset or BCLRT_*, *cp the constant. */
static bool locate(Aot *A, int s, int64_t *off, LLVMValueRef *cp)
{
    const JitPlan *pl = A->pl;
    *cp = NULL;
    if (s == pl->input_slot[0]) return *off = BCLRT_INPUT, true;
    if (s == pl->outs[0].slot && pl->outs[0].direct) return *off = BCLRT_OUTPUT, true;
    const char *p = pl->slot_init[s];
    if (!p) return false;
    for (int i = 0; i < pl->n_owned; i++) {
        const char *b = pl->owned[i];
        if (p < b || p >= b + (pl->owned_info[i].bytes ? pl->owned_info[i].bytes : 1)) continue;
        if (!pl->owned_info[i].is_const) return *off = A->ws_off[i] + (p - b), true;
        break;
    }
    for (int i = 0; i < A->n_regs; i++) {
        Region *r = &A->regs[i];
        if (p >= r->base && p < r->base + (r->bytes ? r->bytes : 1)) {
            *cp = const_ptr(A, r, p);
            return *off = A->external ? BCLRT_BLOB : BCLRT_CONST, true;
        }
    }
    return false;
}

static LLVMValueRef const_array(Aot *A, LLVMTypeRef elt, LLVMValueRef *v, int n, const char *name)
{
    LLVMValueRef init = LLVMConstArray2(elt, v, (uint64_t)n);
    LLVMValueRef g = LLVMAddGlobal(A->m, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMInternalLinkage);
    return g;
}

/* PREFIX_suffix calling the runtime function rt with its own arguments, after the
 * model descriptor when desc is set (PREFIX_create, PREFIX_create_from_file). */
static void forward(Aot *A, const char *prefix, const char *suffix, const char *rt, LLVMTypeRef fty,
                    LLVMValueRef desc, const JitHost *h)
{
    LLVMTypeRef ptr = LLVMPointerTypeInContext(A->c, 0);
    LLVMTypeRef rty = LLVMGetReturnType(fty);
    LLVMTypeRef ps[4];
    unsigned np = LLVMCountParamTypes(fty), k = 0;
    if (desc) ps[k++] = ptr;
    LLVMGetParamTypes(fty, ps + k);
    LLVMTypeRef cty = LLVMFunctionType(rty, ps, k + np, 0);
    char name[256];
    snprintf(name, sizeof name, "%s_%s", prefix, suffix);
    LLVMValueRef f = LLVMAddFunction(A->m, name, fty);
    LLVMValueRef callee = LLVMAddFunction(A->m, rt, cty);
    jit_host_fn_attrs(h, f);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(A->c);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(A->c, f, "entry"));
    LLVMValueRef args[4];
    if (desc) args[0] = desc;
    for (unsigned i = 0; i < np; i++) args[k + i] = LLVMGetParam(f, i);
    LLVMValueRef r = LLVMBuildCall2(b, cty, callee, args, k + np, "");
    if (LLVMGetTypeKind(rty) == LLVMVoidTypeKind) LLVMBuildRetVoid(b);
    else LLVMBuildRet(b, r);
    LLVMDisposeBuilder(b);
}

static int by_blob_off(const void *a, const void *b)
{
    int64_t x = (*(Region *const *)a)->blob_off, y = (*(Region *const *)b)->blob_off;
    return (x > y) - (x < y);
}

static void put_le(unsigned char *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8) b[i] = (unsigned char)v;
}

/* Writes the bound regions to path in the blob format of model.h; *hash its FNV. */
static bool write_blob(Aot *A, const char *path, uint64_t *hash)
{
    Region **rs = bcl_malloc(sizeof *rs * (size_t)(A->n_regs + 1));
    int n = 0;
    if (!rs) return diag_error(A->d, NO_LOC, "out of memory while compiling"), false;
    for (int i = 0; i < A->n_regs; i++)
        if (A->regs[i].blob_off >= 0) rs[n++] = &A->regs[i];
    qsort(rs, (size_t)n, sizeof *rs, by_blob_off);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(rs);
        diag_error_path(A->d, path, "cannot write the weight blob");
        return false;
    }
    static const char zeros[64];
    unsigned char h[BCLRT_BLOB_HEADER] = {'B', 'C', 'L', 'W'};
    bool ok = fwrite(h, 1, sizeof h, f) == sizeof h;  /* rewritten once the hash is known */
    uint64_t fnv = BCLRT_FNV_INIT;
    int64_t at = 0;
    for (int i = 0; i < n && ok; i++) {
        size_t pad = (size_t)(rs[i]->blob_off - at);
        fnv = bclrt_fnv1a(zeros, pad, fnv);
        fnv = bclrt_fnv1a(rs[i]->base, rs[i]->bytes, fnv);
        ok = fwrite(zeros, 1, pad, f) == pad && fwrite(rs[i]->base, 1, rs[i]->bytes, f) == rs[i]->bytes;
        at = rs[i]->blob_off + (int64_t)rs[i]->bytes;
    }
    put_le(h + 4, 1, 4);
    put_le(h + 8, (uint64_t)n, 4);
    put_le(h + 16, (uint64_t)at, 8);
    put_le(h + 24, fnv, 8);
    ok = ok && fseek(f, 0, SEEK_SET) == 0 && fwrite(h, 1, sizeof h, f) == sizeof h;
    if (fclose(f)) ok = false;
    free(rs);
    if (!ok) diag_error_path(A->d, path, "write failed");
    *hash = fnv;
    return ok;
}

/* Adds the descriptor and the exported entry points to the optimised module. */
static bool add_aot_parts(Aot *A, const IrGraph *g, const BclAotOptions *o, const JitHost *h)
{
    const JitPlan *pl = A->pl;
    LLVMContextRef c = A->c;
    LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0), i64 = LLVMInt64TypeInContext(c),
                i32 = LLVMInt32TypeInContext(c);
    /* constant regions: graph data first, then packed buffers */
    A->regs = bcl_calloc((size_t)(g->values.n + pl->n_owned + 1), sizeof *A->regs);
    A->ws_off = bcl_calloc((size_t)(pl->n_owned + 1), sizeof *A->ws_off);
    LLVMValueRef *ptrs = bcl_calloc((size_t)(pl->n_ctx + 1), sizeof *ptrs);
    LLVMValueRef *offs = bcl_calloc((size_t)(pl->n_ctx + 1), sizeof *offs);
    if (!A->regs || !A->ws_off || !ptrs || !offs) {
        free(ptrs);
        free(offs);
        diag_error(A->d, NO_LOC, "out of memory while compiling");
        return false;
    }
    for (int i = 0; i < g->values.n; i++) {
        const IrValue *v = g->values.v[i];
        if (has_data(v))
            A->regs[A->n_regs++] = (Region){(const char *)v->data, sizeof(float) * (size_t)shape_numel(&v->shape), NULL, -1};
    }
    int64_t ws = 0;
    for (int i = 0; i < pl->n_owned; i++) {
        if (pl->owned_info[i].is_const) {
            A->regs[A->n_regs++] = (Region){pl->owned[i], pl->owned_info[i].bytes, NULL, -1};
            A->ws_off[i] = -1;
        } else {
            A->ws_off[i] = ws;
            ws += (int64_t)(pl->owned_info[i].bytes + 63) / 64 * 64;
        }
    }
    bool ok = true;
    for (int i = 0; i < pl->n_steps && ok; i++) {
        const JitStep *s = &pl->steps[i];
        for (int k = 0; k < s->nbind && ok; k++) {
            int64_t off = 0;
            LLVMValueRef cp;
            ok = locate(A, s->bind[k], &off, &cp);
            ptrs[s->ctx_off + k] = cp ? cp : LLVMConstNull(ptr);
            offs[s->ctx_off + k] = LLVMConstInt(i64, (unsigned long long)off, 1);
        }
    }
    int64_t out_src = BCLRT_OUTPUT;
    LLVMValueRef out_ptr = LLVMConstNull(ptr);
    if (ok && !pl->outs[0].direct) {
        LLVMValueRef cp;
        ok = locate(A, pl->outs[0].slot, &out_src, &cp);
        if (cp) out_ptr = cp;
    }
    if (!ok) {
        free(ptrs);
        free(offs);
        diag_error(A->d, NO_LOC, "internal error: a buffer of the compiled graph has no home in the object");
        return false;
    }
    uint64_t hash = 0;
    if (A->external && !write_blob(A, o->weights_out, &hash)) {
        free(ptrs);
        free(offs);
        return false;
    }
    LLVMValueRef gp = const_array(A, ptr, ptrs, pl->n_ctx, "bcl.ptrs");
    LLVMValueRef go = const_array(A, i64, offs, pl->n_ctx, "bcl.offs");
    free(ptrs);
    free(offs);
    char name[256];
    snprintf(name, sizeof name, "%s_entry", o->prefix);
    LLVMValueRef entry = LLVMGetNamedFunction(A->m, JIT_ENTRY);
    LLVMSetValueName2(entry, name, strlen(name));
    LLVMSetLinkage(entry, LLVMInternalLinkage);
    /* BclrtModel, field by field (model.h) */
    const IrValue *in = g->inputs.v[0], *out = g->outputs.v[0];
    LLVMValueRef f[] = {
        LLVMConstInt(i32, 2, 0), LLVMConstInt(i32, (unsigned long long)pl->n_ctx, 0),
        LLVMConstInt(i64, (unsigned long long)ws, 0), gp, go, entry,
        LLVMConstInt(i64, (unsigned long long)shape_numel(&in->shape), 0),
        LLVMConstInt(i64, (unsigned long long)shape_numel(&out->shape), 0),
        LLVMConstInt(i64, (unsigned long long)out_src, 1), out_ptr,
        LLVMConstInt(i32, (unsigned long long)o->threads, 0), LLVMConstInt(i32, A->external, 0),
        LLVMConstInt(i64, (unsigned long long)(A->external ? A->weights : 0), 0), LLVMConstInt(i64, hash, 0),
    };
    LLVMValueRef init = LLVMConstStructInContext(c, f, sizeof f / sizeof *f, 0);
    snprintf(name, sizeof name, "%s_model", o->prefix);
    LLVMValueRef desc = LLVMAddGlobal(A->m, LLVMTypeOf(init), name);
    LLVMSetInitializer(desc, init);
    LLVMSetGlobalConstant(desc, 1);
    LLVMSetLinkage(desc, LLVMInternalLinkage);
    if (A->external)
        forward(A, o->prefix, "create_from_file", "bclrt_create_from_file", LLVMFunctionType(ptr, &ptr, 1, 0), desc, h);
    forward(A, o->prefix, "create", "bclrt_create", LLVMFunctionType(ptr, NULL, 0, 0), desc, h);
    forward(A, o->prefix, "error", "bclrt_last_error", LLVMFunctionType(ptr, NULL, 0, 0), NULL, h);
    forward(A, o->prefix, "run", "bclrt_run", LLVMFunctionType(i32, (LLVMTypeRef[]){ptr, ptr, ptr}, 3, 0), NULL, h);
    forward(A, o->prefix, "destroy", "bclrt_destroy", LLVMFunctionType(LLVMVoidTypeInContext(c), (LLVMTypeRef[]){ptr}, 1, 0),
            NULL, h);
    return true;
}

static bool emit(LLVMModuleRef m, LLVMTargetMachineRef tm, BclEmitKind k, const char *path, Diag *d)
{
    char *err = NULL;
    bool bad;
    switch (k) {
    case BCL_EMIT_LLVM: bad = LLVMPrintModuleToFile(m, path, &err); break;
    case BCL_EMIT_BC: bad = LLVMWriteBitcodeToFile(m, path) != 0; break;
    default:
        bad = LLVMTargetMachineEmitToFile(tm, m, path, k == BCL_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile, &err);
    }
    if (bad) diag_error(d, NO_LOC, "cannot write '%s': %s", path, err ? err : "write failed");
    LLVMDisposeMessage(err);
    return !bad;
}

int bcl_aot_compile(const IrGraph *g, const BclAotOptions *o, const char *out_path, BclAotInfo *info, Diag *d)
{
    if (g->inputs.n != 1 || g->outputs.n != 1) {
        diag_error(d, NO_LOC, "bclc compile supports models with one input and one output (this one: %d and %d)",
                   g->inputs.n, g->outputs.n);
        return 1;
    }
    JitHost h;
    if (!jit_host_init_cpu(&h, o->target_cpu, d)) return 1;
    JitPlan pl;
    LLVMTargetMachineRef tm = jit_machine(&h, true, d);
    LLVMContextRef c = LLVMContextCreate();
    LLVMContextSetDiagnosticHandler(c, jit_quiet_diagnostics, NULL);
    LLVMModuleRef m = NULL;
    Aot A = {.pl = &pl, .c = c, .external = o->weights_out != NULL, .d = d};
    int rc = 1;
    if (!tm) goto out_noplan;
    if (!jit_plan_build(&pl, g, &h, 0, NULL, d)) goto out_noplan;   /* the object runs the whole batch */
    if (!jit_plan_pack(&pl, NULL, d)) goto out;
    if (!(m = jit_codegen(&pl, &h, c, tm, d))) goto out;
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        diag_error(d, NO_LOC, "generated module does not verify: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        goto out;
    }
    LLVMDisposeMessage(msg);
    if (!jit_optimize(m, tm, d)) goto out;
    A.m = m;
    LLVMSetModuleIdentifier(m, o->prefix, strlen(o->prefix));
    LLVMSetSourceFileName(m, o->prefix, strlen(o->prefix));
    if (!add_aot_parts(&A, g, o, &h)) goto out;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        diag_error(d, NO_LOC, "internal error: the object's module does not verify: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        goto out;
    }
    LLVMDisposeMessage(msg);
    if (!emit(m, tm, o->emit, out_path, d)) goto out;
    if (info) {
        int64_t ws = 0;
        for (int i = 0; i < pl.n_owned; i++)
            if (!pl.owned_info[i].is_const) ws += (int64_t)(pl.owned_info[i].bytes + 63) / 64 * 64;
        *info = (BclAotInfo){ws, A.weights, A.external};
    }
    rc = 0;
out:
    jit_plan_free(&pl);
out_noplan:
    free(A.regs);
    free(A.ws_off);
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(c);
    if (tm) LLVMDisposeTargetMachine(tm);
    jit_host_free(&h);
    return rc;
}
