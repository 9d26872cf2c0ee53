/* bclc run's input checks: when a model does not build for the shape of the array
 * given with --input, say so about the file, with the shape the model's config
 * expects, rather than leaving the user with an error deep inside the model. */
#ifndef BCL_TOOLS_BCLC_INPUT_H
#define BCL_TOOLS_BCLC_INPUT_H
#include <stdbool.h>

#include "frontend/build.h"

/* After the build for input shape xs failed: builds the model quietly for its
 * config's default shape; if that works and xs differs from it (other than in the
 * batch), reports "input_path: error: ..." naming both shapes (and "NHWC?" when xs
 * is the expected shape with the channels last). Returns true if it reported. */
bool bclc_explain_input_shape(const BclBuildOptions *opt, const char *input_path, const Shape *xs, Diag *d);

#endif
