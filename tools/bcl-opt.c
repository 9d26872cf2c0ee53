/* bcl-opt: reads textual IR (or a .bcl model), runs a pass pipeline, prints the
 * resulting IR. The tool behind the pass lit tests (tests/lit/passes).
 * Exit status: 0 success, 1 user error (a diagnostic was printed), 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/weights.h"
#include "support/diag.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "frontend/build.h"

static void usage(FILE *out)
{
    fputs("usage: bcl-opt [options] FILE\n"
          "Reads FILE (textual IR or a .bcl model; '-' is\n"
          "stdin), runs the passes and prints the resulting IR.\n\n"
          "Options:\n"
          "  --passes=A,B,C       run these passes in order\n"
          "  -O0, -O1, -O2        run the default pipeline of that level\n"
          "  --print-after=NAME   print the IR to stderr after pass NAME ('all': after each)\n"
          "  --verify-each        verify the IR after every pass\n"
          "  --print-memplan      print the memory plan of the result after the IR\n"
          "  --stats              per pass, nodes before and after (to stderr)\n"
          "  --no-output          do not print the resulting IR\n"
          "  --weights W          bind weights (.safetensors, by state-dict key) first, so\n"
          "                       fold-bn and fold-constants compute data\n"
          "  --random-weights SEED  fill parameters without data with random values first\n"
          "  --input-shape N,C,H,W  the input shape for a .bcl model (default: from its config)\n"
          "  -o FILE              write the IR to FILE instead of stdout\n"
          "  -h, --help           show this help\n\n"
          "Passes:\n", out);
    bcl_list_passes(out);
    fputs("\nDefault pipelines:\n", out);
    for (int l = 0; l <= 2; l++) fprintf(out, "  -O%d  %s\n", l, *bcl_default_pipeline(l) ? bcl_default_pipeline(l) : "(none)");
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "bcl-opt: error: %s%s\n(see 'bcl-opt --help')\n", msg, arg ? arg : "");
    return 2;
}

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

/* "1,3,224,224" -> shape; false if malformed. */
static bool parse_shape(const char *s, Shape *shape)
{
    memset(shape, 0, sizeof *shape);
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v <= 0 || v > (1LL << 31) || shape->rank == BCL_MAX_RANK) return false;
        shape->d[shape->rank++] = v;
        s = end;
        if (*s == ',' && s[1]) s++;
        else if (*s) return false;
    }
    return shape->rank > 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *passes = NULL, *out_path = NULL;
    int level = -1;
    bool memplan = false, no_output = false, has_shape = false;
    Shape input_shape = {0};
    const char *weights = NULL;
    bool has_seed = false;
    unsigned long long seed = 0;
    PassOptions po = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strncmp(a, "--passes=", 9)) {
            passes = a + 9;
        } else if (!strcmp(a, "-O0") || !strcmp(a, "-O1") || !strcmp(a, "-O2")) {
            level = a[2] - '0';
        } else if (!strncmp(a, "--print-after=", 14)) {
            po.print_after = a + 14;
        } else if (!strcmp(a, "--verify-each")) {
            po.verify_each = true;
        } else if (!strcmp(a, "--stats")) {
            po.stats = true;
        } else if (!strcmp(a, "--print-memplan")) {
            memplan = true;
        } else if (!strncmp(a, "--input-shape=", 14) || !strcmp(a, "--input-shape")) {
            const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : "");
            if (!parse_shape(v, &input_shape)) return usage_error("bad --input-shape (want N,C,H,W): ", v);
            has_shape = true;
        } else if (!strcmp(a, "--weights")) {
            if (++i == argc) return usage_error("--weights needs a file name", NULL);
            weights = argv[i];
        } else if (!strcmp(a, "--random-weights")) {
            char *end;
            if (++i == argc) return usage_error("--random-weights needs a seed", NULL);
            seed = strtoull(argv[i], &end, 10);
            if (end == argv[i] || *end || argv[i][0] == '-')
                return usage_error("--random-weights expects a non-negative integer, got ", argv[i]);
            has_seed = true;
        } else if (!strcmp(a, "--no-output")) {
            no_output = true;
        } else if (!strcmp(a, "-o")) {
            if (++i == argc) return usage_error("-o needs a file name", NULL);
            out_path = argv[i];
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option ", a);
        } else if (path) {
            return usage_error("more than one input file: ", a);
        } else {
            path = a;
        }
    }
    if (!path) return usage_error("no input file", NULL);
    if (passes && level >= 0) return usage_error("give either --passes or -O, not both", NULL);
    const char *pipeline = passes ? passes : bcl_default_pipeline(level >= 0 ? level : 0);

    Diag d;
    diag_init(&d, stderr);
    Arena arena;
    arena_init(&arena);
    int rc = 1;
    IrGraph *g = NULL;
    if (ends_with(path, ".bcl")) {
        BclBuildOptions bo = {0};
        bo.path = path;
        bo.has_input_shape = has_shape;
        bo.input_shape = input_shape;
        g = bcl_build(&bo, &arena, &d);
    } else {
        Source *src = read_source(&arena, &d, path);
        if (src) g = ir_parse(&arena, &d, src);
    }
    if (!g || d.n_errors) goto done;
    if (weights) {
        StFile f;
        if (bcl_read_weights(weights, &f, &d) == 0) {
            bcl_bind_weights(g, &f, weights, 1, &d);
            st_free(&f);
        }
        if (d.n_errors) goto done;
    }
    if (has_seed) bcl_random_weights(g, seed);
    if (!ir_verify(g, &d)) {
        diag_error_path(&d, path, "the input IR is invalid");
        goto done;
    }
    if (bcl_run_passes(g, pipeline, &po, &d) != 0) goto done;

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
