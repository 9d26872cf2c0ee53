/* Graph construction: values, parameters, constants and shape-checked nodes. */
#include <string.h>

#include "ir/ir.h"

IrGraph *ir_graph_new(Arena *a, const char *name)
{
    IrGraph *g = ARENA_NEW(a, IrGraph);
    g->arena = a;
    g->name = arena_strdup(a, name ? name : "graph");
    return g;
}

static IrValue *new_value(IrGraph *g, IrValueKind kind, const Shape *shape)
{
    IrValue *v = ARENA_NEW(g->arena, IrValue);
    v->id = g->values.n;
    v->kind = kind;
    if (shape) v->shape = *shape;
    ptrvec_push(g->arena, &g->values, v);
    return v;
}

IrValue *ir_add_input(IrGraph *g, const char *name, const Shape *shape)
{
    IrValue *v = new_value(g, IRV_INPUT, shape);
    v->name = name ? arena_strdup(g->arena, name) : NULL;
    ptrvec_push(g->arena, &g->inputs, v);
    return v;
}

IrValue *ir_add_param(IrGraph *g, const char *name, const Shape *shape, IrInit init, SrcLoc loc)
{
    IrValue *v = new_value(g, IRV_PARAM, shape);
    v->name = arena_strdup(g->arena, name ? name : "");
    v->init = init;
    v->loc = loc;
    ptrvec_push(g->arena, &g->params, v);
    return v;
}

IrValue *ir_add_const(IrGraph *g, const Shape *shape, const float *data)
{
    int64_t n = shape_numel(shape);
    IrValue *v = ir_add_const_owned(g, shape, ARENA_NEWN(g->arena, float, n > 0 ? n : 1));
    if (n > 0 && data) memcpy(v->data, data, sizeof(float) * (size_t)n);
    return v;
}

IrValue *ir_add_const_owned(IrGraph *g, const Shape *shape, float *data)
{
    IrValue *v = new_value(g, IRV_CONST, shape);
    v->data = data;
    return v;
}

IrValue *ir_const_scalar(IrGraph *g, float v)
{
    Shape s = {.rank = 0};
    return ir_add_const(g, &s, &v);
}

void ir_add_output(IrGraph *g, IrValue *v) { ptrvec_push(g->arena, &g->outputs, v); }

void ir_count_uses(const IrGraph *g, int *uses)
{
    memset(uses, 0, sizeof(int) * (size_t)g->values.n);
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        if (!n) continue;   /* a pass's removed node, before compaction */
        for (int k = 0; k < n->n_in; k++) uses[n->in[k]->id]++;
    }
    for (int i = 0; i < g->outputs.n; i++) uses[((const IrValue *)g->outputs.v[i])->id]++;
}

IrValue *ir_find_param(const IrGraph *g, const char *name)
{
    for (int i = 0; i < g->params.n; i++) {
        IrValue *v = g->params.v[i];
        if (v->name && strcmp(v->name, name) == 0) return v;
    }
    return NULL;
}

IrValue *ir_add_node(IrGraph *g, IrOp op, IrValue *const *in, int n_in,
                     const IrAttrs *attrs, SrcLoc loc, Diag *d)
{
    BCL_ASSERT((unsigned)op < IR_OP_COUNT && n_in >= 0);
    const char *name = ir_op_info[op].name;
    const Shape **shapes = ARENA_NEWN(g->arena, const Shape *, n_in ? n_in : 1);
    for (int i = 0; i < n_in; i++) {
        BCL_ASSERT(in[i] != NULL);
        shapes[i] = &in[i]->shape;
    }
    IrAttrs a = attrs ? *attrs : ir_attrs_default();
    char err[512];
    Shape out;
    if (!ir_normalize_attrs(op, shapes, n_in, &a, err, sizeof err) ||
        !ir_infer_shape(op, shapes, n_in, &a, &out, err, sizeof err)) {
        if (d) {
            diag_error(d, loc, "%s", err);
            /* Every operand's shape, so the user sees the whole picture. */
            char buf[1024];
            size_t k = (size_t)snprintf(buf, sizeof buf, "%s operands:", name);
            for (int i = 0; i < n_in && k < sizeof buf; i++) {
                char s[160];
                k += (size_t)snprintf(buf + k, sizeof buf - k, "%s %s", i ? "," : "",
                                      shape_str(shapes[i], s, sizeof s));
            }
            diag_note(d, loc, "%s", buf);
        }
        return NULL;
    }
    IrNode *n = ARENA_NEW(g->arena, IrNode);
    n->id = g->nodes.n;
    n->op = op;
    n->n_in = n_in;
    n->in = ARENA_NEWN(g->arena, IrValue *, n_in ? n_in : 1);
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    n->attrs = a;
    n->loc = loc;
    n->scope = g->scope;
    n->out = new_value(g, IRV_NODE, &out);
    n->out->def = n;
    n->out->loc = loc;
    ptrvec_push(g->arena, &g->nodes, n);
    return n->out;
}
