/* The model options every tool takes, parsed in one place with one help text
 * (api/pipeline.h): bclc's commands, bclc compile and bcl-opt. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/pipeline.h"
#include "support/limits.h"

void bcl_model_options_init(BclModelOptions *o)
{
    memset(o, 0, sizeof *o);
    o->build.overrides = o->overrides;
    o->build.include_dirs = o->include_dirs;
    o->max_errors = -1;
}

int bcl_usage_error(const char *tool, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", tool);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see '%s --help')\n", tool);
    va_end(ap);
    return -1;
}

bool bcl_input_shape_ok(const Shape *s, char *err, size_t err_len)
{
    if (s->rank < 1 || s->rank > BCL_MAX_RANK) {
        snprintf(err, err_len, "an input shape needs 1 to %d dims, got %d", BCL_MAX_RANK, s->rank);
        return false;
    }
    for (int i = 0; i < s->rank; i++)
        if (s->d[i] < 1 || s->d[i] > BCL_MAX_INPUT_DIM) {
            snprintf(err, err_len, "input shape dim %d is %lld; dims must be from 1 to %lld", i,
                     (long long)s->d[i], BCL_MAX_INPUT_DIM);
            return false;
        }
    return true;
}

bool bcl_parse_input_shape(const char *text, Shape *out)
{
    Shape s = {0};
    const char *p = text;
    for (;;) {
        if (*p < '0' || *p > '9' || s.rank == 4) return false;   /* digits only: no sign, no space */
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno == ERANGE || v > BCL_MAX_INPUT_DIM) return false;
        s.d[s.rank++] = v;
        p = end;
        if (*p == '\0') break;
        if (*p++ != ',') return false;    /* a trailing comma fails on the next digit check */
    }
    char err[128];
    if (s.rank != 4 || !bcl_input_shape_ok(&s, err, sizeof err)) return false;
    *out = s;
    return true;
}

static const struct {
    const char *flag;
    int64_t min, max;
} limits[] = {
    [BCL_LIMIT_MAX_STEPS] = {"--max-steps", 1, BCL_MAX_STEPS_CAP},
    [BCL_LIMIT_MAX_PARAM_ELEMS] = {"--max-param-elems", 1, BCL_MAX_PARAM_ELEMS_CAP},
    [BCL_LIMIT_MAX_ERRORS] = {"--max-errors", 0, 1000000000},
};

bool bcl_limit_ok(BclLimit which, int64_t value, char *err, size_t err_len)
{
    if (value >= limits[which].min && value <= limits[which].max) return true;
    snprintf(err, err_len, "%s expects a count from %lld to %lld, got %lld", limits[which].flag,
             (long long)limits[which].min, (long long)limits[which].max, (long long)value);
    return false;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE || v > max) return false;
    *out = v;
    return true;
}

/* A top-level name of the file, not a path or an expression. */
static bool is_identifier(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9')) return false;
    return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] == '\0';
}

/* Whether argv[*i] is flag, as "flag VALUE" (advancing *i) or "flag=VALUE": 1 with
 * *val set, 0 if not this flag, -1 if the value is missing (reported). */
static int takes(const char *flag, const char *tool, int argc, char **argv, int *i, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (!strcmp(a, flag)) {
        if (*i + 1 >= argc) return bcl_usage_error(tool, "option %s needs a value", flag);
        *val = argv[++*i];
        return 1;
    }
    if (!strncmp(a, flag, n) && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    return 0;
}

int bcl_model_option(BclModelOptions *o, unsigned groups, const char *tool, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *val = NULL;
    int r;
    uint64_t u;
#define TAKES(flag) ((r = takes(flag, tool, argc, argv, i, &val)) != 0)
    if (TAKES("-o") || TAKES("--override")) {
        if (r < 0) return -1;
        if (!strchr(val, '=') || val[0] == '=')
            return bcl_usage_error(tool, "-o expects KEY=VALUE (a config override; an output file is --output), got '%s'",
                         val);
        if (o->build.n_overrides == BCL_MAX_OVERRIDES) return bcl_usage_error(tool, "too many -o options");
        o->overrides[o->build.n_overrides++] = val;
        return 1;
    }
    if (TAKES("--cfg")) {
        if (r < 0) return -1;
        if (!is_identifier(val))
            return bcl_usage_error(tool, "--cfg expects the name of a dict defined in the file, got '%s'", val);
        o->build.cfg_name = val;
        return 1;
    }
    if (TAKES("--model")) {
        if (r < 0) return -1;
        o->build.model_name = val;
        return 1;
    }
    if (TAKES("--input-shape")) {
        if (r < 0) return -1;
        if (!bcl_parse_input_shape(val, &o->build.input_shape))
            return bcl_usage_error(tool, "--input-shape expects N,C,H,W: four positive integers up to %lld, got '%s'",
                         BCL_MAX_INPUT_DIM, val);
        o->build.has_input_shape = true;
        return 1;
    }
    if (!strncmp(a, "-I", 2) && (a[2] || TAKES("-I"))) {
        if (a[2]) val = a + 2;
        else if (r < 0) return -1;
        if (o->build.n_include_dirs == BCL_MAX_INCLUDE_DIRS) return bcl_usage_error(tool, "too many -I options");
        o->include_dirs[o->build.n_include_dirs++] = val;
        return 1;
    }
    /* the diagnostics cap and the compile-time budget (support/limits.h), bounded as
     * the C API bounds them (bcl_limit_ok) */
    static const struct {
        const char *flag;
        BclLimit which;
    } limit_flags[] = {
        {"--max-errors", BCL_LIMIT_MAX_ERRORS},
        {"--max-steps", BCL_LIMIT_MAX_STEPS},
        {"--max-param-elems", BCL_LIMIT_MAX_PARAM_ELEMS},
    };
    for (size_t k = 0; k < sizeof limit_flags / sizeof *limit_flags; k++) {
        if (!TAKES(limit_flags[k].flag)) continue;
        if (r < 0) return -1;
        BclLimit w = limit_flags[k].which;
        char err[200];
        if (!parse_u64(val, (uint64_t)limits[w].max, &u) || !bcl_limit_ok(w, (int64_t)u, err, sizeof err))
            return bcl_usage_error(tool, "%s expects a count from %lld to %lld, got '%s'", limits[w].flag,
                         (long long)limits[w].min, (long long)limits[w].max, val);
        if (w == BCL_LIMIT_MAX_ERRORS) o->max_errors = (int)u;
        else if (w == BCL_LIMIT_MAX_STEPS) o->build.max_steps = (long)u;
        else o->build.max_param_elems = (int64_t)u;
        return 1;
    }
    if (groups & BCL_OPT_WEIGHTS) {
        if (TAKES("--weights")) {
            if (r < 0) return -1;
            o->weights = val;
            return 1;
        }
        if (TAKES("--random-weights")) {
            if (r < 0) return -1;
            if (!parse_u64(val, INT64_MAX, &u))
                return bcl_usage_error(tool, "--random-weights expects a seed (a non-negative integer), got '%s'", val);
            o->has_seed = true;
            o->seed = u;
            return 1;
        }
        if (!strcmp(a, "--non-strict")) {
            o->non_strict = true;
            return 1;
        }
        if (TAKES("--strip-prefix")) {
            if (r < 0) return -1;
            o->strip_prefix = val;
            return 1;
        }
    }
    if (groups & BCL_OPT_PASSES) {
        if (TAKES("--passes")) {
            if (r < 0) return -1;
            if (o->pipeline_flag == 'O') return bcl_usage_error(tool, "give either --passes or -O, not both");
            o->pipeline = val;
            o->pipeline_flag = 'p';
            return 1;
        }
        if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '2' && !a[3]) {
            if (o->pipeline_flag == 'p') return bcl_usage_error(tool, "give either --passes or -O, not both");
            o->pipeline = bcl_default_pipeline(a[2] - '0');
            o->pipeline_flag = 'O';
            return 1;
        }
        if (TAKES("--print-after")) {
            if (r < 0) return -1;
            if (strcmp(val, "all") && !bcl_find_pass(val))
                return bcl_usage_error(tool, "unknown pass '%s' in --print-after", val);
            o->pass_opt.print_after = val;
            return 1;
        }
        if (!strcmp(a, "--verify-each")) {
            o->pass_opt.verify_each = true;
            return 1;
        }
    }
#undef TAKES
    if (a[0] == '-' && a[1]) return 0;   /* the tool's own option, or unknown */
    if (o->build.path) return bcl_usage_error(tool, "unexpected argument '%s' (one model file at a time)", a);
    o->build.path = a;
    return 1;
}

int bcl_model_options_finish(BclModelOptions *o, const char *tool, bool need_model)
{
    if (need_model && !o->build.path && !o->build.model_name)
        return bcl_usage_error(tool, "no model given: name a .bcl file or use --model NAME");
    if (o->pipeline) {
        Diag d;
        diag_init(&d, stderr);
        if (!bcl_check_pipeline(o->pipeline, &d)) {
            fprintf(stderr, "(see '%s --help' for the passes)\n", tool);
            return -1;
        }
    }
    return 0;
}

void bcl_model_options_help(FILE *out, unsigned groups)
{
    fputs("Model options:\n"
          "  FILE                   a .bcl model file (or use --model NAME)\n"
          "  --model NAME           build a registered model with its default config\n"
          "  --cfg NAME             the config dict to use (default _cfg)\n"
          "  -o KEY=VALUE           override a config field (dotted path); VALUE is a Python\n"
          "                         literal, anything else is taken as a string\n"
          "  --input-shape N,C,H,W  input shape: four positive integers, nothing else\n"
          "                         (default 1,C,S,S: C = len(preprocess.img_mean) or 3,\n"
          "                         S = test.img_size or preprocess.img_size or 224)\n"
          "  -I DIR                 also look for imported .bcl files in DIR\n"
          "  --max-errors N         show at most N errors, then \"too many errors\" (default 20;\n"
          "                         0 shows all)\n"
          "  --max-steps N          compile-time budget: statements and loop turns the model's\n"
          "                         Python may run (default 5,000,000)\n"
          "  --max-param-elems N    compile-time budget: elements of all parameters and buffers\n"
          "                         (default 2^36 = 68719476736)\n"
          "  -h, --help             show this help\n", out);
    if (groups & BCL_OPT_WEIGHTS)
        fputs("Weights options:\n"
              "  --weights W            weights by state-dict key: .pkl (BaseCls/MegEngine),\n"
              "                         .pth/.pt (PyTorch), .safetensors or .npz (docs/eval.md)\n"
              "  --strip-prefix P       remove P from the start of the file's keys (keys that all\n"
              "                         share a prefix the model lacks match without it anyway)\n"
              "  --random-weights SEED  deterministic random weights (no trained weights; results\n"
              "                         are meaningless, useful for testing and timing)\n"
              "  --non-strict           missing, unexpected and mismatched keys are warnings, and\n"
              "                         parameters the file does not give start from their\n"
              "                         initialiser (seed: --random-weights, else 0), named in a\n"
              "                         warning\n", out);
    if (groups & BCL_OPT_PASSES)
        fputs("Optimization options:\n"
              "  -O0, -O1, -O2          the default pass pipeline of that level\n"
              "  --passes=LIST          run these passes, comma-separated (see 'bcl-opt --help')\n"
              "  --print-after=PASS     print the graph after PASS (or 'all')\n"
              "  --verify-each          check the graph after every pass\n", out);
}
