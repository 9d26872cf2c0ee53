/* Ahead-of-time compilation (bclc compile): the JIT's module for a graph (same plan,
 * same codegen, same O3 pipeline) with the weights embedded as constants, emitted
 * as a relocatable PIC object (or assembly, LLVM IR, bitcode) that exports
 *   BclrtCtx *PREFIX_create(void);
 *   int PREFIX_run(BclrtCtx *ctx, const float *in, float *out);
 *   void PREFIX_destroy(BclrtCtx *ctx);
 * and needs only libbclrt.a (runtime), libm, libc and pthreads. */
#ifndef BCL_AOT_H
#define BCL_AOT_H
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

typedef enum { BCL_EMIT_OBJ, BCL_EMIT_ASM, BCL_EMIT_LLVM, BCL_EMIT_BC } BclEmitKind;

typedef struct BclAotOptions {
    const char *prefix;       /* the entry points' prefix (a C identifier) */
    const char *target_cpu;   /* NULL/"native", x86-64, x86-64-v2, x86-64-v3, x86-64-v4 */
    int threads;              /* 0: BCL_NUM_THREADS at run time, else the online cores */
    BclEmitKind emit;
    const char *weights_out;  /* NULL: weights embedded; else the blob written here */
} BclAotOptions;

/* What the header needs to know (filled by bcl_aot_compile). */
typedef struct BclAotInfo {
    int64_t workspace;        /* bytes the runtime allocates per context */
    int64_t weights;          /* bytes of (packed) weights, embedded or in the blob */
    int external;             /* 1: weights in the blob, PREFIX_create_from_file */
} BclAotInfo;

/* Compiles g (one input, one output; every parameter with data) into out_path.
 * Returns 0, or 1 after reporting to d. */
int bcl_aot_compile(const IrGraph *g, const BclAotOptions *o, const char *out_path, BclAotInfo *info,
                    Diag *d);

/* Writes the C header declaring the entry points and shape constants. 0 or 1. */
int bcl_aot_write_header(FILE *f, const IrGraph *g, const char *prefix, const BclAotInfo *info);

#endif
