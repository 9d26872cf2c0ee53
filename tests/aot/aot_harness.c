/* Test harness for objects from bclc compile --name model: runs the model once on
 * an .npy input and writes the output as raw float32 (aot_vs_jit.py compares it
 * with the JIT's). */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "npy_read.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.npy OUT.f32\n", argv[0]);
        return 2;
    }
    float *x = NULL;
    long n = npy_read_f32(argv[1], &x);
    if (n != MODEL_INPUT_SIZE) {
        fprintf(stderr, "input has %ld values, the model takes %d\n", n, MODEL_INPUT_SIZE);
        free(x);
        return 1;
    }
    float *y = malloc(sizeof(float) * MODEL_OUTPUT_SIZE);
    BclrtCtx *c = model_create();
    if (!y || !c) return 1;
    /* twice: the second run must not depend on what the first left behind */
    int rc = model_run(c, x, y) || model_run(c, x, y);
    model_destroy(c);
    FILE *f = fopen(argv[2], "wb");
    if (rc || !f || fwrite(y, sizeof(float), MODEL_OUTPUT_SIZE, f) != MODEL_OUTPUT_SIZE || fclose(f)) return 1;
    free(x);
    free(y);
    return 0;
}
