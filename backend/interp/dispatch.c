/* kern_run_node: one switch from IR op to reference kernel, then the fused epilogue. */
#include <stdio.h>
#include <string.h>

#include "backend/interp/kernels.h"

void kern_run_node(const IrNode *n, const float *const *in, float *out)
{
    (void)kern_run_node_checked(n, in, out, NULL);
}

void kern_fault_str(const IrNode *n, const KernFault *f, char *buf, size_t len)
{
    const char *op = ir_op_info[n->op].name;
    int64_t more = f->count - 1;
    char tail[64] = "";
    if (more > 0) snprintf(tail, sizeof tail, " (and %lld more)", (long long)more);
    if (f->value == f->value && f->value >= -(float)f->dim && f->value < (float)f->dim)
        snprintf(buf, len, "%s: index %.9g is not a whole number%s", op, (double)f->value, tail);
    else
        snprintf(buf, len, "%s: index %.9g is out of range for axis %lld of size %lld%s", op, (double)f->value,
                 (long long)n->attrs.axis, (long long)f->dim, tail);
}

bool kern_run_node_checked(const IrNode *n, const float *const *in, float *out, KernFault *f)
{
    KernFault local = {0};
    if (!f) f = &local;
    f->count = 0;
    const IrAttrs *a = &n->attrs;
    const Shape *xs = &n->in[0]->shape, *ys = &n->out->shape;
    /* Every op has a case and there is no default: -Werror=switch names an op added to
     * ops.def without a reference kernel. */
    switch (n->op) {
    case IR_RELU: case IR_RELU6: case IR_SIGMOID: case IR_SILU: case IR_GELU: case IR_HSWISH:
    case IR_HSIGMOID: case IR_LEAKY_RELU: case IR_TANH: case IR_ELU: case IR_NEG: case IR_SQRT:
    case IR_EXP: case IR_DROPOUT: case IR_IDENTITY: case IR_LOGICAL_NOT: case IR_TRUNC:
        kern_unary_buf(n->op, in[0], out, shape_numel(xs), a->alpha);
        break;
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_POW: case IR_MAXIMUM: case IR_MINIMUM:
    case IR_EQUAL: case IR_NOT_EQUAL: case IR_LESS: case IR_LESS_EQUAL: case IR_GREATER:
    case IR_GREATER_EQUAL: case IR_LOGICAL_AND: case IR_LOGICAL_OR: case IR_LOGICAL_XOR:
        kern_binary(n->op, in[0], xs, in[1], &n->in[1]->shape, out, ys);
        break;
    case IR_REDUCE_MEAN: case IR_REDUCE_SUM: case IR_REDUCE_MAX: case IR_REDUCE_MIN:
        kern_reduce(n->op, in[0], xs, a, out);
        break;
    case IR_MAX_POOL2D: case IR_AVG_POOL2D:
        kern_pool2d(n->op, in[0], xs, a, out, ys);
        break;
    case IR_CONV2D:
        /* a 4th input is the fused residual add, before the activation */
        kern_conv2d_res(in[0], xs, in[1], &n->in[1]->shape, n->n_in > 2 ? in[2] : NULL,
                        n->n_in > 3 ? in[3] : NULL, a, out, ys);
        break;
    case IR_LINEAR:
        kern_linear(in[0], xs, in[1], &n->in[1]->shape, n->n_in > 2 ? in[2] : NULL, out);
        if (n->n_in > 3)   /* the fused residual add, before the activation (as the unfused add) */
            for (int64_t i = 0, ny = shape_numel(ys); i < ny; i++) out[i] += in[3][i];
        break;
    case IR_MATMUL:
        kern_matmul(in[0], xs, in[1], &n->in[1]->shape, out, ys);
        break;
    case IR_BATCH_NORM:
        kern_batch_norm(in[0], xs, in[1], in[2], in[3], in[4], a->eps, out);
        break;
    case IR_LAYER_NORM:
        kern_layer_norm(in[0], xs, a->n_axes, n->n_in > 1 ? in[1] : NULL,
                        n->n_in > 2 ? in[2] : NULL, a->eps, out);
        break;
    case IR_SCALE_SHIFT:
        kern_scale_shift(in[0], xs, in[1], in[2], out);
        break;
    case IR_SOFTMAX:
        kern_softmax(in[0], xs, (int)a->axis, out);
        break;
    case IR_RESHAPE:
        memcpy(out, in[0], sizeof(float) * (size_t)shape_numel(xs));
        break;
    case IR_TRANSPOSE:
        kern_transpose(in[0], xs, a->perm, out);
        break;
    case IR_CONCAT: {
        const Shape *shapes[64];
        for (int i = 0; i < n->n_in; i++) shapes[i] = &n->in[i]->shape;
        kern_concat(in, shapes, n->n_in, (int)a->axis, out);
        break;
    }
    case IR_SLICE:
        kern_slice(in[0], xs, a, out, ys);
        break;
    case IR_PAD:
        kern_pad(in[0], xs, a->pads, a->value, out, ys);
        break;
    case IR_UPSAMPLE_NEAREST:
        kern_upsample_nearest(in[0], xs, out, ys);
        break;
    case IR_ROLL:
        kern_roll(in[0], xs, a->shifts, out);
        break;
    case IR_ATTENTION: {
        const Shape *ks = &n->in[1]->shape, *vs = &n->in[2]->shape;
        kern_attention(in[0], in[1], in[2], n->n_in > 3 ? in[3] : NULL, n->n_in > 3 ? &n->in[3]->shape : NULL,
                       n->n_in > 4 ? in[4] : NULL, n->n_in > 4 ? &n->in[4]->shape : NULL, xs,
                       ks->d[ks->rank - 2], vs->d[vs->rank - 1], a->alpha, out);
        break;
    }
    case IR_TAKE:
        kern_take(in[0], xs, in[1], &n->in[1]->shape, (int)a->axis, out, f);
        break;
    case IR_GATHER:
        kern_gather(in[0], xs, in[1], &n->in[1]->shape, (int)a->axis, out, f);
        break;
    case IR_WHERE:
        kern_where(in[0], xs, in[1], &n->in[1]->shape, in[2], &n->in[2]->shape, out, ys);
        break;
    case IR_OP_COUNT:
        BCL_ASSERT(!"op without a reference kernel");
    }
    if (a->act >= 0) kern_unary_buf((IrOp)a->act, out, out, shape_numel(ys), a->act_alpha);
    return f->count == 0;
}
