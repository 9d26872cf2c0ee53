/* bclc: the command-line driver. Parses options, then hands a .bcl file (or a
 * registered model name) to the stages: build the IR graph, then print, check or run it.
 * Exit status: 0 success, 1 user error (a diagnostic was printed), 2 usage error. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/interp/interp.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "tools/bclc_data.h"
#include "frontend/build.h"
#include "support/diag.h"
#include "ir/ir.h"
#include "api/pipeline.h"
#include "tools/bclc_bench.h"
#include "tools/bclc_input.h"
#if BCL_HAVE_LLVM
#include "api/jit_index.h"
#include "backend/llvm/jit.h"
#include "support/oom.h"
#endif

#define BCLC_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2 };

typedef struct Command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    const char *usage;   /* the command's own --help text */
} Command;

/* A command's options: the model options every tool shares (api/pipeline.h), then
 * the command's own. */
typedef struct Options {
    BclModelOptions m;
    const char *weights;    /* params --weights (compared, not bound) */
    const char *input, *output, *labels, *pattern;
    const char *images[256];   /* run --image (tools/bclc_data.c) */
    int n_images;
    const char *save_input;    /* run --save-input T.npy */
    int topk;
    int print_memplan;
    int check;              /* run: compare the optimized graph with the unoptimized one */
    int engine;             /* ENGINE_* */
    int threads;            /* 0 = BCL_NUM_THREADS or the online cores */
    int time_phases;
    int emit_llvm;
    int no_cache;           /* --no-cache: the JIT neither reads nor fills its disk cache */
    int tune;               /* --tune: measure the JIT's per-shape choices first (kept in its cache) */
    int batch, iters;       /* bench */
    double bench_seconds;   /* bench --time S */
    const char *json;       /* bench --json FILE */
    int profile;            /* bench --profile */
    int verbose;            /* list -v: the builders' pretrained-weights URLs */
} Options;

enum { ENGINE_INTERP, ENGINE_JIT };
static const char *const engine_names[] = {"interp", "jit"};

static void usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "bclc%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'bclc %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
}

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Every option some command takes, and which: an option that exists elsewhere is
 * "not an option of this command", anything else gets the closest name. */
static const struct {
    const char *name, *commands;
} known_options[] = {
    {"--weights", "params, run, bench, compile"}, {"--random-weights", "run, bench, compile"},
    {"--non-strict", "run, bench, compile"}, {"--input", "run"}, {"--output", "run, compile"},
    {"--labels", "run"}, {"--topk", "run"}, {"--check", "run"}, {"--engine", "run, bench"},
    {"--threads", "run, bench, compile"}, {"--time-phases", "run, bench"}, {"--emit=llvm", "run, bench"},
    {"--no-cache", "run, bench"}, {"--tune", "run, bench"},
    {"--batch", "bench"}, {"--iters", "bench"}, {"--time", "bench"}, {"--json", "bench"}, {"--profile", "bench"},
    {"--passes", "dump-ir, run, bench, compile"}, {"--print-after", "dump-ir, run, bench"},
    {"--verify-each", "dump-ir, run, bench"}, {"--print-memplan", "dump-ir, run, bench"},
    {"--model", "all commands"}, {"--cfg", "all commands"}, {"--input-shape", "all commands"},
    {"--override", "all commands"}, {"--max-errors", "all commands"}, {"--max-steps", "all commands"},
    {"--max-param-elems", "all commands"}, {"--help", "all commands"},
    {"--header", "compile"}, {"--name", "compile"}, {"--target-cpu", "compile"},
    {"--embed-weights", "compile"}, {"--weights-out", "compile"}, {"--verbose", "list"},
};

/* Levenshtein distance, for "did you mean". */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* An option this command does not take: say which commands do, or suggest the
 * closest option name. */
static void unknown_option(const char *cmd, const char *arg)
{
    size_t len = strcspn(arg, "=");
    char name[80], msg[256];
    snprintf(name, sizeof name, "%.*s", (int)(len < 79 ? len : 79), arg);
    const char *best = NULL;
    int best_d = 1000;
    for (size_t i = 0; i < sizeof known_options / sizeof known_options[0]; i++) {
        if (!strcmp(known_options[i].name, name) || !strcmp(known_options[i].name, arg)) {
            snprintf(msg, sizeof msg, "'bclc %s' does not take %%s (an option of: %s)", cmd, known_options[i].commands);
            usage_error(cmd, msg, name);
            return;
        }
        int dist = edit_distance(name, known_options[i].name);
        if (dist < best_d) best_d = dist, best = known_options[i].name;
    }
    /* close enough to be a typo: at most about a third of the name differs */
    if (best && best_d <= (int)strlen(best) / 3 + 1) {
        snprintf(msg, sizeof msg, "unknown option '%%s'; did you mean '%s'?", best);
        usage_error(cmd, msg, arg);
    } else {
        usage_error(cmd, "unknown option '%s'", arg);
    }
}

/* Which extra options a command accepts. */
enum { OPT_RUN = 1, OPT_WEIGHTS = 2, OPT_LIST = 4, OPT_PASSES = 8, OPT_ENGINE = 16, OPT_BENCH = 32 };

/* The shared option groups a command takes. */
static unsigned model_groups(int extra)
{
    return BCL_OPT_MODEL | (extra & (OPT_RUN | OPT_BENCH) ? BCL_OPT_WEIGHTS : 0) |
           (extra & OPT_PASSES ? BCL_OPT_PASSES : 0);
}

/* Parses argv into o: the model options (bcl_model_option), then the command's own.
 * Returns -1 after printing a usage error, 1 after printing help. */
static int parse_options(const Command *cmd, int argc, char **argv, Options *o, int extra)
{
    memset(o, 0, sizeof *o);
    bcl_model_options_init(&o->m);
#if BCL_HAVE_LLVM
    o->engine = ENGINE_JIT;   /* the fast engine when this build has it */
#endif
    char tool[64];
    snprintf(tool, sizeof tool, "bclc %s", cmd->name);
    int in_images = 0;   /* after --image, plain arguments are more images */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        int was_images = in_images;
        in_images = 0;
        /* Options that take a value accept "--opt VALUE" and "--opt=VALUE". */
#define TAKES(flag)                                                                    \
    (!strcmp(a, flag) ? (i + 1 < argc ? (val = argv[++i], 1)                          \
                                      : (usage_error(cmd->name, "option %s needs a value", flag), -1)) \
     : (!strncmp(a, flag "=", sizeof(flag)) ? (val = a + sizeof(flag), 1) : 0))
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(cmd->usage, stdout);
            bcl_model_options_help(stdout, model_groups(extra));
            return 1;
        } else if ((extra & OPT_RUN) && ((was_images && a[0] != '-') || (r = TAKES("--image")) != 0)) {
            if (!was_images && r < 0) return -1;
            if (o->n_images == 256) return usage_error(cmd->name, "%s", "at most 256 images per run"), -1;
            o->images[o->n_images++] = val ? val : a;
            in_images = 1;
        } else if ((extra & OPT_RUN) && (r = TAKES("--save-input")) != 0) {
            if (r < 0) return -1;
            o->save_input = val;
        } else if ((extra & OPT_LIST) && a[0] != '-' && !strstr(a, ".bcl") && !strstr(a, ".py")) {
            if (o->pattern) return usage_error(cmd->name, "unexpected argument '%s'", a), -1;
            o->pattern = a;
        } else if ((extra & OPT_WEIGHTS) && !(extra & (OPT_RUN | OPT_BENCH)) && (r = TAKES("--weights")) != 0) {
            if (r < 0) return -1;   /* params: the file is compared, not bound */
            o->weights = val;
        } else if ((r = bcl_model_option(&o->m, model_groups(extra), tool, argc, argv, &i)) != 0) {
            if (r < 0) return -1;
        } else if ((extra & OPT_PASSES) && !strcmp(a, "--print-memplan")) {
            o->print_memplan = 1;
        } else if ((extra & OPT_RUN) && !strcmp(a, "--check")) {
            o->check = 1;
        } else if ((extra & OPT_RUN) && (r = TAKES("--input")) != 0) {
            if (r < 0) return -1;
            o->input = val;
        } else if ((extra & OPT_RUN) && (r = TAKES("--output")) != 0) {
            if (r < 0) return -1;
            o->output = val;
        } else if ((extra & OPT_RUN) && (r = TAKES("--labels")) != 0) {
            if (r < 0) return -1;
            o->labels = val;
        } else if ((extra & OPT_RUN) && (r = TAKES("--topk")) != 0) {
            long long k;
            if (r < 0) return -1;
            if (parse_int(val, 1, 1000000, &k)) {
                usage_error(cmd->name, "--topk expects a positive integer, got '%s'", val);
                return -1;
            }
            o->topk = (int)k;
        } else if ((extra & OPT_ENGINE) && (r = TAKES("--engine")) != 0) {
            if (r < 0) return -1;
            if (!strcmp(val, "interp")) {
                o->engine = ENGINE_INTERP;
            } else if (!strcmp(val, "jit")) {
#if BCL_HAVE_LLVM
                o->engine = ENGINE_JIT;
#else
                usage_error(cmd->name, "%s", "this bclc was built without LLVM: --engine jit is not available");
                return -1;
#endif
            } else {
                usage_error(cmd->name, "unknown engine '%s' (available: interp, jit)", val);
                return -1;
            }
        } else if ((extra & OPT_ENGINE) && (r = TAKES("--threads")) != 0) {
            long long t;
            if (r < 0) return -1;
            if (parse_int(val, 1, 1024, &t)) {
                usage_error(cmd->name, "--threads expects a count from 1 to 1024, got '%s'", val);
                return -1;
            }
            o->threads = (int)t;
        } else if ((extra & OPT_ENGINE) && !strcmp(a, "--time-phases")) {
            o->time_phases = 1;
        } else if ((extra & OPT_ENGINE) && !strcmp(a, "--no-cache")) {
            o->no_cache = 1;
        } else if ((extra & OPT_ENGINE) && !strcmp(a, "--tune")) {
            o->tune = 1;
        } else if ((extra & OPT_ENGINE) && !strcmp(a, "--emit=llvm")) {
            o->emit_llvm = 1;
        } else if ((extra & OPT_BENCH) && (r = TAKES("--batch")) != 0) {
            long long b;
            if (r < 0) return -1;
            if (parse_int(val, 1, 4096, &b)) {
                usage_error(cmd->name, "--batch expects a size from 1 to 4096, got '%s'", val);
                return -1;
            }
            o->batch = (int)b;
        } else if ((extra & OPT_BENCH) && (r = TAKES("--iters")) != 0) {
            long long k;
            if (r < 0) return -1;
            if (parse_int(val, 1, 1000000, &k)) {
                usage_error(cmd->name, "--iters expects a positive count, got '%s'", val);
                return -1;
            }
            o->iters = (int)k;
        } else if ((extra & OPT_LIST) && (!strcmp(a, "-v") || !strcmp(a, "--verbose"))) {
            o->verbose = 1;
        } else if ((extra & OPT_BENCH) && (r = TAKES("--time")) != 0) {
            char *end;
            if (r < 0) return -1;
            errno = 0;
            double t = strtod(val, &end);
            if (end == val || *end || errno || !(t > 0 && t <= 86400)) {
                usage_error(cmd->name, "--time expects seconds (0 < S <= 86400), got '%s'", val);
                return -1;
            }
            o->bench_seconds = t;
        } else if ((extra & OPT_BENCH) && (r = TAKES("--json")) != 0) {
            if (r < 0) return -1;
            o->json = val;
        } else if ((extra & OPT_BENCH) && !strcmp(a, "--profile")) {
            o->profile = 1;
        } else if (a[0] == '-' && a[1]) {
            unknown_option(cmd->name, a);
            return -1;
        }
#undef TAKES
    }
    if (o->tune && o->engine != ENGINE_JIT) {
        usage_error(cmd->name, "%s", "--tune measures the JIT's lowering choices: use it with --engine jit");
        return -1;
    }
    return bcl_model_options_finish(&o->m, tool, !(extra & OPT_LIST));
}

/* Runs the pass pipeline (the command's default unless --passes/-O chose one) and
 * prints the memory plan if asked. 0 on success. */
static int optimize(Options *o, IrGraph *g, const char *default_pipeline, Arena *a, Diag *d)
{
    if (bcl_pipeline_passes(g, &o->m, default_pipeline, d)) return 1;
    if (o->print_memplan) bcl_print_memplan(stdout, g, bcl_plan_memory(g, a));
    return 0;
}

static int cmd_check(int argc, char **argv);
static int cmd_params(int argc, char **argv);
static int cmd_dump_ir(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_bench(int argc, char **argv);
static int cmd_list(int argc, char **argv);
#if BCL_HAVE_LLVM
int bclc_cmd_compile(int argc, char **argv);   /* tools/bclc_compile.c */
#endif
int bclc_cmd_eval(int argc, char **argv);      /* tools/bclc_eval.c */

#define PASS_HELP "  --print-memplan        print the activation memory plan and its peak (run, bench:\n" \
                  "                         the plan the engine runs, the JIT's own with --engine jit)\n\n"

#if BCL_HAVE_LLVM
#define ENGINE_DEFAULT_TEXT "jit"
#else
#define ENGINE_DEFAULT_TEXT "interp (this build has no JIT)"
#endif
#define ENGINE_HELP                                                                     \
    "  --engine E             interp (reference interpreter) or jit (LLVM, native code);\n" \
    "                         default " ENGINE_DEFAULT_TEXT "\n"                             \
    "  --threads T            JIT worker threads (default: BCL_NUM_THREADS, else all cores)\n" \
    "  --time-phases          print the JIT's compile time per phase\n"                  \
    "  --no-cache             compile from scratch: do not use the JIT's disk cache\n"  \
    "                         (~/.cache/bclc, or $XDG_CACHE_HOME/bclc, or BCL_CACHE_DIR)\n" \
    "  --tune                 first measure the JIT's per-shape choices (Winograd or\n"   \
    "                         direct, tile sizes) and keep them in its cache for later runs\n" \
    "  --emit=llvm            print the JIT's optimized LLVM module\n"

static const Command commands[] = {
    {"check", "check a model file: parse, build and trace it", cmd_check,
     "usage: bclc check FILE [options]\n"
     "Parses FILE, builds the model its config names and traces forward; prints\n"
     "diagnostics and exits 1 on any error, 0 if the model is valid.\n\n"},
    {"params", "list the model's parameters (state-dict keys and shapes)", cmd_params,
     "usage: bclc params FILE [options] [--weights W.safetensors]\n"
     "Prints one line per state-dict key with its shape, in PyTorch's state-dict order.\n"
     "With --weights, also says for each key whether the file has it with that shape.\n\n"},
    {"dump-ir", "print the traced IR graph as text", cmd_dump_ir,
     "usage: bclc dump-ir FILE [options] [-O0|-O1|-O2] [--passes=LIST]\n"
     "Prints the IR graph that forward traces to, in the textual IR format; by default\n"
     "as traced (-O0), optimized with -O1/-O2 or --passes.\n\n" PASS_HELP},
    {"run", "run a model on an input (the JIT; --engine interp: the interpreter)", cmd_run,
     "usage: bclc run FILE (--input X.npy | --image A.jpg [B.png ...])\n"
     "                (--weights W | --random-weights SEED)\n"
     "                [--output Y.npy] [--topk K] [--labels FILE] [options]\n"
     "Runs the model on X.npy (its shape is the input shape), or on images as one batch,\n"
     "and writes the output to Y.npy and/or prints the top-K classes per batch item with\n"
     "softmax probabilities (ImageNet's class names by default for 1000 classes).\n"
     "  --input X.npy          the input tensor (float32, or converted to it)\n"
     "  --image A.jpg [B.png]  JPEG, PNG, BMP, PNM or WebP images (read as cv2.imread), through\n"
     "                         the config's test transform (test.img_size, test.crop_pct,\n"
     "                         augments.resize.interpolation,\n"
     "                         preprocess.img_color_space, img_mean, img_std)\n"
     "  --save-input T.npy     write the preprocessed input tensor the model sees\n"
     "  --output Y.npy         write the first output here\n"
     "  --topk K               print the K best classes per batch item\n"
     "  --labels FILE          class names, one per line, for --topk\n"
     ENGINE_HELP
     "  --check                also run the unoptimized graph and compare: reports the\n"
     "                         first node whose result differs beyond rounding; with\n"
     "                         --engine jit, also compare the JIT with the interpreter\n"
     "The graph is optimized with the -O2 pipeline unless -O or --passes says otherwise.\n\n"
     PASS_HELP},
    {"bench", "time a model: compile time, latency and throughput", cmd_bench,
     "usage: bclc bench FILE [--batch N] [--iters K | --time S] [--json FILE] [--profile]\n"
     "                  [--threads T] [--engine E] [options]\n"
     "Compiles the model, runs it once to warm up, then K times (default 20) or for S\n"
     "seconds on a fixed pseudo-random input, and prints the CPU and thread count, the\n"
     "compile time, the latency (p50, p90, p99, mean, standard deviation, min, max) and\n"
     "images/s (batch / mean latency). Weights are random (--random-weights SEED,\n"
     "default 0) unless --weights is given. The input is N,C,H,W with C,H,W from the config.\n"
     "  --batch N              batch size (default 1)\n"
     "  --iters K              timed runs (default 20)\n"
     "  --time S               run for S seconds instead (at least one run)\n"
     "  --json FILE            also write the report and every latency as JSON\n"
     "  --profile              the time of each JIT step, named by the .bcl class.method\n"
     "                         and file:line of the op it comes from\n"

     ENGINE_HELP "\n" PASS_HELP},
    {"list", "list the registered models and heads", cmd_list,
     "usage: bclc list [PATTERN] [FILE] [-v] [options]\n"
     "Prints the registered models and heads whose names contain PATTERN.\n"
     "  -v, --verbose          also the URL of a builder's pretrained weights (@hub.pretrained)\n\n"},
    /* tools/bclc_eval.c: parses its own options and prints its own help */
    {"eval", "accuracy over an image folder (Test Acc@1, Acc@5), as BaseCls's test tool", bclc_cmd_eval, ""},
#if BCL_HAVE_LLVM
    /* tools/bclc_compile.c: parses its own options and prints its own help */
    {"compile", "compile a model ahead of time to an object file + C header", bclc_cmd_compile, ""},
#endif
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_main_help(FILE *out)
{
    fprintf(out,
            "bclc %s: a compiler and interpreter for BaseCls model files (.bcl)\n\n"
            "usage: bclc COMMAND [options]\n\nCommands:\n",
            BCLC_VERSION);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'bclc COMMAND --help' for a command's options. 'bclc --version' prints the version.\n");
}

/* Every command does: parse options, set up arena and diagnostics, work, clean up.
 * What a command holds beyond the arena (its input and output buffers, a prepared
 * engine, held diagnostics) it keeps here, so that session_end frees it, and so does
 * the guard when an allocation fails below (support/oom.h: the jump to main's scope
 * skips the command's own cleanup). */
struct Engine;
static void engine_free(struct Engine *e);
typedef struct Session {
    Options o;
    Arena arena;
    Diag diag;
    float *x, *y;
    struct Engine *engine;
    FILE *hold;
    char *held;
    BclOomGuard guard;
} Session;

static void session_release(void *arg)
{
    Session *s = arg;
    if (s->engine) engine_free(s->engine);
    s->engine = NULL;
    if (s->hold) {
        s->diag.out = stderr;
        fclose(s->hold);
    }
    free(s->held);
    free(s->x);
    free(s->y);
    s->hold = NULL, s->held = NULL, s->x = NULL, s->y = NULL;
    arena_free(&s->arena);
}

static int session_begin(Session *s, int cmd_index, int argc, char **argv, int extra)
{
    int r = parse_options(&commands[cmd_index], argc, argv, &s->o, extra);
    if (r < 0) return EXIT_USAGE;
    if (r > 0) return EXIT_OK;
    arena_init(&s->arena);
    diag_init(&s->diag, stderr);
    if (s->o.m.max_errors >= 0) s->diag.max_errors = s->o.m.max_errors;
    s->x = s->y = NULL;
    s->engine = NULL;
    s->hold = NULL;
    s->held = NULL;
    bcl_oom_guard(&s->guard, session_release, s);
    return -1;  /* go on */
}

static int session_end(Session *s)
{
    bcl_oom_unguard(&s->guard);
    session_release(s);
    return s->diag.n_errors ? EXIT_USER : EXIT_OK;
}

static int cmd_check(int argc, char **argv)
{
    Session s;
    int r = session_begin(&s, 0, argc, argv, 0);
    if (r >= 0) return r;
    bcl_pipeline_build(&s.o.m, &s.arena, &s.diag);
    return session_end(&s);
}

static void print_params(FILE *out, const IrGraph *g)
{
    char buf[128];
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *p = g->params.v[i];
        /* an int or bool buffer names its dtype (Swin's rel_pos_index: int32) */
        fprintf(out, "%s %s%s%s\n", p->name, shape_str(&p->shape, buf, sizeof buf), p->dtype ? " " : "",
                p->dtype ? ir_dtype_name(p->dtype) : "");
    }
}

static int cmd_params(int argc, char **argv)
{
    Session s;
    int r = session_begin(&s, 1, argc, argv, OPT_WEIGHTS);
    if (r >= 0) return r;
    IrGraph *g = bcl_pipeline_build(&s.o.m, &s.arena, &s.diag);
    if (g && s.o.weights) {
        StFile f;
        if (bcl_read_weights(s.o.weights, &f, &s.diag) == 0) {
            if (s.o.m.strip_prefix) bcl_weights_strip_prefix(&f, s.o.m.strip_prefix);
            bcl_pipeline_note_load_hook(g, &s.diag);
            bcl_print_weight_match(stdout, g, &f);
            st_free(&f);
        }
    } else if (g) {
        print_params(stdout, g);
    }
    return session_end(&s);
}

static int cmd_dump_ir(int argc, char **argv)
{
    Session s;
    int r = session_begin(&s, 2, argc, argv, OPT_PASSES);
    if (r >= 0) return r;
    IrGraph *g = bcl_pipeline_build(&s.o.m, &s.arena, &s.diag);
    if (g && optimize(&s.o, g, bcl_default_pipeline(0), &s.arena, &s.diag) == 0) ir_print(stdout, g);
    return session_end(&s);
}

/* Reads class names, one per line; returns the count (0 on error, reported). */
static int read_labels(const char *path, Arena *a, char ***names, Diag *d)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        diag_error_path(d, path, "cannot open labels file: %s", strerror(errno));
        return 0;
    }
    PtrVec v = {0};
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        if (!line[n] && !feof(f))  /* longer than the buffer: one name, the rest skipped */
            for (int c; (c = getc(f)) != EOF && c != '\n';) {}
        line[n] = 0;
        ptrvec_push(a, &v, arena_strdup(a, line));
    }
    if (ferror(f)) {  /* e.g. a directory: fopen succeeds, reading fails */
        diag_error_path(d, path, "cannot read labels file: %s", strerror(errno));
        fclose(f);
        return 0;
    }
    fclose(f);
    *names = (char **)v.v;
    return v.n;
}

/* Whether class i ranks before class j: the higher logit first, NaN last (so that a
 * model that overflows still prints K valid classes), ties by the lower index. */
static int ranks_before(const float *row, int64_t i, int64_t j)
{
    int ni = isnan(row[i]), nj = isnan(row[j]);
    if (ni || nj) return ni != nj ? nj : i < j;
    return row[i] > row[j] || (row[i] == row[j] && i < j);
}

/* Prints, per batch item, the K classes with the highest softmax probability. */
static void print_topk(const float *y, const Shape *shape, int k, const char *const *labels, int n_labels,
                       const char *const *items)
{
    int64_t n = shape->d[0], c = shape->d[1];
    if (k > c) k = (int)c;
    for (int64_t b = 0; b < n; b++) {
        const float *row = y + b * c;
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < c; j++) mx = row[j] > mx ? row[j] : mx;
        for (int64_t j = 0; j < c; j++) sum += exp(row[j] - mx);
        if (items) printf("%s:\n", items[b]);
        else if (n > 1) printf("item %" PRId64 ":\n", b);
        int64_t prev = -1;
        for (int r = 0; r < k; r++) {
            /* the best class that ranks after the previous one (the order is total) */
            int64_t best = -1;
            for (int64_t j = 0; j < c; j++)
                if ((prev < 0 || ranks_before(row, prev, j)) && (best < 0 || ranks_before(row, j, best))) best = j;
            double p = exp(row[best] - mx) / sum;
            printf("  %d. class %" PRId64, r + 1, best);
            if (labels && best < n_labels) printf(" (%s)", labels[best]);
            printf(": %.4f\n", p);
            prev = best;
        }
    }
}

/* An execution engine for an optimized graph whose parameters have data (or, the
 * JIT loaded through the cache's index, an engine that holds all it reads). */
typedef struct Engine {
    int kind;
    const IrGraph *g;
#if BCL_HAVE_LLVM
    BclJit *jit;
    BclJitIndex index;      /* the index looked up before the weights were read */
    int warnings_before;    /* the warnings then: a record would skip those after */
#endif
} Engine;

/* The passes run and bench run before an engine: --passes/-O, else -O2's. */
static const char *optimize_pipeline(const Options *o)
{
    return o->m.pipeline ? o->m.pipeline : bcl_default_pipeline(2);
}

#if BCL_HAVE_LLVM
static BclJitOptions jit_options(const Options *o)
{
    return (BclJitOptions){.threads = o->threads, .emit_llvm = o->emit_llvm ? stdout : NULL,
                           .time_phases = o->time_phases, .profile = o->profile, .cache = !o->no_cache,
                           .tune = o->tune};
}
#endif

static int engine_prepare(Engine *e, const Options *o, const IrGraph *g, Diag *d)
{
    e->kind = o->engine;
    e->g = g;
#if BCL_HAVE_LLVM
    if (e->kind == ENGINE_JIT) {
        BclJitOptions jo = jit_options(o);
        if (!bcl_pipeline_jit_fits(g, d)) return 1;   /* refused up front */
        e->jit = bcl_jit_compile(g, &jo, d);
        if (e->jit) bcl_jit_index_store(&e->index, e->jit, d->n_warnings == e->warnings_before);
        return e->jit ? 0 : 1;
    }
#endif
    return 0;
}

static int engine_run(Engine *e, const float *const *ins, float *const *outs, Diag *d)
{
#if BCL_HAVE_LLVM
    if (e->kind == ENGINE_JIT) return bcl_jit_run(e->jit, ins, outs, d);
#endif
    return bcl_interp_run_planned(e->g, NULL, ins, outs, d);   /* inside the memory plan */
}

/* --print-memplan of run and bench: the plan the prepared engine runs (the JIT's own
 * arena, bcl_jit_memplan; the interpreter's bcl_plan_memory). */
static void print_engine_memplan(const Options *o, const Engine *e, const IrGraph *g, Arena *a)
{
    if (!o->print_memplan) return;
#if BCL_HAVE_LLVM
    if (e->jit) {
        bcl_print_memplan(stdout, g, bcl_jit_memplan(e->jit, a));
        return;
    }
#endif
    bcl_print_memplan(stdout, g, bcl_plan_memory(g, a));
}

static void engine_free(Engine *e)
{
#if BCL_HAVE_LLVM
    if (e->jit) bcl_jit_free(e->jit);
    e->jit = NULL;
#endif
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Builds the graph for the options' input shape and gives its parameters data
 * (--weights, --random-weights, --non-strict: bcl_pipeline_weights). NULL after
 * reporting errors. With e (the JIT, no --check), the JIT cache's index first
 * (api/jit_index.h): when it names an engine for this model and weight file, the
 * weights are not read, the passes run and e holds the engine: *ready. */
static IrGraph *build_with_weights(Options *o, IrGraph *built, Engine *e, Arena *a, Diag *d, bool *ready)
{
    IrGraph *g = built ? built : bcl_pipeline_build(&o->m, a, d);
    *ready = false;
#if BCL_HAVE_LLVM
    if (e && o->engine == ENGINE_JIT && !o->check) {
        BclJitOptions jo = jit_options(o);
        const char *pipeline = optimize_pipeline(o);
        e->jit = bcl_jit_index_load(&g, &o->m, pipeline, &jo, a, d, &e->index);
        e->warnings_before = d->n_warnings;
        if (e->jit) e->kind = ENGINE_JIT, e->g = g, *ready = true;
        if (o->time_phases && e->jit)
            fprintf(stderr, "jit: engine from the cache's index: the weights were not read\n");
        else if (o->time_phases && e->index.never)
            fprintf(stderr, "jit: the cache's index is not used for this model: its plan depends on the weights' values\n");
    }
#else
    (void)e;
#endif
    if (g && !*ready) bcl_pipeline_weights(g, &o->m, d);
    if (g && !d->n_errors && g->outputs.n != 1)
        diag_error(d, NO_LOC, "'bclc %s' supports models with one output, this one has %d",
                   o->batch ? "bench" : "run", g->outputs.n);
    return d->n_errors ? NULL : g;
}

static void print_output(Options *o, const float *y, const Shape *out_shape, Arena *a, Diag *d)
{
    if (o->output) npy_write(o->output, out_shape, y, d);
    int k = o->topk;
    if (!k && !o->output && !o->check) k = 5;  /* nothing asked: show the best classes */
    if (k && out_shape->rank == 2) {
        char **labels = NULL;
        int n_labels = o->labels ? read_labels(o->labels, a, &labels, d) : 0;
        const char *const *imagenet = o->labels ? NULL : bclc_default_labels(out_shape->d[1]);
        if (imagenet) labels = (char **)imagenet, n_labels = (int)out_shape->d[1];
        if (o->labels && !d->n_errors && n_labels < out_shape->d[1])
            diag_warning_path(d, o->labels, "%d class names for %lld classes; the others are printed by number",
                              n_labels, (long long)out_shape->d[1]);
        if (!d->n_errors)
            print_topk(y, out_shape, k, (const char *const *)labels, n_labels, o->n_images ? o->images : NULL);
    } else if (k) {
        char buf[128];
        diag_error(d, NO_LOC, "--topk needs an output of shape [N, classes], the output is %s",
                   shape_str(out_shape, buf, sizeof buf));
    }
}

/* run --check with a native engine: its output must match the interpreter's (in y on
 * entry; the engine's on return) within the conformance tolerance. */
static int check_engine(Engine *e, const Options *o, const IrGraph *g, const float *const *ins,
                        float *y, int64_t n, Diag *d)
{
    float *ref = bcl_malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!ref) {
        diag_error(d, NO_LOC, "out of memory");
        return 1;
    }
    BclOomGuard g_ref;   /* freed if preparing the engine runs out of memory */
    bcl_oom_guard(&g_ref, bcl_oom_free_ptr, &ref);
    memcpy(ref, y, sizeof(float) * (size_t)n);
    float *outs[1] = {y};
    int rc = engine_prepare(e, o, g, d) || engine_run(e, ins, outs, d);
    if (!rc) {
        double diff = 0, scale = 0;
        for (int64_t i = 0; i < n; i++) {
            double di = fabs((double)y[i] - ref[i]);
            diff = isnan(di) || di > diff ? (isnan(di) ? INFINITY : di) : diff;
            scale = fmax(scale, fabs(ref[i]));
        }
        double tol = 1e-4 + 1e-3 * scale;
        if (diff > tol) {
            diag_error(d, NO_LOC, "--check: the %s engine's output differs from the interpreter's: max |diff| %.3g > tolerance %.3g",
                       engine_names[o->engine], diff, tol);
            rc = 1;
        } else {
            printf("check: the %s engine matches the interpreter (max |diff| %.3g, tolerance %.3g)\n",
                   engine_names[o->engine], diff, tol);
        }
    }
    bcl_oom_unguard(&g_ref);
    free(ref);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    Session s;
    int r = session_begin(&s, 3, argc, argv, OPT_RUN | OPT_PASSES | OPT_ENGINE);
    if (r >= 0) return r;
    Options *o = &s.o;
    Diag *d = &s.diag;
    if (!o->input == !o->n_images) {
        usage_error("run", "%s", o->input ? "give --input or --image, not both" : "--input X.npy or --image A.jpg is required");
        session_end(&s);
        return EXIT_USAGE;
    }
    if (!o->m.weights && !o->m.has_seed) {
        usage_error("run", "%s", "give --weights W.safetensors, or --random-weights SEED to run untrained");
        session_end(&s);
        return EXIT_USAGE;
    }
    Engine e = {0};   /* here: session_end frees it */
    Shape xs;
    if (o->n_images ? bclc_load_images(&o->m, o->images, o->n_images, &s.x, &xs, d) : npy_read(o->input, &xs, &s.x, d))
        return session_end(&s);
    float *x = s.x;
    if (o->save_input && npy_write(o->save_input, &xs, x, d)) return session_end(&s);
    if (shape_numel(&xs) == 0) {  /* as --input-shape, sizes must be positive */
        char a[128];
        diag_error_path(d, o->input, "the input is empty (shape %s)", shape_str(&xs, a, sizeof a));
        return session_end(&s);
    }
    if (o->m.build.has_input_shape && !shape_eq(&xs, &o->m.build.input_shape)) {
        char a[128], b[128];
        diag_error_path(d, o->input, "input shape %s differs from --input-shape %s",
                        shape_str(&xs, a, sizeof a), shape_str(&o->m.build.input_shape, b, sizeof b));
        return session_end(&s);
    }
    bool shape_given = o->m.build.has_input_shape;
    o->m.build.has_input_shape = true;
    o->m.build.input_shape = xs;

    /* The array's shape is the input shape. If the model does not build for it, the
     * first error should be about the file (bclc_input.c): hold the build's
     * diagnostics until that is known. */
    size_t held_len = 0;
    FILE *diag_out = d->out;
    s.hold = shape_given ? NULL : open_memstream(&s.held, &held_len);
    if (s.hold) d->out = s.hold;
    s.engine = &e;
    bool ready;
    IrGraph *g = build_with_weights(o, NULL, &e, &s.arena, d, &ready);
    if (s.hold) {
        d->out = diag_out;
        fclose(s.hold);
        s.hold = NULL;
        if (!g) bclc_explain_input_shape(&o->m.build, o->input, &xs, d);
        fputs(s.held ? s.held : "", diag_out);
        free(s.held);
        s.held = NULL;
    }
    if (g) {
        Shape out_shape = ((IrValue *)g->outputs.v[0])->shape;
        float *y = s.y = bcl_malloc(sizeof(float) * (size_t)(shape_numel(&out_shape) ? shape_numel(&out_shape) : 1));
        const float *ins[1] = {x};
        float *outs[1] = {y};
        const char *pipeline = optimize_pipeline(o);
        int rc;
        if (!y) {
            diag_error(d, NO_LOC, "out of memory for the output (%lld floats)", (long long)shape_numel(&out_shape));
            rc = 1;
        } else if (o->check) {
            /* The reference is always the interpreter on the unoptimized graph. */
            rc = bcl_run_passes_checked(g, pipeline, &o->m.pass_opt, ins, outs, stdout, d);
            if (!rc && o->engine != ENGINE_INTERP)
                rc = check_engine(&e, o, g, ins, y, shape_numel(&out_shape), d);
            if (!rc) print_engine_memplan(o, &e, g, &s.arena);
        } else {
            rc = !ready && (bcl_pipeline_passes(g, &o->m, pipeline, d) || engine_prepare(&e, o, g, d));
            if (!rc) print_engine_memplan(o, &e, g, &s.arena);
            rc = rc || engine_run(&e, ins, outs, d);
        }
        if (rc == 0) print_output(o, y, &out_shape, &s.arena, d);
    }
    return session_end(&s);   /* frees x, y and the engine */
}

/* One timed run of the prepared engine (bench_measure's callback). */
typedef struct BenchRun {
    Engine *e;
    const float *const *ins;
    float *const *outs;
    Diag *d;
} BenchRun;

static int bench_run_once(void *arg)
{
    BenchRun *b = arg;
    return engine_run(b->e, b->ins, b->outs, b->d);
}

static int cmd_bench(int argc, char **argv)
{
    Session s;
    int r = session_begin(&s, 4, argc, argv, OPT_WEIGHTS | OPT_PASSES | OPT_ENGINE | OPT_BENCH);
    if (r >= 0) return r;
    Options *o = &s.o;
    Diag *d = &s.diag;
    if (o->iters && o->bench_seconds) {
        usage_error("bench", "%s", "give --iters K or --time S, not both");
        session_end(&s);
        return EXIT_USAGE;
    }
    if (o->profile && o->engine != ENGINE_JIT) {
        usage_error("bench", "%s", "--profile times the JIT's steps: use it with --engine jit");
        session_end(&s);
        return EXIT_USAGE;
    }
    if (!o->m.weights && !o->m.has_seed) o->m.has_seed = true;  /* timing does not need trained weights */
    if (!o->batch) o->batch = o->m.build.has_input_shape ? (int)o->m.build.input_shape.d[0] : 1;
    if (!o->iters && !o->bench_seconds) o->iters = 20;

    Engine e = {0};   /* here: session_end frees it */
    double t0 = now_seconds();
    IrGraph *built = NULL;
    if (!o->m.build.has_input_shape) {
        /* The config decides C, H, W: build once to learn them (and use that graph when
         * its batch is the one asked for). */
        built = bcl_pipeline_build(&o->m, &s.arena, d);
        if (built && built->inputs.n == 1) {
            o->m.build.input_shape = ((IrValue *)built->inputs.v[0])->shape;
            o->m.build.has_input_shape = true;
        }
        if (!o->m.build.has_input_shape) return session_end(&s);
        if (o->m.build.input_shape.d[0] != o->batch) built = NULL;
    }
    o->m.build.input_shape.d[0] = o->batch;
    s.engine = &e;
    bool ready;
    IrGraph *g = build_with_weights(o, built, &e, &s.arena, d, &ready);
    double t_build = now_seconds(), t_opt = t_build;
    if (!g) return session_end(&s);
#if BCL_HAVE_LLVM
    if (ready) t_build -= e.index.passes_s + e.index.engine_s, t_opt = t_build + e.index.passes_s;
#endif
    if (!ready) {
        if (bcl_pipeline_passes(g, &o->m, bcl_default_pipeline(2), d)) return session_end(&s);
        t_opt = now_seconds();
        if (engine_prepare(&e, o, g, d)) return session_end(&s);
    }
    double t_compile = now_seconds();
    print_engine_memplan(o, &e, g, &s.arena);

    const IrValue *in = g->inputs.v[0], *out = g->outputs.v[0];
    int64_t n_in = shape_numel(&in->shape), n_out = shape_numel(&out->shape);
    float *x = s.x = bcl_malloc(sizeof(float) * (size_t)n_in), *y = s.y = bcl_malloc(sizeof(float) * (size_t)n_out);
    if (!x || !y) {
        diag_error(d, NO_LOC, "out of memory for the input and output (%lld floats)", (long long)(n_in + n_out));
        return session_end(&s);
    }
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int64_t i = 0; i < n_in; i++) {  /* a fixed pseudo-random input in [-1, 1) */
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    const float *ins[1] = {x};
    float *outs[1] = {y};
    BenchRun br = {&e, ins, outs, d};
    double *lat = NULL;
    int n_lat = 0;
    int rc = bench_measure(bench_run_once, &br, o->iters, o->bench_seconds, &lat, &n_lat);
    if (rc < 0 && !d->n_errors) diag_error(d, NO_LOC, "out of memory for the latencies");
    if (!rc && n_lat > 0) {
        char cpu[256];
        BenchReport rep = {
            .model = g->name ? g->name : "?", .engine = engine_names[o->engine], .cpu = bench_cpu_model(cpu, sizeof cpu),
            .input = in->shape, .batch = o->batch, .threads = 1, .online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN),
            .t_build = t_build - t0, .t_passes = t_opt - t_build, .t_engine = t_compile - t_opt,
        };
#if BCL_HAVE_LLVM
        if (e.jit) rep.threads = bcl_jit_threads(e.jit);
#endif
        bench_stats(lat, n_lat, &rep.st);
        rep.images_per_s = rep.st.mean > 0 ? (double)o->batch / rep.st.mean : 0;
        bench_print(stdout, &rep);
        if (o->json) bench_write_json(o->json, &rep, lat, d);
#if BCL_HAVE_LLVM
        if (o->profile && e.jit) {
            int runs, n_steps = bcl_jit_profile(e.jit, NULL, 0, &runs);
            BclJitStepTime *jt = calloc((size_t)n_steps + 1, sizeof *jt);
            BenchStep *bs = calloc((size_t)n_steps + 1, sizeof *bs);
            if (jt && bs) {
                bcl_jit_profile(e.jit, jt, n_steps, &runs);
                for (int i = 0; i < n_steps; i++) bs[i] = (BenchStep){jt[i].op, jt[i].kernel, jt[i].loc, jt[i].scope, jt[i].seconds};
                bench_print_profile(stdout, bs, n_steps, runs);
            }
            free(jt);
            free(bs);
        }
#endif
    }
    free(lat);
    return session_end(&s);   /* frees x, y and the engine */
}

static int cmd_list(int argc, char **argv)
{
    Session s;
    int r = session_begin(&s, 5, argc, argv, OPT_LIST);
    if (r >= 0) return r;
    bcl_list_registered(&s.o.m.build, s.o.pattern, s.o.verbose, stdout, &s.diag);
    return session_end(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        print_main_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(c, "--version") || !strcmp(c, "-V")) {
        printf("bclc %s\n", BCLC_VERSION);
        return EXIT_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(c, commands[i].name)) {
            /* out of memory below (an arena, the scanner, LLVM) is exit status 1 with a message */
            BclOomScope sc;
            if (BCL_OOM_CATCH(sc)) {
                fprintf(stderr, "bclc: error: out of memory (%s)\n", sc.what);
                return EXIT_USER;
            }
            int rc = commands[i].run(argc - 2, argv + 2);
            bcl_oom_pop(&sc);
            return rc;
        }
    usage_error(NULL, "unknown command '%s'", c);
    return EXIT_USAGE;
}
