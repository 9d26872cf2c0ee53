/* Images decoded as OpenCV's imread(path, IMREAD_COLOR) sees them: 8-bit, 3 channels in
 * BGR order, grayscale expanded, alpha dropped, 16-bit reduced to 8, EXIF orientation
 * applied. JPEG (libjpeg-turbo), PNG (libpng), BMP, PNM (P1-P6) and WebP (libwebp),
 * recognised by content. */
#ifndef BCL_IMAGE_H
#define BCL_IMAGE_H
#include <stddef.h>

#include "support/diag.h"

typedef struct Image {
    int h, w, c;            /* c: 3 (BGR) or 1 (gray) */
    unsigned char *px;      /* h * w * c bytes, row-major, interleaved; malloc'ed */
} Image;

/* The largest image accepted (pixels), checked before allocating; fuzz builds take
 * 4 Mpixels (a tiny file may declare and fill a huge image). */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define BCL_MAX_IMAGE_PIXELS ((long long)1 << 22)
#else
#define BCL_MAX_IMAGE_PIXELS ((long long)1 << 28)
#endif

/* Decodes an image file into a 3-channel BGR image. On failure reports
 * "path: error: ..." (not an image, corrupt data, too large) and returns -1. */
int image_read(const char *path, Image *img, Diag *d);
int image_decode(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d);
void image_free(Image *img);

/* A cap on the bytes of decoded images alive at once across threads (bclc eval's
 * decode workers): a decoder that would pass it waits until other threads release
 * theirs; an image larger than the cap is decoded alone. 0 (the default): no cap.
 * A thread releases what its decodes reserved with image_budget_release() once it
 * has freed those images (the reservation is per thread, not per Image). */
void image_budget_set(size_t cap_bytes);
void image_budget_release(void);
/* The most bytes reserved at once so far (for tests and reports). */
size_t image_budget_peak(void);

#endif
