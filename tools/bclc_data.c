/* The config's test transform and the default labels (tools/bclc_data.h). */
#include <stdlib.h>
#include <string.h>

#include "api/pipeline.h"
#include "support/oom.h"
#include "tools/bclc_data.h"
#include "tools/imagenet_labels.h"

Shape bclc_image_input_shape(const BclDataCfg *dc, int n)
{
    Shape s = {4, {n, strcmp(dc->color_space, "GRAY") ? 3 : 1, dc->img_h, dc->img_w}};
    return s;
}

int bclc_image_preprocess(const BclDataCfg *dc, const Shape *input, Preprocess *p, Diag *d)
{
    memset(p, 0, sizeof *p);
    if (!interp_from_name(dc->interpolation, &p->interp)) {
        diag_error(d, NO_LOC, "augments.resize.interpolation '%s' is not one of bilinear, bicubic, lanczos, nearest",
                   dc->interpolation);
        return -1;
    }
    if (!color_from_name(dc->color_space, &p->color)) {
        diag_error(d, NO_LOC, "preprocess.img_color_space '%s' is not one of BGR, RGB, GRAY", dc->color_space);
        return -1;
    }
    p->channels = p->color == COLOR_GRAY ? 1 : 3;
    if (dc->n_mean != p->channels || dc->n_std != p->channels) {
        diag_error(d, NO_LOC, "preprocess.img_mean and img_std need %d value%s for color space %s, got %d and %d",
                   p->channels, p->channels == 1 ? "" : "s", dc->color_space, dc->n_mean, dc->n_std);
        return -1;
    }
    for (int c = 0; c < p->channels; c++) {
        if (dc->std[c] == 0) {
            diag_error(d, NO_LOC, "preprocess.img_std[%d] is 0", c);
            return -1;
        }
        p->mean[c] = (float)dc->mean[c];
        p->std[c] = (float)dc->std[c];
    }
    if (dc->img_h != dc->img_w || dc->img_h > 65536) {
        diag_error(d, NO_LOC, "test.img_size must be one size up to 65536 for the test transform (a square centre crop), got %lldx%lld",
                   (long long)dc->img_h, (long long)dc->img_w);
        return -1;
    }
    p->crop_h = p->crop_w = (int)dc->img_h;
    p->resize_short = preprocess_resize_short((int)dc->img_h, dc->crop_pct);
    if (input->rank != 4 || input->d[1] != p->channels || input->d[2] != p->crop_h || input->d[3] != p->crop_w) {
        char a[128];
        diag_error(d, NO_LOC, "the model's input is %s, but the test transform gives %d x %d x %d images (%s, test.img_size %d)",
                   shape_str(input, a, sizeof a), p->channels, p->crop_h, p->crop_w, dc->color_space, p->crop_h);
        return -1;
    }
    return 0;
}

const char *const *bclc_default_labels(int64_t classes)
{
    return classes == BCLC_IMAGENET_CLASSES ? bclc_imagenet_labels : NULL;
}

int bclc_load_images(BclModelOptions *m, const char *const *paths, int n, float **x, Shape *xs, Diag *d)
{
    *x = NULL;
    BclDataCfg dc;
    BclDataCfg *saved = m->build.data_cfg;
    m->build.data_cfg = &dc;
    Arena probe;
    arena_init(&probe);
    IrGraph *g = bcl_pipeline_build(m, &probe, d);   /* the config, and that the model builds */
    arena_free(&probe);
    m->build.data_cfg = saved;
    if (!g) return -1;
    *xs = bclc_image_input_shape(&dc, n);
    if (m->build.has_input_shape && !shape_eq(xs, &m->build.input_shape)) {
        char a[128], b[128];
        diag_error(d, NO_LOC, "%d image%s through the test transform give %s, not --input-shape %s", n, n == 1 ? "" : "s",
                   shape_str(xs, a, sizeof a), shape_str(&m->build.input_shape, b, sizeof b));
        return -1;
    }
    Preprocess p;
    if (bclc_image_preprocess(&dc, xs, &p, d)) return -1;
    size_t per = (size_t)p.channels * p.crop_h * p.crop_w;
    *x = bcl_malloc(sizeof(float) * per * (size_t)n);
    if (!*x) {
        diag_error(d, NO_LOC, "out of memory for %d images", n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        Image img;
        if (image_read(paths[i], &img, d)) return -1;
        int rc = preprocess_image(&img, &p, *x + per * (size_t)i);
        image_free(&img);
        if (rc == PREPROCESS_NO_MEMORY) {
            diag_error_path(d, paths[i], "out of memory in the test transform");
            return -1;
        }
        if (rc) {
            diag_error_path(d, paths[i], "the image cannot go through the test transform (resize to %d)", p.resize_short);
            return -1;
        }
    }
    return 0;
}
