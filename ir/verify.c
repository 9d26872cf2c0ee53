/* The IR checker: structural invariants every pass must keep. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "support/oom.h"

static bool in_graph(const IrGraph *g, const IrValue *v)
{
    return v && v->id >= 0 && v->id < g->values.n && g->values.v[v->id] == v;
}

static const char *op_name(const IrNode *n)
{
    return (unsigned)n->op < IR_OP_COUNT ? ir_op_info[n->op].name : "?";
}

bool ir_verify(const IrGraph *g, Diag *d)
{
    int errors = 0;
#define BAD(loc, ...) (diag_error(d, (loc), "IR verifier: " __VA_ARGS__), errors++)
    for (int i = 0; i < g->values.n; i++) {
        const IrValue *v = g->values.v[i];
        if (!v) { BAD(NO_LOC, "value slot %d is empty", i); continue; }
        if (v->id != i) BAD(v->loc, "value at index %d has id %d", i, v->id);
        if (v->shape.rank < 0 || v->shape.rank > BCL_MAX_RANK)
            BAD(v->loc, "value %d has rank %d", i, v->shape.rank);
        if (v->kind == IRV_CONST && !v->data) BAD(v->loc, "constant %d has no data", i);
        if (v->kind == IRV_NODE && (!v->def || v->def->out != v))
            BAD(v->loc, "value %d is a node result without its node", i);
    }
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        if (!in_graph(g, v) || v->kind != IRV_PARAM) { BAD(NO_LOC, "parameter %d is not a parameter value of the graph", i); continue; }
        for (int j = 0; j < i; j++) {
            const IrValue *w = g->params.v[j];
            if (w && w->name && v->name && strcmp(w->name, v->name) == 0)
                BAD(v->loc, "parameter name '%s' is used twice", v->name);
        }
    }
    for (int i = 0; i < g->inputs.n; i++) {
        const IrValue *v = g->inputs.v[i];
        if (!in_graph(g, v) || v->kind != IRV_INPUT) BAD(NO_LOC, "input %d is not an input value of the graph", i);
    }

    /* defined[id]: the value is available at this point of the topological order. */
    char *defined = bcl_calloc((size_t)g->values.n + 1, 1);
    int *node_ids = bcl_malloc(sizeof(int) * ((size_t)g->nodes.n + 1));
    if (!defined || !node_ids) { free(defined); free(node_ids); return false; }
    for (int i = 0; i < g->values.n; i++) {
        const IrValue *v = g->values.v[i];
        if (v && v->kind != IRV_NODE) defined[i] = 1;
    }
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        if (!n) { BAD(NO_LOC, "node slot %d is empty", i); node_ids[i] = -1; continue; }
        node_ids[i] = n->id;
        for (int j = 0; j < i; j++)
            if (node_ids[j] == n->id) { BAD(n->loc, "node id %d is used twice", n->id); break; }
        if ((unsigned)n->op >= IR_OP_COUNT) { BAD(n->loc, "node %d has an unknown op %d", n->id, (int)n->op); continue; }
        const IrOpInfo *info = &ir_op_info[n->op];
        if (n->n_in < info->min_inputs || n->n_in > info->max_inputs) {
            BAD(n->loc, "%s node %d has %d inputs (expected %d to %d)", info->name, n->id, n->n_in,
                info->min_inputs, info->max_inputs);
            continue;
        }
        bool ok = true;
        const Shape *shapes[64];
        for (int k = 0; k < n->n_in; k++) {
            const IrValue *v = n->in[k];
            if (!in_graph(g, v)) { BAD(n->loc, "%s node %d: input %d is not a value of the graph", info->name, n->id, k); ok = false; continue; }
            if (!defined[v->id]) {
                BAD(n->loc, "%s node %d uses value %d before it is defined (not in topological order)",
                    info->name, n->id, v->id);
                ok = false;
            }
            shapes[k] = &v->shape;
        }
        if (!in_graph(g, n->out) || n->out->kind != IRV_NODE || n->out->def != n) {
            BAD(n->loc, "%s node %d: its result is not a node value of the graph pointing back to it",
                info->name, n->id);
            continue;
        }
        if (defined[n->out->id]) BAD(n->loc, "%s node %d: result %d defined twice", info->name, n->id, n->out->id);
        defined[n->out->id] = 1;
        if (!ok) continue;
        Shape s;
        char err[512];
        if (!ir_infer_shape(n->op, shapes, n->n_in, &n->attrs, &s, err, sizeof err)) {
            BAD(n->loc, "%s node %d: %s", info->name, n->id, err);
        } else if (!shape_eq(&s, &n->out->shape)) {
            char b1[160], b2[160];
            BAD(n->loc, "%s node %d: stored shape %s differs from the inferred %s", info->name, n->id,
                shape_str(&n->out->shape, b1, sizeof b1), shape_str(&s, b2, sizeof b2));
        }
        if (n->attrs.act >= IR_OP_COUNT || (n->attrs.act >= 0 && ir_op_info[n->attrs.act].kind != OPK_ELEMWISE))
            BAD(n->loc, "%s node %d: fused activation %d is not a unary op", op_name(n), n->id, n->attrs.act);
    }
    if (g->outputs.n == 0) BAD(NO_LOC, "graph has no outputs");
    for (int i = 0; i < g->outputs.n; i++) {
        const IrValue *v = g->outputs.v[i];
        if (!in_graph(g, v)) BAD(NO_LOC, "output %d is not a value of the graph", i);
        else if (!defined[v->id]) BAD(v->loc, "output %d (value %d) is never computed", i, v->id);
    }
    free(defined);
    free(node_ids);
#undef BAD
    return errors == 0;
}
