/* Reference kernels: float32, NCHW, obviously correct rather than fast. One function
 * per IR op family; shapes are passed explicitly so unit tests can call them alone. */
#ifndef BCL_KERNELS_H
#define BCL_KERNELS_H
#include "../../ir/ir.h"

/* Runs one node's op on dense input buffers (shapes from the node's values). */
void kern_run_node(const IrNode *n, const float *const *in, float *out);

#endif
