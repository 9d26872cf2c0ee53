/* Textual IR writer. The format is documented in docs/internals/ir.md; ir_parse reads
 * it back. Values are numbered densely in print order (inputs, params, consts, nodes)
 * so the text does not depend on how the graph was built. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "support/oom.h"

static bool is_ident(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
    return true;
}

static void print_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_name(FILE *f, char sigil, const char *s)
{
    fputc(sigil, f);
    if (is_ident(s)) fputs(s, f);
    else print_quoted(f, s);
}

typedef struct Printer {
    FILE *f;
    const IrGraph *g;
    int *num;          /* value id -> print index, -1 if not printed yet */
    int next;
} Printer;

static bool has_name(const IrValue *v)
{
    return (v->kind == IRV_INPUT || v->kind == IRV_PARAM) && v->name && v->name[0];
}

static void print_ref(Printer *p, const IrValue *v)
{
    if (has_name(v)) {
        print_name(p->f, '%', v->name);
    } else if (v->id >= 0 && v->id < p->g->values.n && p->num[v->id] >= 0) {
        fprintf(p->f, "%%%d", p->num[v->id]);
    } else {
        fprintf(p->f, "%%?%d", v->id);   /* a broken graph: not parseable, but visible */
    }
}

static void define(Printer *p, const IrValue *v)
{
    if (v->id >= 0 && v->id < p->g->values.n) p->num[v->id] = p->next;
    p->next++;
    print_ref(p, v);
}

static void print_type(FILE *f, const Shape *s)
{
    char buf[256];
    fprintf(f, "f32%s", shape_str(s, buf, sizeof buf));
}

static void print_ints(FILE *f, const char *key, const int64_t *v, int n)
{
    fprintf(f, "%s = [", key);
    for (int i = 0; i < n; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)v[i]);
    fputc(']', f);
}

static void print_loc(FILE *f, SrcLoc loc)
{
    if (loc.src && loc.src->path) fprintf(f, "  # %s:%d:%d", loc.src->path, loc.line, loc.col);
}

static void print_attrs(FILE *f, const IrNode *n)
{
    const IrAttrs *a = &n->attrs;
    unsigned m = (unsigned)n->op < IR_OP_COUNT ? ir_op_info[n->op].attrs : 0;   /* ops.def ATTRS */
    int rank = n->n_in > 0 && n->in[0] ? n->in[0]->shape.rank : 0;
    if (rank < 0 || rank > BCL_MAX_RANK) rank = 0;
    bool first = true;
#define SEP() (fputs(first ? " {" : ", ", f), first = false)
    if (m & IRA_KERNEL) { SEP(); print_ints(f, "kernel", a->kernel, 2); }
    if (m & IRA_STRIDE) { SEP(); print_ints(f, "stride", a->stride, 2); }
    if (m & IRA_PAD) { SEP(); print_ints(f, "pad", a->pad, 4); }
    if (m & IRA_DILATION) { SEP(); print_ints(f, "dilation", a->dilation, 2); }
    if (m & IRA_GROUPS) { SEP(); fprintf(f, "groups = %lld", (long long)a->groups); }
    if (m & IRA_COUNT_INCLUDE_PAD) { SEP(); fprintf(f, "count_include_pad = %s", a->count_include_pad ? "true" : "false"); }
    if ((m & IRA_FLATTEN) && a->flatten) { SEP(); fputs("flatten = true", f); }
    if (m & IRA_N_AXES) { SEP(); fprintf(f, "n_axes = %d", a->n_axes); }
    if (m & IRA_EPS) { SEP(); fprintf(f, "eps = %.9g", a->eps); }
    if (m & IRA_ALPHA) { SEP(); fprintf(f, "alpha = %.9g", a->alpha); }
    if (m & IRA_AXIS) { SEP(); fprintf(f, "axis = %lld", (long long)a->axis); }
    if (m & IRA_AXES) {
        SEP();
        print_ints(f, "axes", a->axes, a->n_axes >= 0 && a->n_axes <= BCL_MAX_RANK ? a->n_axes : 0);
    }
    if (m & IRA_KEEPDIM) { SEP(); fprintf(f, "keepdim = %s", a->keepdim ? "true" : "false"); }
    if (m & IRA_SHAPE) {
        SEP();
        int r = a->shape.rank >= 0 && a->shape.rank <= BCL_MAX_RANK ? a->shape.rank : 0;
        print_ints(f, "shape", a->shape.d, r);
    }
    if (m & IRA_PERM) { SEP(); print_ints(f, "perm", a->perm, rank); }
    if (m & IRA_BEGIN) { SEP(); print_ints(f, "begin", a->begin, rank); }
    if (m & IRA_END) { SEP(); print_ints(f, "end", a->end, rank); }
    if (m & IRA_STEP) { SEP(); print_ints(f, "step", a->step, rank); }
    if (m & IRA_PADS) { SEP(); print_ints(f, "pads", a->pads, 2 * rank); }
    if (m & IRA_VALUE) { SEP(); fprintf(f, "value = %.9g", a->value); }
    if (m & IRA_SHIFTS) { SEP(); print_ints(f, "shifts", a->shifts, rank); }
    if (a->act >= 0 && a->act < IR_OP_COUNT) {
        SEP();
        fprintf(f, "act = %s", ir_op_info[a->act].name);
        if (a->act == IR_LEAKY_RELU || a->act == IR_ELU) fprintf(f, ", act_alpha = %.9g", a->act_alpha);
    }
#undef SEP
    if (!first) fputc('}', f);
}

void ir_print(FILE *f, const IrGraph *g) { ir_print_values(f, g, true); }

void ir_print_values(FILE *f, const IrGraph *g, bool values)
{
    Printer p = {f, g, NULL, 0};
    p.num = bcl_malloc(sizeof(int) * (size_t)(g->values.n ? g->values.n : 1));
    if (!p.num) return;
    for (int i = 0; i < g->values.n; i++) p.num[i] = -1;

    fputs("graph ", f);
    print_name(f, '@', g->name ? g->name : "");
    fputs(" {\n", f);
    for (int i = 0; i < g->inputs.n; i++) {
        const IrValue *v = g->inputs.v[i];
        fputs("  input ", f);
        define(&p, v);
        fputs(": ", f);
        print_type(f, &v->shape);
        print_loc(f, v->loc);
        fputc('\n', f);
    }
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        fputs("  param ", f);
        define(&p, v);
        fputs(": ", f);
        print_type(f, &v->shape);
        fprintf(f, " {init = %s", ir_init_name(v->init));
        int n_args = ir_init_n_args(v->init);
        for (int k = 0; k < n_args; k++) fprintf(f, "%s%.9g", k ? ", " : "(", v->init_args[k]);
        fputs(n_args ? ")}" : "}", f);
        print_loc(f, v->loc);
        fputc('\n', f);
    }
    for (int i = 0; i < g->values.n; i++) {
        const IrValue *v = g->values.v[i];
        if (v->kind != IRV_CONST) continue;
        fputs("  const ", f);
        define(&p, v);
        fputs(": ", f);
        print_type(f, &v->shape);
        fputs(" = [", f);
        int64_t n = shape_numel(&v->shape);
        for (int64_t k = 0; k < n && v->data && values; k++) fprintf(f, "%s%.9g", k ? ", " : "", v->data[k]);
        fputc(']', f);
        print_loc(f, v->loc);
        fputc('\n', f);
    }
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        fputs("  ", f);
        define(&p, n->out);
        fputs(": ", f);
        print_type(f, &n->out->shape);
        fprintf(f, " = %s(", (unsigned)n->op < IR_OP_COUNT ? ir_op_info[n->op].name : "?");
        for (int k = 0; k < n->n_in; k++) {
            if (k) fputs(", ", f);
            print_ref(&p, n->in[k]);
        }
        fputc(')', f);
        print_attrs(f, n);
        print_loc(f, n->loc);
        fputc('\n', f);
    }
    for (int i = 0; i < g->outputs.n; i++) {
        fputs("  output ", f);
        print_ref(&p, g->outputs.v[i]);
        fputc('\n', f);
    }
    fputs("}\n", f);
    free(p.num);
}
