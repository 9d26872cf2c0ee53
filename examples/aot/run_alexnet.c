/* AlexNet (61M parameters) compiled ahead of time with its weights in a separate
 * blob, so the object stays small (docs/deploy.md):
 *   bclc compile examples/alexnet.bcl --random-weights 1 --name alexnet \
 *        --weights-out alexnet.bin --output alexnet.o --header alexnet.h
 *   cc -I. run_alexnet.c alexnet.o libbclrt.a -lm -lpthread -o run_alexnet
 *   ./run_alexnet alexnet.bin [IMAGE.npy [OUT.f32]]
 * Prints the top-5 classes for IMAGE (1x3x224x224 float32) or, without one, for a
 * fixed synthetic image; OUT.f32 receives the 1000 logits as raw float32. */
#include <stdio.h>
#include <stdlib.h>

#include "alexnet.h"
#include "npy_read.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s alexnet.bin [IMAGE.npy [OUT.f32]]\n", argv[0]);
        return 2;
    }
    BclrtCtx *ctx = alexnet_create_from_file(argv[1]);
    if (!ctx) {
        fprintf(stderr, "error: %s\n", alexnet_error());
        return 1;
    }
    float *x = NULL, y[ALEXNET_OUTPUT_SIZE];
    long n = ALEXNET_INPUT_SIZE;
    if (argc >= 3) {
        n = npy_read_f32(argv[2], &x);
    } else if ((x = malloc(sizeof(float) * ALEXNET_INPUT_SIZE))) {
        /* the fixed image: a deterministic pattern in [-0.5, 0.5) */
        for (long i = 0; i < n; i++) x[i] = (float)((i * 7919) % 255) / 255.0f - 0.5f;
    }
    if (!x || n != ALEXNET_INPUT_SIZE) {
        if (x) fprintf(stderr, "%s: %ld values, the model takes %d (1x3x224x224)\n", argv[2], n, ALEXNET_INPUT_SIZE);
        alexnet_destroy(ctx);
        free(x);
        return 1;
    }
    alexnet_run(ctx, x, y);
    alexnet_destroy(ctx);
    free(x);
    int top[5];
    for (int k = 0; k < 5; k++) {   /* the k-th largest: ties to the lower index */
        top[k] = -1;
        for (int i = 0; i < ALEXNET_OUTPUT_SIZE; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++) taken |= top[j] == i;
            if (!taken && (top[k] < 0 || y[i] > y[top[k]])) top[k] = i;
        }
        printf("top%d class %d logit %.6g\n", k + 1, top[k], y[top[k]]);
    }
    if (argc == 4) {
        FILE *f = fopen(argv[3], "wb");
        if (!f || fwrite(y, sizeof(float), ALEXNET_OUTPUT_SIZE, f) != ALEXNET_OUTPUT_SIZE || fclose(f)) {
            fprintf(stderr, "%s: write failed\n", argv[3]);
            return 1;
        }
    }
    return 0;
}
