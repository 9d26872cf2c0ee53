/* plan-memory as a pipeline step: plans the graph's memory and checks the plan
 * (two activations live at the same time never overlap unless one is a view or an
 * in-place result of the other). The graph is not changed; the driver asks
 * bcl_plan_memory for the plan it uses. */
#include <stdlib.h>

#include "passes/pass_util.h"
#include "support/oom.h"

/* The buffer a value lives in: follow views and in-place results to the owner. */
static int owner(const MemPlan *p, int v)
{
    while (p->shares[v] >= 0) v = p->shares[v];
    return v;
}

int pass_plan_memory(IrGraph *g, Diag *d)
{
    (void)d;
    Arena a;
    arena_init(&a);
    MemPlan *p = bcl_plan_memory(g, &a);
    int nn = g->nodes.n, nv = g->values.n;
    /* Live range per value: [defining node, last use]; outputs to the end. */
    int *first = bcl_xmalloc(sizeof(int) * (size_t)(nv ? nv : 1) * 2);
    int *last = first + nv;
    for (int v = 0; v < nv; v++) first[v] = last[v] = -1;
    for (int i = 0; i < nn; i++) {
        const IrNode *n = g->nodes.v[i];
        first[n->out->id] = last[n->out->id] = i;
        for (int k = 0; k < n->n_in; k++) last[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last[((IrValue *)g->outputs.v[i])->id] = nn;
    for (int u = 0; u < nv; u++) {
        if (p->offset[u] < 0) continue;
        BCL_ASSERT(p->offset[u] + p->size[u] <= p->peak && p->offset[u] % BCL_MEMPLAN_ALIGN == 0);
        for (int v = u + 1; v < nv; v++) {
            if (p->offset[v] < 0 || owner(p, u) == owner(p, v)) continue;
            bool live = first[u] <= last[v] && first[v] <= last[u];
            bool overlap = p->offset[u] < p->offset[v] + p->size[v] && p->offset[v] < p->offset[u] + p->size[u];
            BCL_ASSERT(!(live && overlap));
        }
    }
    free(first);
    arena_free(&a);
    return 0;
}
