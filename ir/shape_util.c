/* Shape helpers shared by backend/interp and backend/llvm (ir/shape_util.h). */
#include <string.h>

#include "ir/shape_util.h"

void ir_bcast_strides(const Shape *s, int r, int64_t *st)
{
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; i--) {
        int k = s->rank - r + i;
        int64_t d = k >= 0 ? s->d[k] : 1;
        st[i] = d == 1 ? 0 : acc;
        acc *= d;
    }
}

void ir_matmul_layout(const Shape *as, const Shape *bs, IrMatmulLayout *l)
{
    memset(l, 0, sizeof *l);
    Shape A = *as, B = *bs;
    if (A.rank == 1) { A.rank = 2; A.d[1] = A.d[0]; A.d[0] = 1; }
    if (B.rank == 1) { B.rank = 2; B.d[1] = 1; }
    l->M = A.d[A.rank - 2];
    l->K = A.d[A.rank - 1];
    l->N = B.d[B.rank - 1];
    int ra = A.rank - 2, rb = B.rank - 2, r = ra > rb ? ra : rb;
    int64_t st_a = l->M * l->K, st_b = l->K * l->N;
    l->batch_rank = r;
    l->n_batch = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ia = ra - r + i, ib = rb - r + i;
        int64_t da = ia >= 0 ? A.d[ia] : 1, db = ib >= 0 ? B.d[ib] : 1;
        l->batch[i] = da > db ? da : db;
        l->a_stride[i] = da == 1 ? 0 : st_a;
        l->b_stride[i] = db == 1 ? 0 : st_b;
        st_a *= da;
        st_b *= db;
        l->n_batch *= l->batch[i];
    }
}
