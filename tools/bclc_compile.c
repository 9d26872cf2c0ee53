/* bclc compile: ahead-of-time compilation of a model to a relocatable object (or
 * assembly / LLVM IR / bitcode) plus a C header (backend/llvm/aot.h, docs/deploy.md).
 * Parses its own options: -o is bclc's config override, so the object goes to
 * --output (--out). Exit status as bclc: 0, 1 user error, 2 usage error. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "io/weights.h"
#include "backend/llvm/aot.h"
#include "frontend/build.h"
#include "support/diag.h"
#include "ir/ir.h"
#include "passes/pass.h"

int bclc_cmd_compile(int argc, char **argv);

static const char compile_help[] =
    "usage: bclc compile FILE (--weights W | --random-weights SEED) [--output model.o]\n"
    "                    [--header model.h] [--name PREFIX] [--target-cpu CPU]\n"
    "                    [--threads N] [--emit=obj|asm|llvm|bc]\n"
    "                    [--embed-weights | --weights-out model.bin] [options]\n"
    "Compiles the model ahead of time (the JIT's code, weights embedded) into a\n"
    "relocatable position-independent object exporting PREFIX_create, PREFIX_run and\n"
    "PREFIX_destroy; link it with libbclrt.a, -lm and -lpthread (docs/deploy.md).\n"
    "  --output FILE, --out   the output file (default PREFIX.o, .s, .ll or .bc)\n"
    "  --header FILE          also write the C header (entry points, shapes, sizes)\n"
    "  --embed-weights        weights (packed) inside the object (the default)\n"
    "  --weights-out FILE     write them to FILE instead; the program then calls\n"
    "                         PREFIX_create_from_file(FILE) (a small object)\n"
    "  --name PREFIX          entry point prefix (default: the model name, lowercased)\n"
    "  --weights W            weights by state-dict key (.safetensors or .npz)\n"
    "  --non-strict           missing/unexpected/mismatched weights are warnings\n"
    "  --random-weights SEED  embed deterministic random weights instead\n"
    "  --target-cpu CPU       native (default: this host's CPU and features), x86-64,\n"
    "                         x86-64-v2, x86-64-v3 (AVX2) or x86-64-v4 (AVX-512)\n"
    "  --threads N            worker threads at run time (default: BCL_NUM_THREADS,\n"
    "                         else all cores)\n"
    "  --emit=KIND            obj (default), asm, llvm (textual IR) or bc (bitcode)\n"
    "  -O0..-O3, --passes=L   the graph passes before code generation (default -O2)\n"
    "Model options:\n"
    "  FILE                   a .bcl model file (or use --model NAME)\n"
    "  --model NAME           build a registered model with its default config\n"
    "  --cfg NAME             the config dict to use (default _cfg)\n"
    "  -o KEY=VALUE           override a config field (NOT the output file: --output)\n"
    "  --input-shape N,C,H,W  input shape (default 1,C,S,S: C = len(preprocess.img_mean)\n"
    "                         or 3, S = test.img_size or preprocess.img_size or 224)\n"
    "  -I DIR                 also look for imported .bcl files in DIR\n"
    "  -h, --help             show this help\n";

typedef struct CompileOpts {
    BclBuildOptions build;
    const char *overrides[256];
    const char *include_dirs[64];
    const char *weights, *output, *header, *name, *cpu, *pipeline, *weights_out;
    int has_seed, non_strict, threads;
    uint64_t seed;
    BclEmitKind emit;
} CompileOpts;

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "bclc compile: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'bclc compile --help')\n");
    return -1;
}

static int parse_shape4(const char *s, Shape *sh)
{
    memset(sh, 0, sizeof *sh);
    const char *p = s;
    while (*p) {
        char *e;
        long long v = strtoll(p, &e, 10);
        if (e == p || v <= 0 || sh->rank == 8) return 1;
        sh->d[sh->rank++] = v;
        p = e;
        if (*p == ',') p++;
        else if (*p) return 1;
    }
    return sh->rank == 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *e;
    if (!*s || !isdigit((unsigned char)*s)) return 1;
    unsigned long long v = strtoull(s, &e, 10);
    if (*e || v > max) return 1;
    *out = v;
    return 0;
}

/* 1: help printed; -1: usage error; 0: go on. */
static int parse(int argc, char **argv, CompileOpts *o)
{
    memset(o, 0, sizeof *o);
    o->build.overrides = o->overrides;
    o->build.include_dirs = o->include_dirs;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
#define TAKES(flag)                                                                              \
    (!strcmp(a, flag) ? (i + 1 < argc ? (val = argv[++i], 1) : (usage("option %s needs a value", flag), -1)) \
     : (!strncmp(a, flag "=", sizeof(flag)) ? (val = a + sizeof(flag), 1) : 0))
        int r;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compile_help, stdout);
            return 1;
        } else if ((r = TAKES("-o")) != 0 || (r = TAKES("--override")) != 0) {
            if (r < 0) return -1;
            if (!strchr(val, '=') || val[0] == '=')
                return usage("-o expects KEY=VALUE (a config override; the output file is --output), got '%s'", val);
            if (o->build.n_overrides == 256) return usage("%s", "too many -o options");
            o->overrides[o->build.n_overrides++] = val;
        } else if ((r = TAKES("--cfg")) != 0) {
            if (r < 0) return -1;
            o->build.cfg_name = val;
        } else if ((r = TAKES("--model")) != 0) {
            if (r < 0) return -1;
            o->build.model_name = val;
        } else if ((r = TAKES("--input-shape")) != 0) {
            if (r < 0) return -1;
            if (parse_shape4(val, &o->build.input_shape))
                return usage("--input-shape expects N,C,H,W with positive sizes, got '%s'", val);
            o->build.has_input_shape = true;
        } else if (!strncmp(a, "-I", 2) && a[2]) {
            if (o->build.n_include_dirs == 64) return usage("%s", "too many -I options");
            o->include_dirs[o->build.n_include_dirs++] = a + 2;
        } else if ((r = TAKES("-I")) != 0) {
            if (r < 0) return -1;
            if (o->build.n_include_dirs == 64) return usage("%s", "too many -I options");
            o->include_dirs[o->build.n_include_dirs++] = val;
        } else if ((r = TAKES("--weights")) != 0) {
            if (r < 0) return -1;
            o->weights = val;
        } else if (!strcmp(a, "--non-strict")) {
            o->non_strict = 1;
        } else if ((r = TAKES("--random-weights")) != 0) {
            if (r < 0) return -1;
            if (parse_u64(val, INT64_MAX, &u))
                return usage("--random-weights expects a seed (a non-negative integer), got '%s'", val);
            o->has_seed = 1;
            o->seed = u;
        } else if ((r = TAKES("--output")) != 0 || (r = TAKES("--out")) != 0) {
            if (r < 0) return -1;
            o->output = val;
        } else if (!strcmp(a, "--embed-weights")) {
            o->weights_out = NULL;   /* the default, accepted explicitly */
        } else if ((r = TAKES("--weights-out")) != 0) {
            if (r < 0) return -1;
            o->weights_out = val;
        } else if ((r = TAKES("--header")) != 0) {
            if (r < 0) return -1;
            o->header = val;
        } else if ((r = TAKES("--name")) != 0) {
            if (r < 0) return -1;
            bool ok = (isalpha((unsigned char)val[0]) || val[0] == '_') && strlen(val) < 200;
            for (const char *p = val; *p && ok; p++) ok = isalnum((unsigned char)*p) || *p == '_';
            if (!ok) return usage("--name expects a C identifier (letters, digits, _), got '%s'", val);
            o->name = val;
        } else if ((r = TAKES("--target-cpu")) != 0) {
            if (r < 0) return -1;
            o->cpu = val;
        } else if ((r = TAKES("--threads")) != 0) {
            if (r < 0) return -1;
            if (parse_u64(val, 1024, &u) || u < 1)
                return usage("--threads expects a count from 1 to 1024, got '%s'", val);
            o->threads = (int)u;
        } else if ((r = TAKES("--emit")) != 0) {
            if (r < 0) return -1;
            if (!strcmp(val, "obj")) o->emit = BCL_EMIT_OBJ;
            else if (!strcmp(val, "asm")) o->emit = BCL_EMIT_ASM;
            else if (!strcmp(val, "llvm")) o->emit = BCL_EMIT_LLVM;
            else if (!strcmp(val, "bc")) o->emit = BCL_EMIT_BC;
            else return usage("--emit expects obj, asm, llvm or bc, got '%s'", val);
        } else if ((r = TAKES("--passes")) != 0) {
            if (r < 0) return -1;
            o->pipeline = val;
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
            o->pipeline = bcl_default_pipeline(a[2] - '0');
        } else if (a[0] == '-' && a[1]) {
            return usage("unknown option '%s'", a);
        } else {
            if (o->build.path) return usage("unexpected argument '%s' (one model file at a time)", a);
            o->build.path = a;
        }
#undef TAKES
    }
    if (!o->build.path && !o->build.model_name)
        return usage("%s", "no model given: name a .bcl file or use --model NAME");
    if (!o->weights && !o->has_seed)
        return usage("%s", "give --weights W.safetensors, or --random-weights SEED to embed random weights");
    if (o->pipeline) {
        Diag d;
        diag_init(&d, stderr);
        if (!bcl_check_pipeline(o->pipeline, &d)) return -1;
    }
    return 0;
}

/* The default prefix: the model's name lowercased, non-identifier characters as _. */
static void default_prefix(const char *model, char *out, size_t cap)
{
    size_t n = 0;
    if (!model || !*model) model = "model";
    if (isdigit((unsigned char)model[0])) out[n++] = 'm';
    for (const char *p = model; *p && n + 1 < cap; p++)
        out[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    out[n] = 0;
}

int bclc_cmd_compile(int argc, char **argv)
{
    CompileOpts o;
    int r = parse(argc, argv, &o);
    if (r) return r > 0 ? 0 : 2;
    Arena arena;
    Diag d;
    arena_init(&arena);
    diag_init(&d, stderr);
    IrGraph *g = bcl_build(&o.build, &arena, &d);
    if (!g && !d.n_errors) diag_error(&d, NO_LOC, "could not build the model");
    if (g && !d.n_errors && o.weights) {
        StFile f;
        if (bcl_read_weights(o.weights, &f, &d) == 0) {
            bcl_bind_weights(g, &f, o.weights, !o.non_strict, &d);
            st_free(&f);
        }
    }
    if (g && !d.n_errors && o.has_seed) bcl_random_weights(g, o.seed);
    if (g && !d.n_errors) bcl_run_passes(g, o.pipeline ? o.pipeline : bcl_default_pipeline(2), NULL, &d);
    if (g && !d.n_errors) {
        char prefix[256], out_buf[300];
        if (o.name) snprintf(prefix, sizeof prefix, "%s", o.name);
        else default_prefix(g->name, prefix, sizeof prefix);
        static const char *const ext[] = {"o", "s", "ll", "bc"};
        if (!o.output) {
            snprintf(out_buf, sizeof out_buf, "%s.%s", prefix, ext[o.emit]);
            o.output = out_buf;
        }
        BclAotOptions ao = {prefix, o.cpu, o.threads, o.emit, o.weights_out};
        BclAotInfo info;
        if (bcl_aot_compile(g, &ao, o.output, &info, &d) == 0 && o.header) {
            FILE *f = fopen(o.header, "w");
            if (!f) {
                diag_error_path(&d, o.header, "cannot write the header");
            } else {
                if (bcl_aot_write_header(f, g, prefix, &info)) diag_error_path(&d, o.header, "write failed");
                if (fclose(f)) diag_error_path(&d, o.header, "write failed");
            }
        }
    }
    arena_free(&arena);
    return d.n_errors ? 1 : 0;
}
