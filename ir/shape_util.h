/* Shape arithmetic the backends share, so the interpreter and the JIT planner index
 * broadcast and batched operands the same way (NumPy semantics, as ir/shape.c infers). */
#ifndef BCL_IR_SHAPE_UTIL_H
#define BCL_IR_SHAPE_UTIL_H
#include <stdint.h>

#include "ir/ir.h"

/* Element strides of s right-aligned in an r-dim result, 0 on the dims where s
 * broadcasts (size 1 or absent): element i of the result reads s at sum(idx_k * st[k]). */
void ir_bcast_strides(const Shape *s, int r, int64_t *st);

/* matmul's operands as stacks of matrices: a 1-D a is [1, K], a 1-D b is [K, 1]; the
 * leading (batch) dims broadcast against each other. */
typedef struct IrMatmulLayout {
    int64_t M, K, N;
    int batch_rank;                        /* r: the result's batch dims */
    int64_t batch[BCL_MAX_RANK];           /* their sizes */
    int64_t a_stride[BCL_MAX_RANK];        /* element strides of a per batch dim, 0 where it broadcasts */
    int64_t b_stride[BCL_MAX_RANK];
    int64_t n_batch;                       /* the product of batch[] */
} IrMatmulLayout;

/* Fills l for a @ b (shapes ir_infer_shape accepted). */
void ir_matmul_layout(const Shape *a, const Shape *b, IrMatmulLayout *l);

#endif
