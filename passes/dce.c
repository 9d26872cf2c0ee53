/* dce: nodes whose result reaches no graph output are removed (IR ops have no side effects). */
#include "passes/pass_util.h"

int pass_dce(IrGraph *g, Diag *d)
{
    (void)d;
    int removed = pu_remove_dead(g);
    pu_compact(g);
    return removed;
}
