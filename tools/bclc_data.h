/* From the model's config to its image inputs, for `bclc run --image` and `bclc eval`:
 * the test transform the config asks for, checked against the model's input shape,
 * and the default class names. */
#ifndef BCLC_DATA_H
#define BCLC_DATA_H
#include "frontend/build.h"
#include "io/preprocess.h"

/* Fills p from the config's data section; input (N, C, H, W) must be what the transform
 * produces. 0, or -1 after an error naming the config field. */
int bclc_image_preprocess(const BclDataCfg *dc, const Shape *input, Preprocess *p, Diag *d);

/* The input shape the config implies for a batch of n images: (n, C, H, W). */
Shape bclc_image_input_shape(const BclDataCfg *dc, int n);

/* Decodes images (JPEG, PNG) and runs the config's test transform on each: one batch
 * (n, C, H, W) in *x (malloc'ed). Builds the model once to read its config. 0, or -1
 * after an error naming the file or the config field. */
struct BclModelOptions;
int bclc_load_images(struct BclModelOptions *m, const char *const *paths, int n, float **x, Shape *xs, Diag *d);

/* Class names for a model with this many outputs when no --labels is given: the
 * ImageNet-1k names for 1000 classes, else NULL. */
const char *const *bclc_default_labels(int64_t classes);

#endif
