/* Helpers shared by the passes: use counts, rewiring, node insertion and removal.
 * Passes mark removed nodes with pu_remove_node and call pu_compact before returning,
 * which drops them, renumbers node and value ids densely and forgets values nobody
 * refers to any more (params and inputs always stay). */
#ifndef BCL_PASS_UTIL_H
#define BCL_PASS_UTIL_H
#include "passes/pass.h"

/* Declarations of every pass function (from passes.def). */
#define PASS(ID, NAME, FN, DESC) int FN(IrGraph *g, Diag *d);
#include "passes/passes.def"
#undef PASS

/* Per value id: how many node operands and graph outputs refer to it (malloc'd,
 * g->values.n entries; the caller frees). Removed (NULL) node slots are skipped. */
int *pu_use_counts(const IrGraph *g);
bool pu_is_output(const IrGraph *g, const IrValue *v);

/* Whether every use of from may be redirected to to: a graph output keeps being
 * produced by a node (never becomes an input, param or const directly). */
bool pu_can_replace(const IrGraph *g, const IrValue *from, const IrValue *to);
/* Redirects every node operand and graph output that refers to from to to. */
void pu_replace_uses(IrGraph *g, IrValue *from, IrValue *to);

/* Marks node slot i removed (the node's result must be unused afterwards). */
void pu_remove_node(IrGraph *g, int i);
/* Index of node n in the schedule, or -1. */
int pu_node_index(const IrGraph *g, const IrNode *n);

/* ir_add_node, then moves the new node to schedule position pos (before the node now
 * there). Returns its result, or NULL after reporting to d. */
IrValue *pu_insert_node(IrGraph *g, int pos, IrOp op, IrValue *const *in, int n_in,
                        const IrAttrs *attrs, SrcLoc loc, Diag *d);

/* A new constant named name (may be NULL) with data copied from data, or left NULL
 * when data is NULL: a value whose contents are known only once weights are bound. */
IrValue *pu_new_const(IrGraph *g, const Shape *s, const float *data, const char *name);

/* Whether v's contents are known at compile time (a const, or a param with data). */
bool pu_has_data(const IrValue *v);

/* Drops removed node slots and unreferenced consts/node results; renumbers ids. */
void pu_compact(IrGraph *g);

/* Removes nodes whose results are unused (no side effects in the IR); returns how many. */
int pu_remove_dead(IrGraph *g);

#endif
