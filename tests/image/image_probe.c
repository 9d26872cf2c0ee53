/* A probe of the image pipeline for tests/image/run_images.py: decodes an image, and
 * writes the decoded, resized, cropped or fully transformed result as a float32 .npy
 * (8-bit values as floats), so that the test can compare each step with OpenCV.
 *   image_probe decode IMG OUT.npy
 *   image_probe resize IMG H W INTERP OUT.npy
 *   image_probe crop IMG IMG_SIZE CROP_PCT INTERP OUT.npy
 *   image_probe transform IMG IMG_SIZE CROP_PCT INTERP COLOR MEAN,.. STD,.. OUT.npy
 *   image_probe encode-ycck OUT.jpg   (a YCCK JPEG of a CMYK pattern: no Python writer
 *                                      makes one, and cv2.imread must read it as we do) */
#include <stdio.h>

#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/npy.h"
#include "io/preprocess.h"

static int write_u8(const char *path, const Image *im, Diag *d)
{
    size_t n = (size_t)im->h * im->w * im->c;
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = im->px[i];
    Shape s = {3, {im->h, im->w, im->c}};
    int rc = npy_write(path, &s, f, d);
    free(f);
    return rc;
}

static int parse_floats(const char *s, float *out)
{
    int n = 0;
    for (char *end; *s && n < 3; s = *end ? end + 1 : end) out[n++] = strtof(s, &end);
    return n;
}

/* A 37x23 CMYK gradient, compressed in the YCCK color space (as Photoshop writes). */
static int encode_ycck(const char *path)
{
    enum { W = 37, H = 23 };
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = W, c.image_height = H, c.input_components = 4, c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK);
    jpeg_set_quality(&c, 85, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[W * 4];
    while (c.next_scanline < H) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < W; x++) {
            row[4 * x] = (unsigned char)(x * 7), row[4 * x + 1] = (unsigned char)(y * 11);
            row[4 * x + 2] = (unsigned char)((x + y) * 5), row[4 * x + 3] = (unsigned char)(40 + x * 3 + y);
        }
        JSAMPROW r[1] = {row};
        jpeg_write_scanlines(&c, r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    Diag d;
    diag_init(&d, stderr);
    if (argc == 3 && !strcmp(argv[1], "encode-ycck")) return encode_ycck(argv[2]);
    if (argc < 4) return 2;
    Image img, out;
    if (image_read(argv[2], &img, &d)) return 1;
    const char *cmd = argv[1];
    int rc = 1;
    Interp m;
    if (!strcmp(cmd, "decode")) {
        rc = write_u8(argv[3], &img, &d);
    } else if (!strcmp(cmd, "resize") && argc == 7 && interp_from_name(argv[5], &m)) {
        if (!image_resize(&img, atoi(argv[3]), atoi(argv[4]), m, &out)) rc = write_u8(argv[6], &out, &d), image_free(&out);
    } else if ((!strcmp(cmd, "crop") && argc == 7) || (!strcmp(cmd, "transform") && argc == 10)) {
        Preprocess p = {0};
        int size = atoi(argv[3]);
        p.resize_short = preprocess_resize_short(size, atof(argv[4]));
        p.crop_h = p.crop_w = size;
        if (!interp_from_name(argv[5], &p.interp)) return 2;
        if (!strcmp(cmd, "crop")) {
            if (!preprocess_crop(&img, &p, &out)) rc = write_u8(argv[6], &out, &d), image_free(&out);
        } else {
            if (!color_from_name(argv[6], &p.color)) return 2;
            p.channels = p.color == COLOR_GRAY ? 1 : 3;
            if (parse_floats(argv[7], p.mean) != p.channels || parse_floats(argv[8], p.std) != p.channels) return 2;
            float *f = malloc(sizeof(float) * (size_t)p.channels * size * size);
            if (!preprocess_image(&img, &p, f)) {
                Shape s = {3, {p.channels, size, size}};
                rc = npy_write(argv[9], &s, f, &d);
            }
            free(f);
        }
    } else {
        return 2;
    }
    image_free(&img);
    return rc ? 1 : 0;
}
