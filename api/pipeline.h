/* The driver layer's pipeline: what bclc, bcl-opt and the C API run between the
 * frontend and an engine, and the one parser of the model options they share.
 *
 *   build (frontend)  ->  read and bind weights (io)  ->  fill missing  ->  passes
 *
 * bclc run/bench/compile/params/dump-ir and bcl-opt parse their model options with
 * bcl_model_option and run bcl_pipeline_*; the C API (api/model.c) binds through
 * bcl_pipeline_bind, so --non-strict means the same everywhere. */
#ifndef BCL_API_PIPELINE_H
#define BCL_API_PIPELINE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/build.h"
#include "io/safetensors.h"
#include "passes/pass.h"

/* The option groups a tool takes (the model group always). */
enum {
    BCL_OPT_MODEL = 1,      /* FILE, --model, --cfg, -o, -I, --input-shape, --max-errors */
    BCL_OPT_WEIGHTS = 2,    /* --weights, --random-weights, --non-strict */
    BCL_OPT_PASSES = 4,     /* -O0..-O2, --passes, --print-after, --verify-each */
};

#define BCL_MAX_OVERRIDES 256
#define BCL_MAX_INCLUDE_DIRS 64

/* The model options, as parsed. */
typedef struct BclModelOptions {
    BclBuildOptions build;          /* FILE, --model, --cfg, -o, -I, --input-shape */
    const char *overrides[BCL_MAX_OVERRIDES];
    const char *include_dirs[BCL_MAX_INCLUDE_DIRS];
    int max_errors;                 /* --max-errors N (0 = all); -1: not given */
    const char *weights;            /* --weights W */
    const char *strip_prefix;       /* --strip-prefix P */
    bool has_seed;                  /* --random-weights SEED */
    uint64_t seed;
    bool non_strict;                /* --non-strict */
    const char *pipeline;           /* --passes=LIST or -O<n>; NULL: the tool's default */
    char pipeline_flag;             /* which of the two gave it ('p', 'O'): not both */
    PassOptions pass_opt;           /* --print-after, --verify-each */
} BclModelOptions;

void bcl_model_options_init(BclModelOptions *o);

/* A usage error, as every tool prints one: "TOOL: error: <fmt...>" and "(see 'TOOL
 * --help')" to stderr. Returns -1. */
int bcl_usage_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses argv[*i] if it is a model option of these groups (a non-option argument is
 * FILE), advancing *i past a separate value ("--opt VALUE" and "--opt=VALUE" both work).
 * Returns 1 if it was one, 0 if not (the caller tries its own options), -1 after
 * printing "TOOL: error: ..." and "(see 'TOOL --help')" to stderr. */
int bcl_model_option(BclModelOptions *o, unsigned groups, const char *tool, int argc, char **argv, int *i);

/* The checks after the last argument: a model named (FILE or --model) when
 * need_model; the pipeline's passes exist. 0, or -1 after printing a usage error. */
int bcl_model_options_finish(BclModelOptions *o, const char *tool, bool need_model);

/* The help text of these groups (one text for every tool). */
void bcl_model_options_help(FILE *out, unsigned groups);

/* --input-shape: exactly four comma-separated positive decimal integers N,C,H,W, each
 * at most BCL_MAX_INPUT_DIM, nothing else (no sign, space or trailing comma). */
#define BCL_MAX_INPUT_DIM 2147483647LL
bool bcl_parse_input_shape(const char *text, Shape *out);
/* The rule every input shape obeys, however given (the C API's dims too): 1 to
 * BCL_MAX_RANK dims, each from 1 to BCL_MAX_INPUT_DIM. False with a message in err. */
bool bcl_input_shape_ok(const Shape *s, char *err, size_t err_len);

/* The compile-time budget and the diagnostics cap, with their bounds in one place for
 * bclc's options (--max-steps N, --max-param-elems N, --max-errors N) and the C API's
 * setters (bcl_compiler_set_max_steps, ...). */
typedef enum BclLimit {
    BCL_LIMIT_MAX_STEPS,        /* 1 to BCL_MAX_STEPS_CAP */
    BCL_LIMIT_MAX_PARAM_ELEMS,  /* 1 to BCL_MAX_PARAM_ELEMS_CAP */
    BCL_LIMIT_MAX_ERRORS,       /* 0 (all) to 1,000,000,000 */
} BclLimit;
/* Whether value is within which's bounds; false with a message naming the option
 * and its bounds in err. */
bool bcl_limit_ok(BclLimit which, int64_t value, char *err, size_t err_len);

/* ---- the pipeline, step by step */

/* Builds the graph of o->build; NULL after reporting errors. */
IrGraph *bcl_pipeline_build(const BclModelOptions *o, Arena *a, Diag *d);

/* Binds the weights in f (read from name) to g. Strict: a missing, unexpected or
 * mismatched key is an error (some parameters may be bound by then; the C API restores
 * them). Non-strict (--non-strict, bcl_compiler_set_strict_weights(c, 0)): those are
 * warnings, and every parameter still without data is then filled from its
 * initialiser (IrInit, as --random-weights SEED fills it), named in one warning.
 * 0 on success. */
int bcl_pipeline_bind(IrGraph *g, StFile *f, const char *name, bool non_strict, uint64_t seed, Diag *d);
/* The warning, located at the method, that a module class of the model overrides
 * load_state_dict and that binding does not run it (g->load_hook); bcl_pipeline_bind
 * gives it, `bclc params --weights` too. */
void bcl_pipeline_note_load_hook(const IrGraph *g, Diag *d);

/* Reads and binds o->weights (if given) as bcl_pipeline_bind does, then, with
 * --random-weights, fills the parameters without data from that seed. 0 on success. */
int bcl_pipeline_weights(IrGraph *g, const BclModelOptions *o, Diag *d);

/* Runs o->pipeline, or default_pipeline when none was given. 0 on success. */
int bcl_pipeline_passes(IrGraph *g, const BclModelOptions *o, const char *default_pipeline, Diag *d);
/* Whether the JIT's memory for g fits this machine (a packed copy of the weights and
 * the activation arena), checked before compiling: false after an error naming the
 * sizes. */
bool bcl_pipeline_jit_fits(const IrGraph *g, Diag *d);

/* All three: build, weights, passes. NULL after reporting errors. */
IrGraph *bcl_pipeline(const BclModelOptions *o, const char *default_pipeline, Arena *a, Diag *d);

/* Runs the interpreter on g (inputs -> reference outputs), then the pipeline, then the
 * interpreter again into outputs, and compares within a tolerance (max |diff| <=
 * 1e-5 * max |y| + 1e-6): a line per output goes to report; a difference is an error
 * located at the first node of the optimized graph whose result differs. 0 if equal. */
int bcl_run_passes_checked(IrGraph *g, const char *pipeline, const PassOptions *opt,
                           const float *const *inputs, float *const *outputs, FILE *report, Diag *d);

#endif
