/* BclModel: binding weights, preparation (passes, then the engine), and the
 * queries on its inputs, outputs and parameters. */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"
#include "io/npy.h"
#include "io/weights.h"
#include "api/api_internal.h"
#include "support/oom.h"
#include "api/pipeline.h"

void model_free(BclModel *m)
{
#if BCL_HAVE_LLVM
    for (int i = 0; i < m->n_spare; i++) bcl_jit_free(m->spare[i]);
    free(m->spare);
#endif
    arena_free(&m->arena);
    free(m->run.passes);
    free(m->msg);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void bcl_model_destroy(BclModel *m)
{
    if (m) model_free(m);
}

const char *bcl_model_error(const BclModel *m) { return m ? api_msg(m->msg) : "bclc: error: NULL model\n"; }

/* ------------------------------------------------------------------ weights */

/* Reads a weight file's bytes by content, as bcl_read_weights does for files. */
static int read_weights_mem(const char *name, const unsigned char *buf, size_t len, StFile *f, Diag *d)
{
    return bcl_read_weights_mem(name, buf, len, f, d);
}

/* The parameters' data before a bind, put back when it fails. */
typedef struct SavedParams {
    IrGraph *g;
    float **data;
} SavedParams;

static void restore_params(void *arg)
{
    SavedParams *sp = arg;
    for (int i = 0; i < sp->g->params.n; i++) ((IrValue *)sp->g->params.v[i])->data = sp->data[i];
    free(sp->data);
    sp->data = NULL;
}

/* Binds f; a bind that fails (an error, or out of memory: the guard) leaves every
 * parameter as it was. */
static BclStatus bind(BclModel *m, StFile *f, const char *name, Capture *cap)
{
    IrGraph *g = m->g;
    SavedParams sp = {g, bcl_malloc(sizeof(float *) * (size_t)(g->params.n ? g->params.n : 1))};
    if (!sp.data) {
        diag_error(&cap->d, NO_LOC, "out of memory binding the weights");
        return BCL_ERR_NO_MEMORY;
    }
    for (int i = 0; i < g->params.n; i++) sp.data[i] = ((IrValue *)g->params.v[i])->data;
    BclOomGuard guard;
    bcl_oom_guard(&guard, restore_params, &sp);
    /* non-strict: the parameters f does not give start from their initialiser (seed 0) */
    int rc = bcl_pipeline_bind(g, f, name, !m->run.strict_weights, 0, &cap->d);
    bcl_oom_unguard(&guard);
    if (rc != 0) restore_params(&sp);
    free(sp.data);
    return rc == 0 ? BCL_OK : BCL_ERR_WEIGHTS;
}

/* The checks every weight-changing call makes; the caller holds m->mu. */
static BclStatus weights_allowed(BclModel *m, const char *what)
{
    if (m->prepared || m->prepare_failed)
        return api_fail(&m->msg, BCL_ERR_STATE,
                        "%s: the model is already prepared (its weights are folded into the optimised graph); "
                        "load weights before bcl_model_prepare or the first bcl_context_create", what);
    return BCL_OK;
}

static void st_free_guarded(void *arg) { st_free(arg); }

/* Reads and binds; an allocation that fails below returns here as BCL_ERR_NO_MEMORY
 * (the capture and the file read so far are released by their guards). */
static BclStatus load_locked(BclModel *m, const char *name, const unsigned char *buf, size_t len)
{
    BclOomScope sc;
    if (BCL_OOM_CATCH(sc)) return api_no_memory(&m->msg, sc.what);
    Capture cap;
    if (!capture_begin(&cap)) {
        bcl_oom_pop(&sc);
        return api_no_memory(&m->msg, "a message stream");
    }
    StFile f = {0};
    BclOomGuard g_f;
    bcl_oom_guard(&g_f, st_free_guarded, &f);
    BclStatus s;
    if (buf) {
        s = read_weights_mem(name, buf, len, &f, &cap.d) ? BCL_ERR_WEIGHTS : BCL_OK;
    } else {
        s = bcl_read_weights(name, &f, &cap.d) ? BCL_ERR_WEIGHTS : BCL_OK;
    }
    if (!s) s = bind(m, &f, name, &cap);
    bcl_oom_unguard(&g_f);
    st_free(&f);
    capture_end(&cap, &m->msg);
    bcl_oom_pop(&sc);
    if (s == BCL_ERR_WEIGHTS && api_msg_is_oom(m->msg)) s = BCL_ERR_NO_MEMORY;
    return s;
}

static BclStatus load(BclModel *m, const char *what, const char *name, const unsigned char *buf, size_t len)
{
    pthread_mutex_lock(&m->mu);
    BclStatus s = weights_allowed(m, what);
    if (!s) s = load_locked(m, name, buf, len);
    pthread_mutex_unlock(&m->mu);
    return s;
}

BclStatus bcl_model_load_weights_file(BclModel *m, const char *path)
{
    if (!m) return BCL_ERR_INVALID_ARGUMENT;
    if (!path) return api_fail(&m->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_model_load_weights_file: path is NULL");
    int e = api_readable(path);
    if (e) return api_fail_path(&m->msg, BCL_ERR_IO, path, "cannot open the weight file: %s", strerror(e));
    return load(m, "bcl_model_load_weights_file", path, NULL, 0);
}

BclStatus bcl_model_load_weights_memory(BclModel *m, const void *data, size_t len, const char *name)
{
    if (!m) return BCL_ERR_INVALID_ARGUMENT;
    if (!data) return api_fail(&m->msg, BCL_ERR_INVALID_ARGUMENT, "bcl_model_load_weights_memory: data is NULL");
    return load(m, "bcl_model_load_weights_memory", name && *name ? name : "<memory>", data, len);
}

/* The bytes of the parameters that have no data yet. */
static double missing_weight_bytes(const IrGraph *g)
{
    double bytes = 0;
    for (int i = 0; i < g->params.n; i++) {
        const IrValue *v = g->params.v[i];
        if (!v->data) bytes += 4.0 * (double)shape_numel(&v->shape);
    }
    return bytes;
}

static BclStatus random_weights_locked(BclModel *m, uint64_t seed)
{
    double bytes = missing_weight_bytes(m->g);
    if (!bcl_memory_fits(bytes))
        return api_fail(&m->msg, BCL_ERR_NO_MEMORY, "bcl_model_random_weights: the weights need %.1f GiB, more than this machine's memory",
                        bytes / (1 << 30));
    BclOomScope sc;
    if (BCL_OOM_CATCH(sc))
        return api_fail(&m->msg, BCL_ERR_NO_MEMORY, "bcl_model_random_weights: out of memory (%s)", sc.what);
    bcl_random_weights(m->g, seed);
    bcl_oom_pop(&sc);
    api_clear(&m->msg);
    return BCL_OK;
}

BclStatus bcl_model_random_weights(BclModel *m, uint64_t seed)
{
    if (!m) return BCL_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&m->mu);
    BclStatus s = weights_allowed(m, "bcl_model_random_weights");
    if (!s) s = random_weights_locked(m, seed);
    pthread_mutex_unlock(&m->mu);
    return s;
}

/* ------------------------------------------------------------------ preparation */

/* The parameters still without data, named in an error (the first few). */
static BclStatus check_weights(BclModel *m)
{
    const IrGraph *g = m->g;
    int missing = 0, first = -1;
    for (int i = 0; i < g->params.n; i++)
        if (!((const IrValue *)g->params.v[i])->data && missing++ == 0) first = i;
    if (!missing) return BCL_OK;
    return api_fail(&m->msg, BCL_ERR_STATE,
                    "%d of the model's %d parameters have no weights (the first is '%s'); load weights "
                    "(bcl_model_load_weights_file / _memory, or bcl_model_random_weights) before preparing or running",
                    missing, g->params.n, ((const IrValue *)g->params.v[first])->name);
}

#if BCL_HAVE_LLVM
/* Compiles one JIT instance of the prepared graph; diagnostics into *msg. */
BclJit *model_compile_jit(BclModel *m, char **msg)
{
    Capture cap;
    if (!capture_begin(&cap)) return NULL;
    BclJitOptions jo = {.threads = m->run.threads, .cache = 1};   /* BCL_NO_CACHE=1 turns it off */
    BclJit *j = bcl_jit_compile(m->g, &jo, &cap.d);
    capture_end(&cap, msg);
    if (!j && (!*msg || !**msg)) api_fail(msg, BCL_ERR_RUNTIME, "the JIT could not compile the model");
    return j;
}
#endif

static BclStatus prepare_locked(BclModel *m);

/* Out of memory while optimising or compiling is BCL_ERR_NO_MEMORY, and final. */
BclStatus model_prepare_locked(BclModel *m)
{
    if (m->prepared) return BCL_OK;
    BclOomScope sc;
    if (BCL_OOM_CATCH(sc)) {
        m->prepare_failed = BCL_ERR_NO_MEMORY;
        return api_fail(&m->msg, BCL_ERR_NO_MEMORY, "out of memory while preparing the model (%s)", sc.what);
    }
    BclStatus s = prepare_locked(m);
    bcl_oom_pop(&sc);
    return s;
}

static BclStatus prepare_locked(BclModel *m)
{
    if (m->prepared) return BCL_OK;
    if (m->prepare_failed)
        return api_fail(&m->msg, m->prepare_failed, "an earlier preparation of this model failed; compile it again");
    BclStatus s = check_weights(m);
    if (s) return s;   /* not final: weights may still come */
    Capture cap;
    if (!capture_begin(&cap)) return api_no_memory(&m->msg, "a message stream");
    const char *pipeline = m->run.passes ? m->run.passes : bcl_default_pipeline(m->run.opt_level);
    /* passes rewrite the graph in place: a failure leaves it unusable */
    if (bcl_run_passes(m->g, pipeline, NULL, &cap.d) || cap.d.n_errors) s = BCL_ERR_COMPILE;
    if (!s && m->g->outputs.n != m->n_out) s = BCL_ERR_RUNTIME;
    for (int i = 0; !s && i < m->n_out; i++)
        if (!shape_eq(&((const IrValue *)m->g->outputs.v[i])->shape, &m->out[i].shape)) s = BCL_ERR_RUNTIME;
    if (s == BCL_ERR_RUNTIME)
        diag_error(&cap.d, NO_LOC, "internal error: the pass pipeline '%s' changed the model's outputs", pipeline);
    capture_end(&cap, &m->msg);
#if BCL_HAVE_LLVM
    /* the JIT packs a copy of the weights and plans an activation arena: refuse up front
     * what this machine cannot hold */
    if (!s && m->run.engine == ENGINE_JIT) {
        Capture fc;
        if (!capture_begin(&fc)) {
            s = api_no_memory(&m->msg, "a message stream");
        } else {
            bool fits = bcl_pipeline_jit_fits(m->g, &fc.d);
            capture_end(&fc, &m->msg);
            if (!fits) s = BCL_ERR_NO_MEMORY;
        }
    }
    /* compile one instance now, so that engine errors surface here; the first context takes it */
    if (!s && m->run.engine == ENGINE_JIT) {
        BclJit *j = model_compile_jit(m, &m->msg);
        if (!j) {
            s = api_msg_is_oom(m->msg) ? BCL_ERR_NO_MEMORY : BCL_ERR_RUNTIME;
        } else {
            m->spare = bcl_malloc(sizeof(BclJit *) * 4);
            if (!m->spare) {
                bcl_jit_free(j);
                s = api_no_memory(&m->msg, "the model's JIT instances");
            } else {
                m->cap_spare = 4;
                m->spare[m->n_spare++] = j;
            }
        }
    }
#endif
    if (s) {
        m->prepare_failed = s;
        return s;
    }
    m->prepared = true;
    return BCL_OK;
}

BclStatus bcl_model_prepare(BclModel *m)
{
    if (!m) return BCL_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&m->mu);
    BclStatus s = model_prepare_locked(m);
    pthread_mutex_unlock(&m->mu);
    return s;
}

int bcl_model_is_prepared(const BclModel *m)
{
    if (!m) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&m->mu);
    int p = m->prepared;
    pthread_mutex_unlock((pthread_mutex_t *)&m->mu);
    return p;
}

/* ------------------------------------------------------------------ queries */

const char *bcl_model_name(const BclModel *m) { return m && m->g->name ? m->g->name : ""; }
int bcl_model_num_inputs(const BclModel *m) { return m ? m->n_in : 0; }
int bcl_model_num_outputs(const BclModel *m) { return m ? m->n_out : 0; }
int bcl_model_num_params(const BclModel *m) { return m ? m->n_par : 0; }

static BclStatus shape_of(const ApiTensor *t, int n, int i, int64_t *dims, int max_dims, int *rank)
{
    if (i < 0 || i >= n) return BCL_ERR_INVALID_ARGUMENT;
    const Shape *s = &t[i].shape;
    if (rank) *rank = s->rank;
    if (!dims) return BCL_OK;
    if (s->rank > max_dims) return BCL_ERR_INVALID_ARGUMENT;
    for (int k = 0; k < s->rank; k++) dims[k] = s->d[k];
    return BCL_OK;
}

BclStatus bcl_model_input_shape(const BclModel *m, int i, int64_t *dims, int max_dims, int *rank)
{
    return m ? shape_of(m->in, m->n_in, i, dims, max_dims, rank) : BCL_ERR_INVALID_ARGUMENT;
}

BclStatus bcl_model_output_shape(const BclModel *m, int i, int64_t *dims, int max_dims, int *rank)
{
    return m ? shape_of(m->out, m->n_out, i, dims, max_dims, rank) : BCL_ERR_INVALID_ARGUMENT;
}

BclStatus bcl_model_param_shape(const BclModel *m, int i, int64_t *dims, int max_dims, int *rank)
{
    return m ? shape_of(m->par, m->n_par, i, dims, max_dims, rank) : BCL_ERR_INVALID_ARGUMENT;
}

int64_t bcl_model_input_numel(const BclModel *m, int i)
{
    return m && i >= 0 && i < m->n_in ? shape_numel(&m->in[i].shape) : -1;
}

int64_t bcl_model_output_numel(const BclModel *m, int i)
{
    return m && i >= 0 && i < m->n_out ? shape_numel(&m->out[i].shape) : -1;
}

const char *bcl_model_param_name(const BclModel *m, int i)
{
    return m && i >= 0 && i < m->n_par ? m->par[i].name : NULL;
}
