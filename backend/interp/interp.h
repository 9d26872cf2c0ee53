/* The reference interpreter: executes an IR graph node by node with plain C kernels. */
#ifndef BCL_INTERP_H
#define BCL_INTERP_H
#include "ir/ir.h"
#include "ir/memplan.h"

/* inputs[i] holds graph input i (its shape), outputs[i] receives graph output i.
 * Every parameter must have data (bound or random). Returns 0, or reports to d and
 * returns 1 (e.g. a parameter without data). One malloc'd buffer per node result:
 * the reference the planned path and the passes are checked against. */
int bcl_interp_run(const IrGraph *g, const float *const *inputs, float *const *outputs, Diag *d);

/* Called after each node with its result (valid only during the call). */
typedef void (*InterpObserver)(void *ctx, const IrNode *n, const float *out);

/* bcl_interp_run, calling observe (if not NULL) after every node. */
int bcl_interp_run_observed(const IrGraph *g, const float *const *inputs, float *const *outputs,
                            InterpObserver observe, void *ctx, Diag *d);

/* bcl_interp_run inside a memory plan: one arena of plan->peak bytes, each node result
 * at its offset, reshape views without a copy, in-place ops with input and output
 * aliased. plan must come from bcl_plan_memory(g) for this graph as it is now; NULL
 * plans here (per call, so the graph is only read and runs stay reentrant). */
int bcl_interp_run_planned(const IrGraph *g, const MemPlan *plan, const float *const *inputs,
                           float *const *outputs, Diag *d);

/* bcl_interp_run_planned, calling observe (if not NULL) after every node. */
int bcl_interp_run_planned_observed(const IrGraph *g, const MemPlan *plan, const float *const *inputs,
                                    float *const *outputs, InterpObserver observe, void *ctx, Diag *d);

#endif
