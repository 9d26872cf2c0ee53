/* Test harness for objects from bclc compile --name model --weights-out BLOB: loads
 * the blob, runs the model once on an .npy input and writes the output as raw
 * float32; a blob create refuses is reported as "error: REASON" (exit 1). */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "npy_read.h"

#if !MODEL_WEIGHTS_EXTERNAL
#error "this harness is for objects compiled with --weights-out"
#endif

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BLOB IN.npy OUT.f32\n", argv[0]);
        return 2;
    }
    BclrtCtx *c = model_create_from_file(argv[1]);
    if (!c) {
        fprintf(stderr, "error: %s\n", model_error());
        return 1;
    }
    float *x = NULL;
    long n = npy_read_f32(argv[2], &x);
    float *y = malloc(sizeof(float) * MODEL_OUTPUT_SIZE);
    int rc = n != MODEL_INPUT_SIZE || !y || model_run(c, x, y);
    model_destroy(c);
    FILE *f = rc ? NULL : fopen(argv[3], "wb");
    if (!f || fwrite(y, sizeof(float), MODEL_OUTPUT_SIZE, f) != MODEL_OUTPUT_SIZE || fclose(f)) rc = 1;
    free(x);
    free(y);
    return rc;
}
