/* bclc compile: ahead-of-time compilation of a model to a relocatable object (or
 * assembly / LLVM IR / bitcode) plus a C header (backend/llvm/aot.h, docs/deploy.md).
 * Parses its own options: -o is bclc's config override, so the object goes to
 * --output (--out). Exit status as bclc: 0, 1 user error, 2 usage error. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pipeline.h"
#include "backend/llvm/aot.h"
#include "support/diag.h"
#include "ir/ir.h"

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
    "  --target-cpu CPU       native (default: this host's CPU and features), x86-64,\n"
    "                         x86-64-v2, x86-64-v3 (AVX2) or x86-64-v4 (AVX-512)\n"
    "  --threads N            worker threads at run time (default: BCL_NUM_THREADS,\n"
    "                         else all cores)\n"
    "  --emit=KIND            obj (default), asm, llvm (textual IR) or bc (bitcode)\n"
    "The graph passes before code generation default to -O2. -o is a config override\n"
    "(as in every bclc command), not the output file.\n\n";

enum { GROUPS = BCL_OPT_MODEL | BCL_OPT_WEIGHTS | BCL_OPT_PASSES };

typedef struct CompileOpts {
    BclModelOptions m;
    const char *output, *header, *name, *cpu, *weights_out;
    int threads;
    BclEmitKind emit;
} CompileOpts;

/* (api/options.c prints it as for every tool) */
#define usage(...) bcl_usage_error("bclc compile", __VA_ARGS__)

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
    bcl_model_options_init(&o->m);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
#define TAKES(flag)                                                                              \
    (!strcmp(a, flag) ? (i + 1 < argc ? (val = argv[++i], 1) : (usage("option %s needs a value", flag), -1)) \
     : (!strncmp(a, flag "=", sizeof(flag)) ? (val = a + sizeof(flag), 1) : 0))
        int r;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compile_help, stdout);
            bcl_model_options_help(stdout, GROUPS);
            return 1;
        } else if ((r = bcl_model_option(&o->m, GROUPS, "bclc compile", argc, argv, &i)) != 0) {
            if (r < 0) return -1;
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
        } else {
            return usage("unknown option '%s'", a);
        }
#undef TAKES
    }
    if (bcl_model_options_finish(&o->m, "bclc compile", true)) return -1;
    if (!o->m.weights && !o->m.has_seed)
        return usage("%s", "give --weights W.safetensors, or --random-weights SEED to embed random weights");
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
    if (o.m.max_errors >= 0) d.max_errors = o.m.max_errors;
    IrGraph *g = bcl_pipeline(&o.m, bcl_default_pipeline(2), &arena, &d);
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
