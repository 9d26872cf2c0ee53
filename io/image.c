/* Images as cv2.imread(path, IMREAD_COLOR) reads them: the format found by content
 * (never by the file's extension), JPEG and PNG with the system's libjpeg-turbo and
 * libpng configured as OpenCV configures them (default IDCT and upsampling; BGR
 * output; gray expanded; CMYK converted with OpenCV's formula; 16-bit stripped to 8;
 * palette expanded; alpha stripped), BMP, PNM and WebP in their own files, then the
 * EXIF orientation applied as OpenCV applies it (JPEG's first APP1 segment, PNG's eXIf
 * chunk). Library errors come back through longjmp as diagnostics naming the file. */
#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "io/file_map.h"
#include "support/oom.h"
#include "io/image.h"
#include "io/image_codecs.h"

void image_free(Image *img)
{
    free(img->px);
    img->px = NULL;
    img->h = img->w = img->c = 0;
}

/* ---- the decode budget ---- */

static pthread_mutex_t budget_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t budget_cv = PTHREAD_COND_INITIALIZER;
static size_t budget_cap, budget_used, budget_peak;
static _Thread_local size_t budget_mine;   /* this thread's reservation */

void image_budget_set(size_t cap_bytes)
{
    pthread_mutex_lock(&budget_mu);
    budget_cap = cap_bytes;
    pthread_cond_broadcast(&budget_cv);
    pthread_mutex_unlock(&budget_mu);
}

/* Waits while others hold bytes and this would pass the cap. A thread waits only
 * when it holds nothing, so the holders (who never wait) always get through. */
static void budget_reserve(size_t n, bool may_wait)
{
    pthread_mutex_lock(&budget_mu);
    if (budget_cap)
        while (may_wait && !budget_mine && budget_used && budget_used + n > budget_cap)
            pthread_cond_wait(&budget_cv, &budget_mu);
    budget_used += n;
    budget_mine += n;
    if (budget_used > budget_peak) budget_peak = budget_used;
    pthread_mutex_unlock(&budget_mu);
}

void image_budget_release(void)
{
    pthread_mutex_lock(&budget_mu);
    budget_used -= budget_mine;
    budget_mine = 0;
    pthread_cond_broadcast(&budget_cv);
    pthread_mutex_unlock(&budget_mu);
}

size_t image_budget_peak(void)
{
    pthread_mutex_lock(&budget_mu);
    size_t p = budget_peak;
    pthread_mutex_unlock(&budget_mu);
    return p;
}

void image_budget_extra(size_t n) { budget_reserve(n, false); }

int image_alloc(const char *name, Image *img, long long w, long long h, Diag *d)
{
    if (w <= 0 || h <= 0 || w * h > BCL_MAX_IMAGE_PIXELS) {
        diag_error_path(d, name, "image size %lldx%lld is empty or larger than the limit of %lld pixels",
                        w, h, BCL_MAX_IMAGE_PIXELS);
        return -1;
    }
    budget_reserve((size_t)(w * h * 3), true);
    img->px = bcl_malloc((size_t)(w * h * 3));
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
    unsigned char *volatile px = NULL, *volatile row4 = NULL;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        free(row4);
        memset(img, 0, sizeof *img);
        diag_error_path(d, name, "cannot decode JPEG: %s", err.msg);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);   /* EXIF, as OpenCV keeps it */
    jpeg_read_header(&cinfo, TRUE);
    /* OpenCV: 4 components (CMYK, YCCK) come out as CMYK and are converted by its own
     * formula; everything else straight to BGR (gray is replicated by libjpeg) */
    int cmyk = cinfo.num_components == 4;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
    jpeg_start_decompress(&cinfo);
    if (image_alloc(name, img, cinfo.output_width, cinfo.output_height, d)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    px = img->px;
    int w = img->w;
    if (cmyk && !(row4 = bcl_malloc((size_t)w * 4))) {
        strcpy(err.msg, "out of memory");
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = img->px + (size_t)cinfo.output_scanline * (size_t)w * 3;
        JSAMPROW rows[1] = {cmyk ? row4 : row};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;
        for (int x = 0; cmyk && x < w; x++) {
            const unsigned char *q = row4 + 4 * x;
            int k = q[3];
            row[3 * x + 2] = (unsigned char)(k - ((255 - q[0]) * k >> 8));
            row[3 * x + 1] = (unsigned char)(k - ((255 - q[1]) * k >> 8));
            row[3 * x + 0] = (unsigned char)(k - ((255 - q[2]) * k >> 8));
        }
    }
    /* OpenCV parses the first APP1 segment, whatever it holds, past its 6-byte "Exif\0\0" */
    int orientation = 0;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1) {
            if (m->data_length > 6) orientation = exif_orientation(m->data + 6, m->data_length - 6);
            break;
        }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row4);
    if (image_orient(img, orientation)) {
        image_free(img);
        diag_error_path(d, name, "out of memory");
        return -1;
    }
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
    png_infop info = png ? png_create_info_struct(png) : NULL, end = info ? png_create_info_struct(png) : NULL;
    if (!png || !info || !end) {
        png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, end ? &end : NULL);
        diag_error_path(d, name, "out of memory");
        return -1;
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, &end);
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
    if (image_alloc(name, img, w, h, d)) {
        png_destroy_read_struct(&png, &info, &end);
        return -1;
    }
    rows = bcl_malloc(sizeof *rows * h);
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = img->px + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, end);
    /* OpenCV reads an eXIf chunk from before the image data or after it */
    int orientation = 0;
    png_uint_32 n_exif = 0;
    png_bytep exif = NULL;
    if (png_get_valid(png, info, PNG_INFO_eXIf)) png_get_eXIf_1(png, info, &n_exif, &exif);
    else if (png_get_valid(png, end, PNG_INFO_eXIf)) png_get_eXIf_1(png, end, &n_exif, &exif);
    if (exif && n_exif) orientation = exif_orientation(exif, n_exif);
    png_destroy_read_struct(&png, &info, &end);
    free(rows);
    if (image_orient(img, orientation)) {
        image_free(img);
        diag_error_path(d, name, "out of memory");
        return -1;
    }
    return 0;
}

int image_decode(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    /* by content, as cv2.imread: a .jpg that holds a PNG is read as a PNG */
    memset(img, 0, sizeof *img);
    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff) return decode_jpeg(name, buf, len, img, d);
    if (len >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8)) return decode_png(name, buf, len, img, d);
    if (len >= 2 && buf[0] == 'B' && buf[1] == 'M') return image_decode_bmp(name, buf, len, img, d);
    if (len >= 3 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '6' && isspace(buf[2]))
        return image_decode_pnm(name, buf, len, img, d);
    if (len >= 12 && !memcmp(buf, "RIFF", 4) && !memcmp(buf + 8, "WEBP", 4)) return image_decode_webp(name, buf, len, img, d);
    const char *what = NULL;
    if (len >= 4 && (!memcmp(buf, "II*\0", 4) || !memcmp(buf, "MM\0*", 4))) what = "a TIFF image, which is not supported here";
    else if (len >= 6 && (!memcmp(buf, "GIF87a", 6) || !memcmp(buf, "GIF89a", 6))) what = "a GIF image (OpenCV does not read GIF either)";
    else if (len >= 12 && !memcmp(buf + 4, "ftyp", 4)) what = "an HEIF/AVIF image (OpenCV does not read it either)";
    else if (len >= 3 && buf[0] == 'P' && buf[1] == '7') what = "a PAM image, which is not supported here";
    if (what) diag_error_path(d, name, "%s", what);
    else if (len == 0) diag_error_path(d, name, "the file is empty");
    else diag_error_path(d, name, "not an image: neither JPEG, PNG, BMP, PNM nor WebP by its content");
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
