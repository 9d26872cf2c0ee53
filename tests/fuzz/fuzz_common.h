/* Shared by the libFuzzer targets (tests/fuzz, docs/fuzzing.md): diagnostics go to
 * /dev/null, so that a run prints only the fuzzer's own lines. */
#ifndef BCL_FUZZ_COMMON_H
#define BCL_FUZZ_COMMON_H
#include <stdio.h>
#include <stdlib.h>

#include "support/diag.h"

static FILE *fuzz_null(void)
{
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f;
}

static void fuzz_diag(Diag *d)
{
    diag_init(d, fuzz_null());
    d->max_errors = 0;
}

#endif
