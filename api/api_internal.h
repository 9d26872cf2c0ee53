/* The C API's handles and the helpers its files share (not installed). */
#ifndef BCL_API_INTERNAL_H
#define BCL_API_INTERNAL_H
#include <pthread.h>
#include <stdbool.h>

#include "support/diag.h"
#include "support/oom.h"
#include "include/bcl/bcl.h"
#include "ir/ir.h"

#if BCL_HAVE_LLVM
#include "backend/llvm/jit.h"
#endif

typedef enum { ENGINE_INTERP, ENGINE_JIT } ApiEngine;

/* What a model keeps of its compiler's options (strings owned by the holder). */
typedef struct ApiRunOptions {
    ApiEngine engine;
    int threads;
    int opt_level;
    char *passes;           /* NULL = the level's default pipeline */
    bool strict_weights;
} ApiRunOptions;

struct BclCompiler {
    char *msg;
    ApiRunOptions run;
    bool has_input_shape;
    Shape input_shape;
    char *cfg_name;
    char *model_name;       /* bcl_compiler_set_model: a registered model of the file */
    char **overrides;
    int n_overrides;
    char **include_dirs;
    int n_include_dirs;
    int64_t max_steps;          /* the compile-time budget; 0: the default */
    int64_t max_param_elems;
    int max_errors;             /* errors shown before "too many errors"; -1: the default */
};

/* A tensor as the caller sees it: name (parameters and inputs) and shape. */
typedef struct ApiTensor {
    const char *name;
    Shape shape;
} ApiTensor;

struct BclModel {
    pthread_mutex_t mu;     /* guards msg, the preparation and the engine pool */
    char *msg;
    Arena arena;            /* the graph and everything the build made */
    IrGraph *g;
    ApiRunOptions run;
    /* snapshots taken at compile time: passes rewrite g but not the model's interface */
    int n_in, n_out, n_par;
    ApiTensor *in, *out, *par;
    bool prepared;
    BclStatus prepare_failed;   /* BCL_OK, or the status of a failed preparation (final) */
#if BCL_HAVE_LLVM
    BclJit **spare;             /* compiled engines not held by a context */
    int n_spare, cap_spare;
#endif
};

struct BclContext {
    BclModel *m;
    char *msg;
#if BCL_HAVE_LLVM
    BclJit *jit;
#endif
};

/* Diagnostics captured into a string: a Diag writing to an open_memstream. */
typedef struct Capture {
    FILE *f;
    char *buf;
    size_t len;
    Diag d;
    BclOomGuard guard;   /* closes the stream if an allocation fails meanwhile */
} Capture;

/* Starts a capture; false if no memory stream could be opened. */
bool capture_begin(Capture *c);
/* Ends it: the text replaces *msg (the previous one is freed). */
void capture_end(Capture *c, char **msg);

/* Replaces *msg with "bclc: error: <fmt...>\n" and returns s. */
BclStatus api_fail(char **msg, BclStatus s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "bclc: error: out of memory (what)": BCL_ERR_NO_MEMORY with a message. */
BclStatus api_no_memory(char **msg, const char *what);
/* Whether a captured message reports an allocation that failed. */
bool api_msg_is_oom(const char *msg);
/* The same for a file: "PATH: error: <fmt...>\n". */
BclStatus api_fail_path(char **msg, BclStatus s, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Empties *msg (a call that succeeds leaves no stale error). */
void api_clear(char **msg);
/* The text for a getter: "" when there is none. */
const char *api_msg(const char *msg);

/* Copies an option string (NULL stays NULL); false on no memory. */
bool api_strdup(const char *s, char **out);

/* 0 if path can be opened and read (a directory cannot), else an errno value. */
int api_readable(const char *path);

/* Prepares m; the caller holds m->mu. Diagnostics go to m->msg. */
BclStatus model_prepare_locked(BclModel *m);

#endif
