/* The driver layer's pipeline: what bclc, bcl-opt and the C API run between the
 * frontend and an engine. */
#ifndef BCL_API_PIPELINE_H
#define BCL_API_PIPELINE_H
#include <stdio.h>

#include "passes/pass.h"

/* Runs the interpreter on g (inputs -> reference outputs), then the pipeline, then the
 * interpreter again into outputs, and compares with issue 4's tolerance (max |diff| <=
 * 1e-5 * max |y| + 1e-6): a line per output goes to report; a difference is an error
 * located at the first node of the optimized graph whose result differs. 0 if equal. */
int bcl_run_passes_checked(IrGraph *g, const char *pipeline, const PassOptions *opt,
                           const float *const *inputs, float *const *outputs, FILE *report, Diag *d);

#endif
