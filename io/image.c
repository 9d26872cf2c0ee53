/* JPEG and PNG decoding with the system's libjpeg-turbo and libpng, configured as
 * OpenCV's imread configures them (default IDCT and upsampling; BGR output; gray
 * expanded; 16-bit stripped to 8; palette expanded; alpha stripped). Library errors
 * come back through longjmp as diagnostics naming the file. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "io/file_map.h"
#include "io/image.h"

void image_free(Image *img)
{
    free(img->px);
    img->px = NULL;
    img->h = img->w = img->c = 0;
}

static int alloc_image(const char *name, Image *img, long long w, long long h, Diag *d)
{
    if (w <= 0 || h <= 0 || w * h > BCL_MAX_IMAGE_PIXELS) {
        diag_error_path(d, name, "image size %lldx%lld is empty or larger than the limit of %lld pixels",
                        w, h, BCL_MAX_IMAGE_PIXELS);
        return -1;
    }
    img->px = malloc((size_t)(w * h * 3));
    if (!img->px) {
        diag_error_path(d, name, "out of memory for a %lldx%lld image", w, h);
        return -1;
    }
    img->w = (int)w, img->h = (int)h, img->c = 3;
    return 0;
}

/* ---- JPEG ---- */

typedef struct JpegErr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_fail(j_common_ptr c)
{
    JpegErr *e = (JpegErr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr c, int level) { (void)c, (void)level; }   /* warnings: OpenCV ignores them too */

static int decode_jpeg(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    struct jpeg_decompress_struct cinfo;
    JpegErr err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.emit_message = jpeg_quiet;
    unsigned char *volatile px = NULL;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        memset(img, 0, sizeof *img);
        diag_error_path(d, name, "cannot decode JPEG: %s", err.msg);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    int gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        diag_error_path(d, name, "CMYK JPEG images are not supported");
        return -1;
    }
    cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_EXT_BGR;
    jpeg_start_decompress(&cinfo);
    if (alloc_image(name, img, cinfo.output_width, cinfo.output_height, d)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    px = img->px;
    int w = img->w;
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = img->px + (size_t)cinfo.output_scanline * (size_t)w * 3;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (gray)   /* expand in place, from the right */
            for (int x = w - 1; x >= 0; x--) row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = row[x];
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

/* ---- PNG ---- */

typedef struct PngSrc {
    const unsigned char *p;
    size_t len, pos;
    char msg[256];
} PngSrc;

static void png_read_mem(png_structp png, png_bytep out, png_size_t n)
{
    PngSrc *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "truncated file");
    memcpy(out, s->p + s->pos, n);
    s->pos += n;
}

static void png_fail(png_structp png, png_const_charp msg)
{
    PngSrc *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int decode_png(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    PngSrc src = {buf, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        diag_error_path(d, name, "out of memory");
        return -1;
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        image_free(img);
        diag_error_path(d, name, "cannot decode PNG: %s", src.msg);
        return -1;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (!(type & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (type & PNG_COLOR_MASK_COLOR || type == PNG_COLOR_TYPE_PALETTE) png_set_bgr(png);
    else png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row layout");
    if (alloc_image(name, img, w, h, d)) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    rows = malloc(sizeof *rows * h);
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = img->px + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return 0;
}

int image_decode(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    memset(img, 0, sizeof *img);
    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff) return decode_jpeg(name, buf, len, img, d);
    if (len >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8)) return decode_png(name, buf, len, img, d);
    diag_error_path(d, name, "not a JPEG or PNG image");
    return -1;
}

int image_read(const char *path, Image *img, Diag *d)
{
    IoFileMap m;
    memset(img, 0, sizeof *img);
    if (io_map_file(path, &m, d)) return -1;
    int rc = image_decode(path, m.data, m.len, img, d);
    io_unmap_file(&m);
    return rc;
}
