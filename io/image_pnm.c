/* Netpbm images (P1 to P6: .pbm, .pgm, .ppm) as OpenCV's PxM decoder reads them with
 * IMREAD_COLOR, quirks included: binary samples are taken as they are (no scaling to
 * maxval), text samples are clamped to maxval and scaled by i * 255 / maxval, 16-bit
 * samples (maxval > 255) keep their high byte, bitmaps map 1 to black; a number must be
 * followed by one more byte (OpenCV reads it), and binary data starts right after the
 * single byte that ends maxval. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "io/image_codecs.h"

typedef struct Pnm {
    const unsigned char *p;
    size_t n, pos;
    bool failed;
} Pnm;

static int get_byte(Pnm *s)
{
    if (s->pos >= s->n) return s->failed = true, -1;
    return s->p[s->pos++];
}

/* OpenCV's ReadNumber: skips blanks and '#' comments, reads at most max_digits digits
 * (0: any), then one byte more unless it stopped at max_digits. -1 on a bad or
 * missing number. */
static long read_number(Pnm *s, int max_digits)
{
    int c = get_byte(s);
    while (!s->failed && !isdigit(c)) {
        if (c == '#') {
            do c = get_byte(s);
            while (!s->failed && c != '\n' && c != '\r');
            c = get_byte(s);
        } else if (isspace(c)) {
            while (!s->failed && isspace(c)) c = get_byte(s);
        } else {
            return s->failed = true, -1;
        }
    }
    if (s->failed) return -1;
    long v = 0;
    int digits = 0;
    do {
        v = v * 10 + (c - '0');
        if (v > INT32_MAX) return s->failed = true, -1;
        if (max_digits && ++digits >= max_digits) break;
        c = get_byte(s);
    } while (!s->failed && isdigit(c));
    return s->failed ? -1 : v;
}

static int bad(const char *name, Image *img, Diag *d, const char *why)
{
    image_free(img);
    diag_error_path(d, name, "cannot decode PNM: %s", why);
    return -1;
}

int image_decode_pnm(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    memset(img, 0, sizeof *img);
    Pnm s = {buf, len, 2, false};
    int kind = buf[1] - '0';   /* the caller checked "P[1-6]<space>" */
    int bpp = kind == 1 || kind == 4 ? 1 : kind == 2 || kind == 5 ? 8 : 24;
    bool binary = kind >= 4;
    long w = read_number(&s, 0), h = read_number(&s, 0);
    long maxval = bpp == 1 ? 1 : read_number(&s, 0);
    if (s.failed || w <= 0 || h <= 0 || maxval <= 0 || maxval > 65535)
        return bad(name, img, d, "a bad header (width, height and maxval must be positive, maxval at most 65535)");
    int nch = bpp == 24 ? 3 : 1, bytes = maxval > 255 ? 2 : 1;
    size_t row = bpp == 1 ? ((size_t)w + 7) / 8 : (size_t)w * (size_t)nch * (size_t)bytes;
    if (binary && (s.n - s.pos) / row < (size_t)h) return bad(name, img, d, "the file ends before its last row of pixels");
    if (!binary && (s.n - s.pos) / 2 < (size_t)w * (size_t)h * (size_t)nch / (bpp == 1 ? 2 : 1))
        return bad(name, img, d, "the file is too short for its pixels");   /* each text sample needs >= 2 bytes */
    if (image_alloc(name, img, w, h, d)) return -1;
    unsigned char lut[256];
    for (int i = 0; i < 256; i++) lut[i] = maxval < 256 && i <= maxval ? (unsigned char)(i * 255 / maxval) : 0;
    for (long y = 0; y < h; y++) {
        unsigned char *o = img->px + (size_t)y * (size_t)w * 3;
        const unsigned char *r = buf + s.pos;
        for (long x = 0; x < w; x++, o += 3) {
            unsigned v[3];
            for (int c = 0; c < nch; c++) {
                long k = x * nch + c;
                if (bpp == 1) {
                    unsigned bit = binary ? r[x >> 3] >> (7 - (x & 7)) & 1 : read_number(&s, 1) != 0;
                    v[c] = bit ? 0 : 255;
                } else if (binary) {
                    v[c] = bytes == 2 ? r[2 * k] : r[k];   /* 16-bit big-endian: its high byte */
                } else {
                    long t = read_number(&s, 0);
                    if (t > maxval) t = maxval;
                    v[c] = bytes == 2 ? (unsigned)t >> 8 : lut[t < 0 ? 0 : t];
                }
            }
            if (s.failed) return bad(name, img, d, "a text sample is missing or not a number");
            if (nch == 1) o[0] = o[1] = o[2] = (unsigned char)v[0];
            else o[0] = (unsigned char)v[2], o[1] = (unsigned char)v[1], o[2] = (unsigned char)v[0];   /* RGB -> BGR */
        }
        if (binary) s.pos += row;
    }
    return 0;
}
