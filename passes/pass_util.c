/* Graph-editing helpers shared by the passes (see pass_util.h). */
#include <stdlib.h>
#include <string.h>

#include "passes/pass_util.h"
#include "support/oom.h"

int *pu_use_counts(const IrGraph *g)
{
    int *u = bcl_xcalloc((size_t)(g->values.n ? g->values.n : 1), sizeof(int));
    ir_count_uses(g, u);
    return u;
}

bool pu_is_output(const IrGraph *g, const IrValue *v)
{
    for (int i = 0; i < g->outputs.n; i++)
        if (g->outputs.v[i] == v) return true;
    return false;
}

bool pu_can_replace(const IrGraph *g, const IrValue *from, const IrValue *to)
{
    return from != to && (to->kind == IRV_NODE || !pu_is_output(g, from));
}

void pu_replace_uses(IrGraph *g, IrValue *from, IrValue *to)
{
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (!n) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == from) n->in[k] = to;
    }
    for (int i = 0; i < g->outputs.n; i++)
        if (g->outputs.v[i] == from) g->outputs.v[i] = to;
}

void pu_remove_node(IrGraph *g, int i)
{
    BCL_ASSERT(i >= 0 && i < g->nodes.n && g->nodes.v[i] != NULL);
    g->nodes.v[i] = NULL;
}

int pu_node_index(const IrGraph *g, const IrNode *n)
{
    for (int i = 0; i < g->nodes.n; i++)
        if (g->nodes.v[i] == n) return i;
    return -1;
}

IrValue *pu_insert_node(IrGraph *g, int pos, IrOp op, IrValue *const *in, int n_in,
                        const IrAttrs *attrs, SrcLoc loc, Diag *d)
{
    IrValue *v = ir_add_node(g, op, in, n_in, attrs, loc, d);
    if (!v) return NULL;
    int last = g->nodes.n - 1;
    BCL_ASSERT(pos >= 0 && pos <= last);
    void *n = g->nodes.v[last];
    memmove(&g->nodes.v[pos + 1], &g->nodes.v[pos], sizeof(void *) * (size_t)(last - pos));
    g->nodes.v[pos] = n;
    return v;
}

IrValue *pu_new_const(IrGraph *g, const Shape *s, const float *data, const char *name)
{
    IrValue *v = data ? ir_add_const(g, s, data) : ir_add_const_owned(g, s, NULL);
    if (name) v->name = arena_strdup(g->arena, name);
    return v;
}

bool pu_has_data(const IrValue *v)
{
    return (v->kind == IRV_CONST || v->kind == IRV_PARAM) && v->data != NULL;
}

void pu_compact(IrGraph *g)
{
    int nn = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (!n) continue;
        n->id = nn;
        g->nodes.v[nn++] = n;
    }
    g->nodes.n = nn;

    int *uses = pu_use_counts(g);
    int nv = 0;
    for (int i = 0; i < g->values.n; i++) {
        IrValue *v = g->values.v[i];
        bool keep;
        switch (v->kind) {
        case IRV_INPUT: case IRV_PARAM: keep = true; break;
        case IRV_CONST: keep = uses[v->id] > 0; break;
        default: keep = v->def && v->def->id < nn && g->nodes.v[v->def->id] == v->def; break;
        }
        /* A removed node's result that is still referenced is a pass bug. */
        BCL_ASSERT(keep || uses[v->id] == 0);
        if (keep) g->values.v[nv++] = v;
    }
    free(uses);
    for (int i = 0; i < nv; i++) ((IrValue *)g->values.v[i])->id = i;
    g->values.n = nv;
}

int pu_remove_dead(IrGraph *g)
{
    int *uses = pu_use_counts(g);
    int removed = 0;
    /* Backwards: removing a node can only make earlier nodes dead. */
    for (int i = g->nodes.n - 1; i >= 0; i--) {
        IrNode *n = g->nodes.v[i];
        if (!n || uses[n->out->id] > 0) continue;
        for (int k = 0; k < n->n_in; k++) uses[n->in[k]->id]--;
        pu_remove_node(g, i);
        removed++;
    }
    free(uses);
    return removed;
}
