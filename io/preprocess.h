/* BaseCls's test transform with MegEngine's and OpenCV's exact rules: resize the shorter
 * side to S = int(img_size / crop_pct / 2 + 0.5) * 2 (the longer to int(S * long /
 * short), no resize when the shorter side already is S) with cv2.resize semantics, centre
 * crop at round((w - tw) / 2) (half to even), convert the color space, then
 * (x - mean) / std per channel, as float32, channels first. */
#ifndef BCL_PREPROCESS_H
#define BCL_PREPROCESS_H
#include <stdbool.h>

#include "io/image.h"

typedef enum { INTERP_NEAREST, INTERP_BILINEAR, INTERP_BICUBIC, INTERP_LANCZOS } Interp;
typedef enum { COLOR_BGR, COLOR_RGB, COLOR_GRAY } ColorSpace;

typedef struct Preprocess {
    int resize_short;          /* S */
    int crop_h, crop_w;        /* test.img_size */
    Interp interp;
    ColorSpace color;
    int channels;              /* 3, or 1 for GRAY */
    float mean[3], std[3];
} Preprocess;

/* Parses BaseCls's names ("bilinear", "bicubic", "lanczos", "nearest"; "BGR", "RGB",
 * "GRAY"). false for an unknown one. */
bool interp_from_name(const char *s, Interp *out);
bool color_from_name(const char *s, ColorSpace *out);
/* S for test.img_size and test.crop_pct, as BaseCls computes it. */
int preprocess_resize_short(int img_size, double crop_pct);

/* What the functions below return when they fail: -1 for a size they cannot make (an
 * image smaller than the crop, a result over BCL_MAX_IMAGE_PIXELS), this when an
 * allocation failed. */
#define PREPROCESS_NO_MEMORY (-2)

/* cv2.resize(src, (dw, dh), interpolation) for 8-bit images: OpenCV's fixed-point
 * coefficients (11 bits), replicated borders, its 2x-downscale INTER_AREA path and its
 * vectorised rounding for bilinear (bit-exact with OpenCV 4.6 on skimage's photos);
 * bicubic and lanczos within 1 at every pixel. dst is allocated. 0 on success. */
int image_resize(const Image *src, int dh, int dw, Interp interp, Image *dst);

/* The resized and cropped 8-bit image, before color conversion (bclc --save-input
 * debugging and the OpenCV comparison test). */
int preprocess_crop(const Image *img, const Preprocess *p, Image *out);

/* The whole transform: out receives channels * crop_h * crop_w floats (CHW). */
int preprocess_image(const Image *img, const Preprocess *p, float *out);

#endif
