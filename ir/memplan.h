/* The activation memory plan: one arena for every node result, with liveness-based
 * reuse. It lives in ir/ (not passes/) so the interpreter can execute inside a plan
 * without depending on the pass library. See docs/passes.md, "Memory plan". */
#ifndef BCL_MEMPLAN_H
#define BCL_MEMPLAN_H
#include <stdint.h>

#include "support/arena.h"
#include "ir/ir.h"

#define BCL_MEMPLAN_ALIGN 64

typedef struct MemPlan {
    int n_values;              /* = g->values.n when planned */
    int64_t *offset;           /* per value id: byte offset in the arena, -1 if not an activation
                                  (input, param, const) */
    int64_t *size;             /* per value id: bytes (numel * 4), -1 if not an activation */
    int *shares;               /* per value id: the value whose buffer it reuses (a reshape view
                                  or an in-place op), -1 if it has its own */
    int64_t peak;              /* arena size in bytes */
    int64_t total;             /* sum of every activation's size */
} MemPlan;

/* Liveness over the node order, best-fit offsets aligned to BCL_MEMPLAN_ALIGN,
 * in-place for elementwise ops whose input dies there, reshapes as views.
 * Graph outputs stay live to the end. Allocated in a. */
MemPlan *bcl_plan_memory(const IrGraph *g, Arena *a);

#endif
