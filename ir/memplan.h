/* The activation memory planner: one arena for every buffer, with liveness-based
 * reuse. Its core (bcl_plan_buffers) serves every engine: the interpreter through
 * bcl_plan_memory below, the JIT and the ahead-of-time compiler through
 * backend/llvm/plan.c. It lives in ir/ (not passes/) so the interpreter can execute
 * inside a plan without depending on the pass library. See docs/passes.md, "Memory plan". */
#ifndef BCL_MEMPLAN_H
#define BCL_MEMPLAN_H
#include <stdint.h>

#include "support/arena.h"
#include "ir/ir.h"

#define BCL_MEMPLAN_ALIGN 64

/* One buffer request to the planner core. Steps are the engine's schedule
 * positions (node indices for the interpreter and the JIT). The buffer is written
 * first at step `first` and read last at step `last` (>= first; an unused result
 * has last == first). Two buffers share bytes only when one's last step is before
 * the other's first step, so a result never lands in a buffer its own step still
 * reads (no result aliases an operand it was not told to). alias_of >= 0 (an
 * earlier request, starting no later) makes this request the same buffer (a view,
 * or a result written in place of an operand): it gets that buffer's offset, and the
 * buffer grows to cover its size and lifetime. */
typedef struct BclBufReq {
    int64_t size;       /* bytes; rounded up to BCL_MEMPLAN_ALIGN (0 counts as 1) */
    int first, last;
    int alias_of;       /* -1, or the index of an earlier request */
} BclBufReq;

/* Where the planner puts each buffer. In step order (the interpreter's plans): best
 * fit from a free list as the steps go, blocks handed back after their last step;
 * linear in n plus the free-list scans. By size, largest first: each buffer takes
 * the smallest gap between the buffers already placed whose lifetimes meet its own;
 * quadratic in n, and often a smaller arena, as it sees every lifetime at once. */
typedef enum BclPlacement { BCL_PLACE_IN_STEP_ORDER, BCL_PLACE_BY_SIZE } BclPlacement;

/* Places n requests in one arena: offset[i] for each (an alias gets its root's).
 * Returns the arena's size (the peak), or -1 when out of memory (nothing jumps). */
int64_t bcl_plan_buffers(const BclBufReq *req, int n, BclPlacement how, int64_t *offset);

/* How a value is held, in a plan that records it (MemPlan.how, NULL for the
 * interpreter's, where every node result is MEMPLAN_OWN, MEMPLAN_VIEW or MEMPLAN_INPLACE). */
enum {
    MEMPLAN_NONE,       /* no buffer: an input, a parameter or a constant */
    MEMPLAN_OWN,        /* its own buffer in the arena */
    MEMPLAN_VIEW,       /* the buffer of shares[v] (a reshape) */
    MEMPLAN_INPLACE,    /* the buffer of shares[v], written over it */
    MEMPLAN_FUSED,      /* no buffer: computed inside the step that reads it */
    MEMPLAN_OUTPUT,     /* written straight into the caller's output buffer */
};

typedef struct MemPlan {
    int n_values;              /* = g->values.n when planned */
    int64_t *offset;           /* per value id: byte offset in the arena, -1 if not an activation
                                  (input, param, const) or not in the arena (how) */
    int64_t *size;             /* per value id: bytes (numel * 4), -1 if not an activation */
    int *shares;               /* per value id: the value whose buffer it reuses (a reshape view
                                  or an in-place op), -1 if it has its own */
    int64_t peak;              /* arena size in bytes */
    int64_t total;             /* sum of every activation's size */
    /* Set by engines other than the interpreter (the JIT, bcl_jit_memplan); zero here. */
    const char *engine;        /* NULL: the interpreter's plan */
    unsigned char *how;        /* per value id: MEMPLAN_*, or NULL */
    int n_scratch;             /* the engine's scratch buffers, in the arena too */
    int64_t *scratch_offset, *scratch_size;
    int *scratch_value;        /* the value whose node's steps use it */
    int64_t images;            /* > 1: sizes are one image's, the engine runs the images one by one */
    int sets;                  /* > 1: that many copies of the arena (images on parallel threads) */
    int batch_from;            /* > 0 (with images > 1): nodes from this index on run once over the
                                  whole batch, and their sizes are the batch's */
} MemPlan;

/* The interpreter's plan (its front end to bcl_plan_buffers): liveness over the node
 * order, in-place for elementwise ops whose input dies there, reshapes as views.
 * Graph outputs stay live to the end. Allocated in a. */
MemPlan *bcl_plan_memory(const IrGraph *g, Arena *a);

#endif
