/* From a .bcl file (or a registered model name) to an IR graph: parse, run the
 * constructors (build_model / build_head from the config), trace forward. */
#ifndef BCL_BUILD_H
#define BCL_BUILD_H
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "support/diag.h"

/* The data section of a BaseCls config, as its test transform reads it (BaseCls's
 * defaults for what the config leaves out). */
typedef struct BclDataCfg {
    int64_t img_h, img_w;        /* test.img_size (else preprocess.img_size, else 224) */
    double crop_pct;             /* test.crop_pct (0.875) */
    char interpolation[16];      /* augments.resize.interpolation ("bilinear") */
    char color_space[8];         /* preprocess.img_color_space ("BGR") */
    int n_mean, n_std;
    double mean[8], std[8];      /* preprocess.img_mean / img_std, per channel of color_space */
    int64_t num_classes;         /* num_classes; -1 when absent */
} BclDataCfg;

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
    BclDataCfg *data_cfg;        /* if set: filled from the config (bclc run --image, eval) */
    /* the compile-time budget (support/limits.h; 0 = the default there) */
    long max_steps;              /* --max-steps N: statements and loop turns run at compile time */
    int64_t max_param_elems;     /* --max-param-elems N: elements of all parameters and buffers */
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
