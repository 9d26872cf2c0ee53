/* bcl-opt: reads textual IR (or a .bcl model), runs a pass pipeline, prints the
 * resulting IR. The tool behind the pass lit tests (tests/lit/passes).
 * Exit status: 0 success, 1 user error (a diagnostic was printed), 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pipeline.h"
#include "support/diag.h"
#include "ir/ir.h"

static void usage(FILE *out)
{
    fputs("usage: bcl-opt [options] FILE\n"
          "Reads FILE (textual IR, or a .bcl model: a name ending in .bcl, or --model NAME;\n"
          "'-' is stdin), binds weights if given (so fold-bn and fold-constants compute\n"
          "data), runs the passes (default -O0: none) and prints the resulting IR.\n"
          "The build options (--model, --cfg, -o, -I, --input-shape) apply to a .bcl model.\n\n"
          "  --output FILE          write the IR to FILE instead of stdout\n"
          "  --print-memplan        print the memory plan of the result after the IR\n"
          "  --stats                per pass, nodes before and after (to stderr)\n"
          "  --no-output            do not print the resulting IR\n", out);
    bcl_model_options_help(out, BCL_OPT_MODEL | BCL_OPT_WEIGHTS | BCL_OPT_PASSES);
    fputs("\nPasses:\n", out);
    bcl_list_passes(out);
    fputs("\nDefault pipelines:\n", out);
    for (int l = 0; l <= 2; l++) fprintf(out, "  -O%d  %s\n", l, *bcl_default_pipeline(l) ? bcl_default_pipeline(l) : "(none)");
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "bcl-opt: error: %s%s\n(see 'bcl-opt --help')\n", msg, arg ? arg : "");
    return 2;
}

enum { GROUPS = BCL_OPT_MODEL | BCL_OPT_WEIGHTS | BCL_OPT_PASSES };

/* The whole file (or stdin) as a Source in a; NULL after a diagnostic. */
static Source *read_source(Arena *a, Diag *d, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        diag_error_path(d, path, "cannot open file");
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) { free(buf); buf = NULL; }
        else buf = nb;
    }
    bool err = ferror(f);
    if (!is_stdin) fclose(f);
    if (!buf || err) {
        free(buf);
        diag_error_path(d, path, "cannot read file");
        return NULL;
    }
    Source *s = ARENA_NEW(a, Source);
    s->path = arena_strdup(a, is_stdin ? "<stdin>" : path);
    s->text = arena_strndup(a, buf, n);
    s->len = n;
    free(buf);
    return s;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int main(int argc, char **argv)
{
    const char *out_path = NULL;
    bool memplan = false, no_output = false;
    BclModelOptions o;
    bcl_model_options_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((r = bcl_model_option(&o, GROUPS, "bcl-opt", argc, argv, &i)) != 0) {
            if (r < 0) return 2;
        } else if (!strcmp(a, "--stats")) {
            o.pass_opt.stats = true;
        } else if (!strcmp(a, "--print-memplan")) {
            memplan = true;
        } else if (!strcmp(a, "--no-output")) {
            no_output = true;
        } else if (!strcmp(a, "--output") || !strncmp(a, "--output=", 9)) {
            if (a[8] == '=') out_path = a + 9;
            else if (++i == argc) return usage_error("option --output needs a value", NULL);
            else out_path = argv[i];
        } else {
            return usage_error("unknown option ", a);
        }
    }
    if (bcl_model_options_finish(&o, "bcl-opt", false)) return 2;
    const char *path = o.build.path;
    if (!path && !o.build.model_name) return usage_error("no input file", NULL);
    bool is_model = o.build.model_name || ends_with(path, ".bcl");
    if (!is_model && (o.build.cfg_name || o.build.n_overrides || o.build.n_include_dirs || o.build.has_input_shape))
        return usage_error("--cfg, -o, -I and --input-shape apply to a .bcl model, not to textual IR", NULL);

    Diag d;
    diag_init(&d, stderr);
    if (o.max_errors >= 0) d.max_errors = o.max_errors;
    Arena arena;
    arena_init(&arena);
    int rc = 1;
    IrGraph *g = NULL;
    if (is_model) {
        g = bcl_pipeline_build(&o, &arena, &d);
    } else {
        Source *src = read_source(&arena, &d, path);
        if (src) g = ir_parse(&arena, &d, src);
    }
    if (!g || d.n_errors) goto done;
    if (bcl_pipeline_weights(g, &o, &d)) goto done;
    if (!ir_verify(g, &d)) {
        diag_error_path(&d, path ? path : o.build.model_name, "the input IR is invalid");
        goto done;
    }
    if (bcl_pipeline_passes(g, &o, bcl_default_pipeline(0), &d) != 0) goto done;

    FILE *out = stdout;
    if (out_path && !(out = fopen(out_path, "w"))) {
        diag_error_path(&d, out_path, "cannot open for writing");
        goto done;
    }
    if (!no_output) ir_print(out, g);
    if (memplan) bcl_print_memplan(out, g, bcl_plan_memory(g, &arena));
    if (out != stdout && fclose(out) != 0) {
        diag_error_path(&d, out_path, "cannot write");
        goto done;
    }
    rc = 0;
done:
    arena_free(&arena);
    return rc;
}
