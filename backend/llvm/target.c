/* The host target: triple, CPU name and features go into the target machine and
 * onto every function, so the optimiser and the backend use the whole ISA. */
#include <llvm-c/ErrorHandling.h>
#include <llvm-c/Target.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/llvm/jit_internal.h"
#include "support/oom.h"

static int init_failed;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* LLVM's target registration is process-wide: once, even with engines compiled on
 * several threads. */
/* LLVM reports out of memory (and its other fatal errors) here; instead of letting it
 * exit the host, jump to the caller's scope (support/oom.h), which reports the error. */
static void llvm_fatal(const char *reason)
{
    static _Thread_local char msg[256];
    snprintf(msg, sizeof msg, "LLVM: %s", reason ? reason : "fatal error");
    bcl_oom_fail(msg);
}

static void init_llvm(void)
{
    LLVMInstallFatalErrorHandler(llvm_fatal);
    init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter();
}

bool jit_host_init(JitHost *h, Diag *d)
{
    memset(h, 0, sizeof *h);
    pthread_once(&init_once, init_llvm);
    if (init_failed) {
        diag_error(d, NO_LOC, "LLVM has no code generator for this host");
        return false;
    }
    h->triple = LLVMGetDefaultTargetTriple();
    h->cpu = LLVMGetHostCPUName();
    h->features = LLVMGetHostCPUFeatures();
    h->vec512 = strstr(h->features, "+avx512f") != NULL;
    /* For testing the AVX-512 tile shapes on other hosts (correct, only slower). */
    const char *t = getenv("BCL_JIT_TILES_512");
    if (t && *t == '1') h->vec512 = true;
    return true;
}

/* Portable x86-64 levels an object can be built for (besides the host's own CPU). */
static const char *const aot_cpus[] = {"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"};

bool jit_host_init_cpu(JitHost *h, const char *cpu, Diag *d)
{
    if (!cpu || !strcmp(cpu, "native")) return jit_host_init(h, d);
    bool known = false;
    for (size_t i = 0; i < sizeof aot_cpus / sizeof *aot_cpus; i++) known |= !strcmp(cpu, aot_cpus[i]);
    if (!known) {
        diag_error(d, NO_LOC, "unknown target CPU '%s' (available: native, x86-64, x86-64-v2, x86-64-v3, x86-64-v4)",
                   cpu);
        return false;
    }
    if (!jit_host_init(h, d)) return false;
    if (strncmp(h->triple, "x86_64", 6) != 0) {
        diag_error(d, NO_LOC, "target CPU '%s' needs an x86-64 host, this one is '%s'", cpu, h->triple);
        jit_host_free(h);
        return false;
    }
    /* The level implies the features: the function attributes name none extra. */
    LLVMDisposeMessage(h->cpu);
    LLVMDisposeMessage(h->features);
    h->cpu = LLVMCreateMessage(cpu);
    h->features = LLVMCreateMessage("");
    h->vec512 = !strcmp(cpu, "x86-64-v4");
    const char *t = getenv("BCL_JIT_TILES_512");
    if (t && *t == '1') h->vec512 = true;
    return true;
}

void jit_host_free(JitHost *h)
{
    if (h->triple) LLVMDisposeMessage(h->triple);
    if (h->cpu) LLVMDisposeMessage(h->cpu);
    if (h->features) LLVMDisposeMessage(h->features);
    memset(h, 0, sizeof *h);
}

LLVMTargetMachineRef jit_host_machine(const JitHost *h, Diag *d) { return jit_machine(h, false, d); }

LLVMTargetMachineRef jit_machine(const JitHost *h, bool pic, Diag *d)
{
    LLVMTargetRef t;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(h->triple, &t, &err)) {
        diag_error(d, NO_LOC, "LLVM target for '%s': %s", h->triple, err ? err : "?");
        LLVMDisposeMessage(err);
        return NULL;
    }
    /* JIT code lives at arbitrary addresses: the large-ish model is not needed on
     * x86-64 with ORC's default (small code model, PIC not required). */
    /* Objects (bclc compile) are position independent: they link into PIEs and
     * shared libraries alike. */
    return LLVMCreateTargetMachine(t, h->triple, h->cpu, h->features, LLVMCodeGenLevelAggressive,
                                   pic ? LLVMRelocPIC : LLVMRelocDefault,
                                   pic ? LLVMCodeModelDefault : LLVMCodeModelJITDefault);
}

static void set_str_attr(LLVMValueRef fn, const char *k, const char *v)
{
    LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));
    LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, k, (unsigned)strlen(k));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
}

void jit_host_fn_attrs(const JitHost *h, LLVMValueRef fn)
{
    set_str_attr(fn, "target-cpu", h->cpu);
    set_str_attr(fn, "target-features", h->features);
    set_str_attr(fn, "tune-cpu", h->cpu);
    /* The kernels use 16-float vectors on purpose; let AVX-512 hosts keep them whole. */
    set_str_attr(fn, "min-legal-vector-width", "512");
}
