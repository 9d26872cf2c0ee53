/* Canonical attribute form: what the graph stores, whatever the front end passed. */
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

static bool norm_axis(int64_t *axis, int rank, const char *op, char *err, size_t n)
{
    int64_t a = *axis;
    if (a < -rank || a >= rank) {
        snprintf(err, n, "%s: axis %lld is out of range for rank %d", op, (long long)a, rank);
        return false;
    }
    *axis = a < 0 ? a + rank : a;
    return true;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

bool ir_normalize_attrs(IrOp op, const Shape *const *in, int n_in, IrAttrs *a,
                        char *err, size_t n)
{
    if (n_in < 1 || !in[0]) return true;          /* arity is checked by inference */
    const Shape *x = in[0];
    const char *name = ir_op_info[op].name;
    int rank = x->rank;
    switch (op) {
    case IR_SOFTMAX:
    case IR_CONCAT:
    case IR_TAKE:
    case IR_GATHER:
        return norm_axis(&a->axis, rank, name, err, n);
    case IR_REDUCE_MEAN: case IR_REDUCE_SUM: case IR_REDUCE_MAX: case IR_REDUCE_MIN: {
        if (a->n_axes == 0) {                       /* no axes given: reduce them all */
            a->n_axes = rank;
            for (int i = 0; i < rank; i++) a->axes[i] = i;
            return true;
        }
        if (a->n_axes < 0 || a->n_axes > rank) {
            snprintf(err, n, "%s: %d axes given for a rank-%d input", name, a->n_axes, rank);
            return false;
        }
        for (int i = 0; i < a->n_axes; i++)
            if (!norm_axis(&a->axes[i], rank, name, err, n)) return false;
        /* Sorted, so that printing and comparisons are canonical. */
        for (int i = 1; i < a->n_axes; i++)
            for (int j = i; j > 0 && a->axes[j - 1] > a->axes[j]; j--) {
                int64_t t = a->axes[j];
                a->axes[j] = a->axes[j - 1];
                a->axes[j - 1] = t;
            }
        return true;
    }
    case IR_TRANSPOSE:
        for (int i = 0; i < rank; i++)
            if (!norm_axis(&a->perm[i], rank, name, err, n)) return false;
        return true;
    case IR_RESHAPE: {
        int neg = -1;
        int64_t known = 1;
        if (a->shape.rank < 0 || a->shape.rank > BCL_MAX_RANK) return true;
        for (int i = 0; i < a->shape.rank; i++) {
            if (a->shape.d[i] == -1) {
                if (neg >= 0) {
                    snprintf(err, n, "reshape: only one dimension can be -1");
                    return false;
                }
                neg = i;
            } else {
                known *= a->shape.d[i];
            }
        }
        if (neg >= 0) {
            int64_t total = shape_numel(x);
            if (known <= 0 || total % known != 0) {
                char b[128];
                snprintf(err, n, "reshape: cannot infer the -1 dimension: %lld elements of %s "
                         "do not divide by %lld", (long long)total, shape_str(x, b, sizeof b),
                         (long long)known);
                return false;
            }
            a->shape.d[neg] = total / known;
        }
        return true;
    }
    case IR_SLICE:
        for (int i = 0; i < rank; i++) {
            int64_t d = x->d[i];
            int64_t b = a->begin[i], e = a->end[i];
            if (b < 0) b += d;
            if (e < 0) e += d;
            a->begin[i] = clamp(b, 0, d);
            a->end[i] = clamp(e, a->begin[i], d);
        }
        return true;
    default:
        return true;
    }
}
