/* Internals of io/image.c: the decoders of the less common formats and OpenCV's EXIF
 * orientation, each in its own file, sharing the checked allocation. */
#ifndef BCL_IMAGE_CODECS_H
#define BCL_IMAGE_CODECS_H
#include <stddef.h>

#include "io/image.h"

/* Allocates a w x h BGR image after checking the size against BCL_MAX_IMAGE_PIXELS,
 * within the decode budget (image_budget_set). */
int image_alloc(const char *name, Image *img, long long w, long long h, Diag *d);
/* Counts n more bytes held by this thread (a transient copy), without waiting. */
void image_budget_extra(size_t n);

/* Each returns 0, or reports "name: error: ..." and returns -1 with img empty. */
int image_decode_bmp(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d);
int image_decode_pnm(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d);
int image_decode_webp(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d);

/* The orientation (1 to 8) that OpenCV's ExifReader finds in a TIFF-structured EXIF
 * block (starting at "II"/"MM"), or 0 when it finds none. */
int exif_orientation(const unsigned char *tiff, size_t len);
/* Turns img as cv::imread does for an EXIF orientation (flips and transposes); values
 * other than 2 to 8 leave it as is. -1 when out of memory. */
int image_orient(Image *img, int orientation);

#endif
