/* Graph optimisation passes: the registry (passes.def), pipelines ("dce,fold-bn,..."
 * or the -O0/-O1/-O2 defaults), print-after, verify-each and per-pass statistics,
 * and the memory planner. See docs/passes.md. */
#ifndef BCL_PASS_H
#define BCL_PASS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "support/diag.h"
#include "ir/ir.h"
#include "ir/memplan.h"

typedef struct PassOptions {
    const char *print_after;   /* a pass name or "all": ir_print the graph after it; NULL = none */
    FILE *print_out;           /* where print-after and stats go; NULL = stderr */
    bool verify_each;          /* ir_verify after every pass; a failure stops the pipeline */
    bool stats;                /* per pass: "pass NAME: N nodes -> M nodes (K rewrites)" */
} PassOptions;

/* A pass rewrites g in place and returns the number of rewrites it made, or -1 after
 * reporting an error to d. Passes keep the graph valid (ir_verify holds after each). */
typedef int (*PassFn)(IrGraph *g, Diag *d);

typedef struct PassInfo {
    const char *name;          /* "fold-bn" */
    PassFn run;
    const char *desc;          /* one line */
} PassInfo;

extern const PassInfo bcl_passes[];
extern const int bcl_n_passes;

/* The registered pass called name, or NULL. */
const PassInfo *bcl_find_pass(const char *name);

/* The default pipeline for -O0, -O1 or -O2 (levels above 2 act as 2, below 0 as 0). */
const char *bcl_default_pipeline(int opt_level);

/* Checks that every comma-separated name in pipeline is a registered pass (empty
 * entries are skipped); reports each unknown one to d. */
bool bcl_check_pipeline(const char *pipeline, Diag *d);

/* Runs the comma-separated passes of pipeline on g in order (opt may be NULL).
 * Returns 0, or 1 after reporting to d (unknown pass, a pass error, a verify failure). */
int bcl_run_passes(IrGraph *g, const char *pipeline, const PassOptions *opt, Diag *d);

/* "  NAME  description" for every pass, for --help. */
void bcl_list_passes(FILE *out);

/* ---- memory planning: one arena for every activation ---- */

/* MemPlan, BCL_MEMPLAN_ALIGN and bcl_plan_memory are declared in ir/memplan.h (the
 * interpreter executes inside a plan and must not depend on the passes). */

/* One line per activation (offset, size, shared buffer) and
 * "peak: X bytes (Y% of Z bytes of activations)". */
void bcl_print_memplan(FILE *out, const IrGraph *g, const MemPlan *p);

#endif
