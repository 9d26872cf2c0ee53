/* WebP with the system's libwebp, as OpenCV's decoder uses it: the whole file decoded
 * straight to BGR (an alpha channel is dropped; libwebp does not premultiply in this
 * mode, so the colors equal OpenCV's BGRA-then-BGR path). Animated files are refused,
 * as OpenCV refuses them. Without libwebp at build time WebP files are an error that
 * says so. */
#include <stdint.h>
#include <string.h>

#include "io/image_codecs.h"

#if BCL_HAVE_WEBP
#include <webp/decode.h>

int image_decode_webp(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    memset(img, 0, sizeof *img);
    WebPBitstreamFeatures f;
    VP8StatusCode st = WebPGetFeatures(buf, len, &f);
    if (st != VP8_STATUS_OK) {
        diag_error_path(d, name, "cannot decode WebP: %s", st == VP8_STATUS_NOT_ENOUGH_DATA ? "the file is truncated" : "corrupt or unsupported data");
        return -1;
    }
    if (f.has_animation) {
        diag_error_path(d, name, "cannot decode WebP: animated WebP images are not supported");
        return -1;
    }
    if (image_alloc(name, img, f.width, f.height, d)) return -1;
    size_t stride = (size_t)img->w * 3;
    if (!WebPDecodeBGRInto(buf, len, img->px, stride * (size_t)img->h, (int)stride)) {
        image_free(img);
        diag_error_path(d, name, "cannot decode WebP: corrupt or truncated image data");
        return -1;
    }
    return 0;
}
#else
int image_decode_webp(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    (void)buf, (void)len;
    memset(img, 0, sizeof *img);
    diag_error_path(d, name, "a WebP image, but this bclc was built without libwebp (install libwebp-dev and rebuild)");
    return -1;
}
#endif
