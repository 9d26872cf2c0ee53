/* From a .bcl file (or a registered model name) to an IR graph: parse, run the
 * constructors (build_model / build_head from the config), trace forward. */
#ifndef BCL_BUILD_H
#define BCL_BUILD_H
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "support/diag.h"

typedef struct BclBuildOptions {
    const char *path;            /* the .bcl file; NULL with model_name alone (stdlib zoo) */
    const char *source_text;     /* if set: the text of path, which need not exist (C API) */
    const char *model_name;      /* --model NAME: build this registered model, default config */
    const char *cfg_name;        /* --cfg NAME; NULL = "_cfg" */
    const char *const *overrides;/* -o key=value, in command-line order */
    int n_overrides;
    const char *const *include_dirs; /* -I DIR */
    int n_include_dirs;
    bool has_input_shape;        /* --input-shape N,C,H,W given */
    Shape input_shape;
} BclBuildOptions;

/* Returns the traced graph (allocated in a), or NULL after reporting errors to d. */
IrGraph *bcl_build(const BclBuildOptions *opt, Arena *a, Diag *d);

/* Lists registered models and heads (stdlib and, if path is set, the file's) whose name
 * contains pattern (NULL = all), one per line "model NAME" / "head NAME"; verbose adds
 * the builder's @hub.pretrained URL ("model NAME URL"). 0 on success. */
int bcl_list_registered(const BclBuildOptions *opt, const char *pattern, bool verbose, FILE *out, Diag *d);

/* The standard library: embedded .bcl sources, looked up by module path
 * ("megengine/module", "basecls/layers", "basecls/models/resnet", ...). NULL if none. */
const char *bcl_stdlib_lookup(const char *module_path);
/* All embedded module paths, NULL-terminated. */
extern const char *const bcl_stdlib_paths[];

#endif
