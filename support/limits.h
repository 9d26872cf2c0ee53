/* Every limit on the size or depth of user input, in one place. Each recursive walk over
 * something a user wrote (the parser's brackets and blocks, the checker, the elaborator,
 * the module tree, JSON) stops at its limit here with a located error, so that no input
 * can overflow the C stack; sizes are checked against these before anything is
 * allocated, so that no input can overflow int64 arithmetic or ask malloc for terabytes. */
#ifndef BCL_LIMITS_H
#define BCL_LIMITS_H
#include <stdint.h>

/* --- depth (C stack) */
#define BCL_MAX_INDENT        100      /* nested blocks in a .bcl file */
#define BCL_MAX_BRACKETS      200      /* nested (, [, { in a .bcl file */
#define BCL_MAX_CALL_DEPTH    200      /* nested calls of user functions at compile time */
#define BCL_MAX_EXPR_DEPTH    1500     /* nested sub-expressions (evaluator and checker) */
#define BCL_MAX_MODULE_DEPTH  1000     /* modules (and lists/dicts of them) nested in a model */
#define BCL_MAX_VALUE_DEPTH   32       /* lists / dicts nested inside one module attribute */
#define BCL_MAX_JSON_DEPTH    64       /* nested arrays / objects in a JSON file */

/* --- compile-time budget (the defaults; --max-steps N and --max-param-elems N set
 * them per build, up to the caps) */
#define BCL_MAX_STEPS         5000000  /* statements and calls run by the elaborator */
#define BCL_MAX_STEPS_CAP     ((int64_t)1 << 40)

/* --- diagnostics: errors shown before "too many errors" (--max-errors N, 0 = all) */
#define BCL_DEFAULT_MAX_ERRORS 20

/* --- sizes: one tensor (a parameter, a buffer, an op result, an input) */
#define BCL_MAX_TENSOR_ELEMS  ((int64_t)1 << 36)   /* 64 Gi elements */
#define BCL_MAX_TENSOR_BYTES  ((int64_t)1 << 38)   /* 256 GiB */
/* all the parameters and buffers of one model together */
#define BCL_MAX_MODEL_ELEMS   ((int64_t)1 << 36)
#define BCL_MAX_PARAM_ELEMS_CAP ((int64_t)1 << 40)   /* 4 TiB of float32: past any machine */

#endif
