/* bcl_print_memplan: a memory plan (ir/memplan.c: the interpreter's, or the one an
 * engine runs, bcl_jit_memplan) as text, numbered as ir_print numbers values, with the
 * peak against the sum of activation sizes. */
#include <stdlib.h>

#include "passes/pass_util.h"
#include "support/oom.h"

/* The number ir_print gives a value: inputs, params, consts, then node results. */
static void print_ref(FILE *out, const IrGraph *g, const IrValue *v, const int *num)
{
    if ((v->kind == IRV_INPUT || v->kind == IRV_PARAM) && v->name && v->name[0]) fprintf(out, "%%%s", v->name);
    else fprintf(out, "%%%d", num[v->id]);
}

void bcl_print_memplan(FILE *out, const IrGraph *g, const MemPlan *p)
{
    int nv = g->values.n;
    int *num = bcl_xmalloc(sizeof(int) * (size_t)(nv ? nv : 1));
    int k = 0;
    for (int i = 0; i < g->inputs.n; i++) num[((IrValue *)g->inputs.v[i])->id] = k++;
    for (int i = 0; i < g->params.n; i++) num[((IrValue *)g->params.v[i])->id] = k++;
    for (int i = 0; i < nv; i++)
        if (((IrValue *)g->values.v[i])->kind == IRV_CONST) num[i] = k++;
    for (int i = 0; i < g->nodes.n; i++) num[((IrNode *)g->nodes.v[i])->out->id] = k++;

    if (p->engine) {
        fprintf(out, "memory plan of the %s engine for @%s (one arena, offsets aligned to %d bytes):\n", p->engine,
                g->name ? g->name : "", BCL_MEMPLAN_ALIGN);
        if (p->images > 1)
            fprintf(out, "  (image by image: sizes are one image's of %lld; %d cop%s of the arena for images on parallel threads)\n",
                    (long long)p->images, p->sets > 1 ? p->sets : 1, p->sets > 1 ? "ies" : "y");
        if (p->images > 1 && p->batch_from > 0 && p->batch_from < g->nodes.n) {
            fputs("  (from ", out);
            print_ref(out, g, ((const IrNode *)g->nodes.v[p->batch_from])->out, num);
            fputs(" on: once over the whole batch, sizes are the batch's)\n", out);
        }
    } else {
        fprintf(out, "memory plan for @%s (offsets aligned to %d bytes):\n", g->name ? g->name : "", BCL_MEMPLAN_ALIGN);
    }
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        const IrValue *v = n->out;
        if (v->id >= p->n_values) continue;
        char sb[160];
        fputs("  ", out);
        print_ref(out, g, v, num);
        fprintf(out, " = %s f32%s: ", ir_op_info[n->op].name, shape_str(&v->shape, sb, sizeof sb));
        int how = p->how ? p->how[v->id] : MEMPLAN_OWN;
        if (how == MEMPLAN_FUSED) fprintf(out, "size %lld, no buffer (computed by its reader)", (long long)p->size[v->id]);
        else if (how == MEMPLAN_OUTPUT) fprintf(out, "size %lld, written into the caller's output", (long long)p->size[v->id]);
        else fprintf(out, "offset %lld, size %lld", (long long)p->offset[v->id], (long long)p->size[v->id]);
        int s = p->shares[v->id];
        if (s >= 0) {
            fputs(n->op == IR_RESHAPE ? " (view of " : " (in place of ", out);
            print_ref(out, g, g->values.v[s], num);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    for (int k = 0; k < p->n_scratch; k++) {
        fputs("  scratch of ", out);
        print_ref(out, g, g->values.v[p->scratch_value[k]], num);
        fprintf(out, ": offset %lld, size %lld\n", (long long)p->scratch_offset[k], (long long)p->scratch_size[k]);
    }
    fprintf(out, "peak: %lld bytes (%.1f%% of %lld bytes of activations)\n", (long long)p->peak,
            p->total > 0 ? 100.0 * (double)p->peak / (double)p->total : 0.0, (long long)p->total);
    free(num);
}
