/* The public C API of bclc: compile a .bcl model, bind its weights, run it.
 *
 *   BclCompiler  options (engine, threads, input shape, overrides, config, passes,
 *                include dirs); compiles .bcl files or texts into models.
 *   BclModel     a compiled model: its graph, weights and (once prepared) its
 *                optimised engine. Query its inputs, outputs and parameters.
 *   BclContext   one thread's execution state (scratch memory, engine instance) for
 *                a prepared model: create one per thread that runs the model.
 *
 * The natural order, each step checked (a call out of order returns BCL_ERR_STATE):
 *
 *   bcl_compiler_create -> bcl_compiler_set_* -> bcl_compile_file / bcl_compile_string
 *   -> bcl_model_load_weights_file / _memory (or bcl_model_random_weights)
 *   -> bcl_model_prepare (optional: bcl_context_create prepares on first use)
 *   -> bcl_context_create (one per thread) -> bcl_context_run ... -> destroy all.
 *
 * Errors: every function that can fail returns a BclStatus. The full diagnostic text
 * of the last call on a handle (file:line:col, the source line with a caret, notes) is
 * returned by bcl_compiler_error / bcl_model_error / bcl_context_error: the errors
 * when it failed; when it succeeded, "" or its warnings. A call that creates a handle
 * and fails reports on the handle it was called on (bcl_context_create on the model,
 * which it writes only when it fails or prepares the model). Functions never exit or
 * abort on user errors, and accept NULL handles with BCL_ERR_INVALID_ARGUMENT (the
 * getters then return "bclc: error: NULL ..."). The library has no global mutable state.
 *
 * Threads: distinct handles may be used from distinct threads freely. One model may
 * serve many threads at once: bcl_context_create may be called concurrently on a
 * model, and each context runs independently; a single context (and a compiler, and
 * the non-const model functions other than bcl_context_create) is used by one thread
 * at a time. A model must outlive its contexts. */
#ifndef BCL_BCL_H
#define BCL_BCL_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden: only what carries BCL_API is
 * exported from libbcl.so (and global in libbcl.a); everything else is internal. */
#if defined(__GNUC__) || defined(__clang__)
#define BCL_API __attribute__((visibility("default")))
#else
#define BCL_API
#endif

#define BCL_VERSION_MAJOR 0
#define BCL_VERSION_MINOR 1
#define BCL_VERSION_PATCH 0
/* major * 10000 + minor * 100 + patch, as bcl_version returns it */
#define BCL_VERSION (BCL_VERSION_MAJOR * 10000 + BCL_VERSION_MINOR * 100 + BCL_VERSION_PATCH)

/* The most dimensions a tensor has. */
#define BCL_MAX_DIMS 8

typedef enum BclStatus {
    BCL_OK = 0,
    BCL_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad option value, a wrong count */
    BCL_ERR_IO = 2,               /* a file that cannot be read */
    BCL_ERR_COMPILE = 3,          /* errors in the .bcl source, its config, or a pass */
    BCL_ERR_WEIGHTS = 4,          /* a malformed weight file, or keys/shapes that do not match */
    BCL_ERR_STATE = 5,            /* a call out of order (e.g. running before weights are loaded) */
    BCL_ERR_SHAPE = 6,            /* a buffer whose element count is not the tensor's */
    BCL_ERR_UNSUPPORTED = 7,      /* e.g. engine "jit" in a library built without LLVM */
    BCL_ERR_RUNTIME = 8,          /* the engine failed while compiling or running */
    BCL_ERR_NO_MEMORY = 9,
} BclStatus;

typedef struct BclCompiler BclCompiler;
typedef struct BclModel BclModel;
typedef struct BclContext BclContext;

/* ---- library ---- */

/* The library's version as BCL_VERSION computes it (compare with the header's). */
BCL_API int bcl_version(void);
/* "0.1.0" */
BCL_API const char *bcl_version_string(void);
/* A short constant name for a status ("BCL_ERR_SHAPE"); "unknown status" otherwise. */
BCL_API const char *bcl_status_name(BclStatus s);
/* Whether engine ("interp", "jit") is available in this build: 1 or 0. */
BCL_API int bcl_engine_available(const char *engine);

/* ---- compiler: options, then compile ---- */

/* Out of memory: BCL_ERR_NO_MEMORY, and *out is a read-only handle that carries the
 * message (bcl_compiler_error); any other call on it returns BCL_ERR_NO_MEMORY, and
 * bcl_compiler_destroy takes it as it takes any compiler. */
BCL_API BclStatus bcl_compiler_create(BclCompiler **out);
BCL_API void bcl_compiler_destroy(BclCompiler *c);            /* NULL is fine */
/* The diagnostics of the last call on c (see above); valid until the next call on c. */
BCL_API const char *bcl_compiler_error(const BclCompiler *c);

/* "jit" (native code through LLVM; the default when the library was built with it)
 * or "interp" (the reference interpreter; the default otherwise). "jit" without LLVM:
 * BCL_ERR_UNSUPPORTED. */
BCL_API BclStatus bcl_compiler_set_engine(BclCompiler *c, const char *engine);
/* Worker threads per context for the JIT: 0 (the default) = BCL_NUM_THREADS from the
 * environment, else the online cores. The interpreter runs on the calling thread.
 * With several contexts running at once, 1 per context is usually best. */
BCL_API BclStatus bcl_compiler_set_threads(BclCompiler *c, int threads);
/* The input shape (e.g. {1, 3, 224, 224}); default: [1, 3, H, W] from the config's
 * test.img_size / preprocess.img_size, else 224. 1 <= rank <= BCL_MAX_DIMS, every dim from
 * 1 to 2^31 - 1 (bclc --input-shape's bound). */
BCL_API BclStatus bcl_compiler_set_input_shape(BclCompiler *c, const int64_t *dims, int rank);
/* A config override "key.sub=value" (like bclc -o), applied in the order added. */
BCL_API BclStatus bcl_compiler_add_override(BclCompiler *c, const char *key_eq_value);
/* The config variable to build from (default "_cfg"). */
BCL_API BclStatus bcl_compiler_set_config(BclCompiler *c, const char *cfg_name);
/* The registered model to build from the compiled file or text (like bclc --model
 * NAME with a FILE): a model the file registers, or one of the zoo's, with its
 * default config. NULL or "" (the default): the file's own network. */
BCL_API BclStatus bcl_compiler_set_model(BclCompiler *c, const char *model_name);
/* Optimisation level 0, 1 or 2 (the default): the default pass pipeline of bclc -O. */
BCL_API BclStatus bcl_compiler_set_opt_level(BclCompiler *c, int level);
/* An explicit pass pipeline ("dce,fold-bn,fuse-act"; "" = none), instead of the
 * level's; every name is checked now. NULL returns to the level's pipeline. */
BCL_API BclStatus bcl_compiler_set_passes(BclCompiler *c, const char *pipeline);
/* A directory searched for imported .bcl modules (like bclc -I), in the order added. */
BCL_API BclStatus bcl_compiler_add_include_dir(BclCompiler *c, const char *dir);
/* strict = 1 (the default): weights with missing or unexpected keys or mismatched
 * shapes are refused. 0 (bclc --non-strict): those are warnings (kept in the model's
 * error text), and after each load every parameter still without weights starts from
 * its initialiser (as bcl_model_random_weights(m, 0) fills it), named in a warning. */
BCL_API BclStatus bcl_compiler_set_strict_weights(BclCompiler *c, int strict);
/* The compile-time budget (bclc --max-steps N, --max-param-elems N; docs/robustness.md),
 * for a file that is not trusted (lower) or a model that is very large (higher): the
 * statements and loop turns the model's Python may run while building (1 to 2^40,
 * default 5,000,000), and the elements of all its parameters and buffers (1 to 2^40,
 * default 2^36). Past either, compiling fails with BCL_ERR_COMPILE and an error that
 * names the limit. A value out of bounds: BCL_ERR_INVALID_ARGUMENT. */
BCL_API BclStatus bcl_compiler_set_max_steps(BclCompiler *c, int64_t steps);
BCL_API BclStatus bcl_compiler_set_max_param_elems(BclCompiler *c, int64_t elems);
/* Errors kept in bcl_compiler_error's text before one line says "too many errors"
 * (bclc --max-errors N): 0 keeps all; default 20. */
BCL_API BclStatus bcl_compiler_set_max_errors(BclCompiler *c, int max_errors);

/* Compiles a .bcl file into *out (NULL on failure; diagnostics in bcl_compiler_error).
 * The model keeps a copy of the compiler's options: c may be changed or destroyed. */
BCL_API BclStatus bcl_compile_file(BclCompiler *c, const char *path, BclModel **out);
/* Compiles .bcl source text; name (e.g. "net.bcl"; NULL = "<string>") is the file name
 * used in diagnostics, and its directory is where imports beside the file are looked
 * up. Nothing is read from or written to disk for the text itself. */
BCL_API BclStatus bcl_compile_string(BclCompiler *c, const char *source, const char *name, BclModel **out);
/* Builds a model registered in the standard library's zoo ("resnet18"), with its
 * default config (1000 classes) and the compiler's overrides. */
BCL_API BclStatus bcl_compile_registered(BclCompiler *c, const char *model_name, BclModel **out);

/* ---- model: weights, preparation, queries ---- */

BCL_API void bcl_model_destroy(BclModel *m);                  /* NULL is fine; after its contexts */
/* The diagnostics of the last call on m (e.g. the warnings of a non-strict weight load). */
BCL_API const char *bcl_model_error(const BclModel *m);

/* Binds the tensors of a weight file to the parameters by state-dict key. The format
 * is recognised by content: NumPy .npz (a zip archive) or safetensors (F32/F16/BF16).
 * Strict loads are all or nothing. Before preparation only (BCL_ERR_STATE after). */
BCL_API BclStatus bcl_model_load_weights_file(BclModel *m, const char *path);
/* The same from a buffer holding a file's bytes (copied; the buffer may be freed after);
 * name (NULL = "<memory>") is shown in diagnostics. */
BCL_API BclStatus bcl_model_load_weights_memory(BclModel *m, const void *data, size_t len, const char *name);
/* Fills every parameter that has no weights with deterministic pseudo-random values
 * (for tests and benchmarks). Before preparation only. */
BCL_API BclStatus bcl_model_random_weights(BclModel *m, uint64_t seed);
/* Runs the pass pipeline and compiles the engine. Every parameter needs weights
 * (else BCL_ERR_STATE naming them). Idempotent; thread-safe; called by the first
 * bcl_context_create if not before. After it, weights can no longer be changed. */
BCL_API BclStatus bcl_model_prepare(BclModel *m);
/* 1 once prepared, else 0. */
BCL_API int bcl_model_is_prepared(const BclModel *m);

/* The model's name (its class, e.g. "AlexNet"). */
BCL_API const char *bcl_model_name(const BclModel *m);
/* Counts; 0 for a NULL model. */
BCL_API int bcl_model_num_inputs(const BclModel *m);
BCL_API int bcl_model_num_outputs(const BclModel *m);
BCL_API int bcl_model_num_params(const BclModel *m);
/* A tensor's shape: dims gets up to max_dims entries, *rank its rank (dims may be
 * NULL to ask for the rank alone). BCL_ERR_INVALID_ARGUMENT for an index out of
 * range or a rank above max_dims. The *_numel functions return the element count,
 * or -1 for a bad index. Valid in every state (they describe the unoptimised model,
 * whose parameters are what a weight file must hold). */
BCL_API BclStatus bcl_model_input_shape(const BclModel *m, int i, int64_t *dims, int max_dims, int *rank);
BCL_API BclStatus bcl_model_output_shape(const BclModel *m, int i, int64_t *dims, int max_dims, int *rank);
BCL_API BclStatus bcl_model_param_shape(const BclModel *m, int i, int64_t *dims, int max_dims, int *rank);
BCL_API int64_t bcl_model_input_numel(const BclModel *m, int i);
BCL_API int64_t bcl_model_output_numel(const BclModel *m, int i);
/* The state-dict key of parameter i ("features.0.weight"), or NULL; owned by m. */
BCL_API const char *bcl_model_param_name(const BclModel *m, int i);

/* ---- contexts: one per thread ---- */

/* Prepares m if needed, then creates an execution context (with its own scratch
 * memory and, for the JIT, its own engine instance and thread pool). On failure
 * the diagnostics are in bcl_model_error(m). */
BCL_API BclStatus bcl_context_create(BclModel *m, BclContext **out);
BCL_API void bcl_context_destroy(BclContext *ctx);            /* NULL is fine */
BCL_API const char *bcl_context_error(const BclContext *ctx);

/* Runs the model: inputs[i] holds input i (dense float32, C order), with
 * input_counts[i] elements; outputs[i] receives output i (output_counts[i] elements).
 * The counts must equal the tensors' element counts (BCL_ERR_SHAPE otherwise) and
 * n_inputs / n_outputs the model's (BCL_ERR_INVALID_ARGUMENT). Buffers belong to the
 * caller; outputs must not overlap inputs. */
BCL_API BclStatus bcl_context_run(BclContext *ctx, const float *const *inputs, const size_t *input_counts,
                          int n_inputs, float *const *outputs, const size_t *output_counts, int n_outputs);
/* bcl_context_run for a model with one input and one output. */
BCL_API BclStatus bcl_context_run1(BclContext *ctx, const float *input, size_t input_count, float *output,
                           size_t output_count);

#ifdef __cplusplus
}
#endif
#endif
