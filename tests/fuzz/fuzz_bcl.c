/* The .bcl front end end to end: lexer, parser, static checks, the elaborator (the
 * constructors run at compile time) and tracing forward into IR. Any input must end
 * in a graph or in errors, never a crash, a hang or a sanitizer report. */
#include <stdint.h>
#include <string.h>

#include "frontend/build.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    Diag d;
    fuzz_diag(&d);
    Arena a;
    arena_init(&a);
    BclBuildOptions o = {.path = "fuzz.bcl", .source_text = text};
    bcl_build(&o, &a, &d);
    arena_free(&a);
    free(text);
    return 0;
}
