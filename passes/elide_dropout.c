/* elide-dropout: dropout is the identity at inference, so dropout and identity nodes
 * vanish and their users read the input directly. */
#include "passes/pass_util.h"

int pass_elide_dropout(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (!n || (n->op != IR_DROPOUT && n->op != IR_IDENTITY)) continue;
        /* A graph output that is itself an input or a param keeps its identity node. */
        if (!pu_can_replace(g, n->out, n->in[0])) continue;
        pu_replace_uses(g, n->out, n->in[0]);
        pu_remove_node(g, i);
        n_rewrites++;
    }
    pu_compact(g);
    return n_rewrites;
}
