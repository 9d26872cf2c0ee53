/* BclCompiler: the build options, and compiling a .bcl file or text into a model
 * (the unoptimised graph; weights and passes come later, see model.c). */
#include <stdlib.h>
#include <string.h>

#include "frontend/build.h"
#include "passes/pass.h"
#include "api/api_internal.h"
#include "support/oom.h"
#include "api/pipeline.h"

/* What bcl_compiler_create hands out when it cannot allocate a compiler: a read-only
 * handle whose only use is its message (bcl_compiler_error); every other call on it
 * returns BCL_ERR_NO_MEMORY and bcl_compiler_destroy ignores it. */
static const BclCompiler no_memory_compiler = {
    .msg = (char *)"bclc: error: out of memory (creating a compiler)\n",
};

#define NEED(c)                                                             \
    do {                                                                    \
        if (!(c)) return BCL_ERR_INVALID_ARGUMENT;                          \
        if ((c) == &no_memory_compiler) return BCL_ERR_NO_MEMORY;           \
    } while (0)

BclStatus bcl_compiler_create(BclCompiler **out)
{
    if (!out) return BCL_ERR_INVALID_ARGUMENT;
    *out = bcl_calloc(1, sizeof **out);
    if (!*out) {
        *out = (BclCompiler *)&no_memory_compiler;
        return BCL_ERR_NO_MEMORY;
    }
#if BCL_HAVE_LLVM
    (*out)->run.engine = ENGINE_JIT;      /* the fast engine when the library has it */
#else
    (*out)->run.engine = ENGINE_INTERP;
#endif
    (*out)->run.opt_level = 2;
    (*out)->run.strict_weights = true;
    (*out)->max_errors = -1;
    return BCL_OK;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void bcl_compiler_destroy(BclCompiler *c)
{
    if (!c || c == &no_memory_compiler) return;
    free(c->msg);
    free(c->run.passes);
    free(c->cfg_name);
    free(c->model_name);
    free_list(c->overrides, c->n_overrides);
    free_list(c->include_dirs, c->n_include_dirs);
    free(c);
}

/* (the no-memory handle's text is its msg, like any compiler's) */
const char *bcl_compiler_error(const BclCompiler *c) { return c ? api_msg(c->msg) : "bclc: error: NULL compiler\n"; }

BclStatus bcl_compiler_set_engine(BclCompiler *c, const char *engine)
{
    NEED(c);
    if (!engine) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compiler_set_engine: engine is NULL");
    if (!strcmp(engine, "interp")) {
        c->run.engine = ENGINE_INTERP;
    } else if (!strcmp(engine, "jit")) {
        if (!bcl_engine_available("jit"))
            return api_fail(&c->msg, BCL_ERR_UNSUPPORTED,
                            "engine 'jit' is not available: this library was built without LLVM (use \"interp\")");
        c->run.engine = ENGINE_JIT;
    } else {
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "unknown engine '%s' (expected \"interp\" or \"jit\")", engine);
    }
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_threads(BclCompiler *c, int threads)
{
    NEED(c);
    if (threads < 0)
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "threads must be 0 (automatic) or positive, got %d", threads);
    c->run.threads = threads;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_input_shape(BclCompiler *c, const int64_t *dims, int rank)
{
    NEED(c);
    if (!dims || rank < 1 || rank > BCL_MAX_DIMS)
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "an input shape needs 1 to %d dims, got %d%s", BCL_MAX_DIMS,
                        rank, dims ? "" : " (dims is NULL)");
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++) s.d[i] = dims[i];
    char err[160];
    if (!bcl_input_shape_ok(&s, err, sizeof err))   /* the rule --input-shape follows too */
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "%s", err);
    c->has_input_shape = true;
    c->input_shape = s;
    api_clear(&c->msg);
    return BCL_OK;
}

static BclStatus push(BclCompiler *c, char ***v, int *n, const char *s)
{
    char **nv = bcl_realloc(*v, sizeof(char *) * (size_t)(*n + 1));
    if (!nv) return api_no_memory(&c->msg, "an option list");
    *v = nv;
    if (!(nv[*n] = bcl_strdup(s))) return api_no_memory(&c->msg, "an option");
    (*n)++;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_add_override(BclCompiler *c, const char *key_eq_value)
{
    NEED(c);
    /* the form is checked here so the error comes from the call that added it */
    const char *eq = key_eq_value ? strchr(key_eq_value, '=') : NULL;
    if (!eq || eq == key_eq_value)
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT,
                        "an override must have the form KEY=VALUE (e.g. model.head.width=1024), got '%s'",
                        key_eq_value ? key_eq_value : "(NULL)");
    return push(c, &c->overrides, &c->n_overrides, key_eq_value);
}

BclStatus bcl_compiler_add_include_dir(BclCompiler *c, const char *dir)
{
    NEED(c);
    if (!dir || !*dir) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "an include directory must be a non-empty path");
    return push(c, &c->include_dirs, &c->n_include_dirs, dir);
}

BclStatus bcl_compiler_set_config(BclCompiler *c, const char *cfg_name)
{
    NEED(c);
    if (!cfg_name || !*cfg_name) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "the config name must be non-empty");
    char *s;
    if (!api_strdup(cfg_name, &s)) return api_no_memory(&c->msg, "the config name");
    free(c->cfg_name);
    c->cfg_name = s;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_model(BclCompiler *c, const char *model_name)
{
    NEED(c);
    char *s = NULL;
    if (model_name && *model_name && !api_strdup(model_name, &s)) return api_no_memory(&c->msg, "the model name");
    free(c->model_name);
    c->model_name = s;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_opt_level(BclCompiler *c, int level)
{
    NEED(c);
    if (level < 0 || level > 2)
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "optimisation level must be 0, 1 or 2, got %d", level);
    c->run.opt_level = level;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_passes(BclCompiler *c, const char *pipeline)
{
    NEED(c);
    if (pipeline) {
        Capture cap;
        if (!capture_begin(&cap)) return api_no_memory(&c->msg, "a message stream");
        bool ok = bcl_check_pipeline(pipeline, &cap.d);
        capture_end(&cap, &c->msg);
        if (!ok) return BCL_ERR_INVALID_ARGUMENT;
    }
    char *s;
    if (!api_strdup(pipeline, &s)) return api_no_memory(&c->msg, "the pass pipeline");
    free(c->run.passes);
    c->run.passes = s;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_strict_weights(BclCompiler *c, int strict)
{
    NEED(c);
    c->run.strict_weights = strict != 0;
    api_clear(&c->msg);
    return BCL_OK;
}

/* The compile-time budget: the bounds are those of bclc's options (api/options.c). */
static BclStatus set_limit(BclCompiler *c, BclLimit which, int64_t value, int64_t *field)
{
    NEED(c);
    char err[200];
    if (!bcl_limit_ok(which, value, err, sizeof err)) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "%s", err);
    *field = value;
    api_clear(&c->msg);
    return BCL_OK;
}

BclStatus bcl_compiler_set_max_steps(BclCompiler *c, int64_t steps)
{
    NEED(c);
    return set_limit(c, BCL_LIMIT_MAX_STEPS, steps, &c->max_steps);
}

BclStatus bcl_compiler_set_max_param_elems(BclCompiler *c, int64_t elems)
{
    NEED(c);
    return set_limit(c, BCL_LIMIT_MAX_PARAM_ELEMS, elems, &c->max_param_elems);
}

BclStatus bcl_compiler_set_max_errors(BclCompiler *c, int max_errors)
{
    NEED(c);
    int64_t v = max_errors;
    BclStatus s = set_limit(c, BCL_LIMIT_MAX_ERRORS, v, &v);
    if (!s) c->max_errors = (int)v;
    return s;
}

/* ------------------------------------------------------------------ compiling */

static ApiTensor *snapshot(Arena *a, const PtrVec *vals, int *n)
{
    *n = vals->n;
    ApiTensor *t = ARENA_NEWN(a, ApiTensor, vals->n ? vals->n : 1);
    for (int i = 0; i < vals->n; i++) {
        const IrValue *v = vals->v[i];
        t[i].name = v->name ? v->name : "";
        t[i].shape = v->shape;
    }
    return t;
}

void model_free(BclModel *m);   /* model.c */

static bool take_snapshots(BclModel *m, Diag *d)
{
    BclOomScope sc;
    if (BCL_OOM_CATCH(sc)) {
        diag_error(d, NO_LOC, "out of memory while building the model (%s)", sc.what);
        return false;
    }
    m->in = snapshot(&m->arena, &m->g->inputs, &m->n_in);
    m->out = snapshot(&m->arena, &m->g->outputs, &m->n_out);
    m->par = snapshot(&m->arena, &m->g->params, &m->n_par);
    bcl_oom_pop(&sc);
    return true;
}

/* Builds with the compiler's options; opt holds what names the source. */
static BclStatus compile(BclCompiler *c, BclBuildOptions *bo, BclModel **out)
{
    bo->cfg_name = c->cfg_name;
    bo->overrides = (const char *const *)c->overrides;
    bo->n_overrides = c->n_overrides;
    bo->include_dirs = (const char *const *)c->include_dirs;
    bo->n_include_dirs = c->n_include_dirs;
    bo->has_input_shape = c->has_input_shape;
    bo->input_shape = c->input_shape;
    bo->max_steps = (long)c->max_steps;             /* 0: the default */
    bo->max_param_elems = c->max_param_elems;

    BclModel *m = bcl_calloc(1, sizeof *m);
    if (!m) return api_no_memory(&c->msg, "the model");
    if (pthread_mutex_init(&m->mu, NULL)) {
        free(m);
        return api_no_memory(&c->msg, "the model's lock");
    }
    arena_init(&m->arena);
    m->run = c->run;
    m->run.passes = NULL;
    if (!api_strdup(c->run.passes, &m->run.passes)) {
        model_free(m);
        return api_no_memory(&c->msg, "the pass pipeline");
    }
    Capture cap;
    if (!capture_begin(&cap)) {
        model_free(m);
        return api_no_memory(&c->msg, "a message stream");
    }
    if (c->max_errors >= 0) cap.d.max_errors = c->max_errors;
    m->g = bcl_build(bo, &m->arena, &cap.d);
    bool ok = m->g && cap.d.n_errors == 0;
    if (ok) ok = take_snapshots(m, &cap.d);
    capture_end(&cap, &c->msg);
    if (!ok) {
        if (!c->msg || !*c->msg) api_fail(&c->msg, BCL_ERR_COMPILE, "the model could not be built");
        model_free(m);
        return api_msg_is_oom(c->msg) ? BCL_ERR_NO_MEMORY : BCL_ERR_COMPILE;
    }
    /* warnings stay with the compiler; the new model starts clean */
    *out = m;
    return BCL_OK;
}

BclStatus bcl_compile_file(BclCompiler *c, const char *path, BclModel **out)
{
    NEED(c);
    if (!out) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compile_file: out is NULL");
    *out = NULL;
    if (!path) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compile_file: path is NULL");
    /* a file that cannot be read is an I/O error, not a compile error */
    int e = api_readable(path);
    if (e) return api_fail_path(&c->msg, BCL_ERR_IO, path, "cannot open: %s", strerror(e));
    BclBuildOptions bo = {.path = path, .model_name = c->model_name};
    return compile(c, &bo, out);
}

BclStatus bcl_compile_string(BclCompiler *c, const char *source, const char *name, BclModel **out)
{
    NEED(c);
    if (!out) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compile_string: out is NULL");
    *out = NULL;
    if (!source) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compile_string: source is NULL");
    BclBuildOptions bo = {.path = name && *name ? name : "<string>", .source_text = source, .model_name = c->model_name};
    return compile(c, &bo, out);
}

BclStatus bcl_compile_registered(BclCompiler *c, const char *model_name, BclModel **out)
{
    NEED(c);
    if (!out) return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compile_registered: out is NULL");
    *out = NULL;
    if (!model_name || !*model_name)
        return api_fail(&c->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_compile_registered: the model name is empty");
    BclBuildOptions bo = {.model_name = model_name};
    return compile(c, &bo, out);
}
