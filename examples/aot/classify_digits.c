/* Classifies one 8x8 digit image with the ahead-of-time compiled digits model:
 *   bclc compile examples/digits/digits.bcl --weights examples/digits/digits.safetensors \
 *        --input-shape 1,1,8,8 --name digits --output digits.o --header digits.h
 *   cc -I. classify_digits.c digits.o libbclrt.a -lm -lpthread -o classify_digits
 *   ./classify_digits examples/digits/sample_3.npy        # prints "class 3"
 * Nothing of bclc or LLVM is linked: the object holds the code and the weights. */
#include <stdio.h>
#include <stdlib.h>

#include "digits.h"
#include "npy_read.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s IMAGE.npy   (a 1x1x8x8 float32 image, pixels in [0, 1])\n", argv[0]);
        return 2;
    }
    float *x = NULL, y[DIGITS_OUTPUT_SIZE];
    long n = npy_read_f32(argv[1], &x);
    if (n < 0) return 1;
    if (n != DIGITS_INPUT_SIZE) {
        fprintf(stderr, "%s: %ld values, the model takes %d (1x1x8x8)\n", argv[1], n, DIGITS_INPUT_SIZE);
        free(x);
        return 1;
    }
    BclrtCtx *ctx = digits_create();
    if (!ctx) {
        fprintf(stderr, "out of memory\n");
        free(x);
        return 1;
    }
    digits_run(ctx, x, y);
    digits_destroy(ctx);
    free(x);
    int best = 0;
    for (int i = 1; i < DIGITS_OUTPUT_SIZE; i++)
        if (y[i] > y[best]) best = i;
    printf("class %d (logit %.3f)\n", best, y[best]);
    return 0;
}
