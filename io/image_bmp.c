/* Windows bitmaps as OpenCV's own BMP decoder reads them with IMREAD_COLOR (OpenCV
 * has no library for BMP, so its rules are the reference): the header sizes it knows
 * (12-byte OS/2 and >= 36-byte Windows headers), palettes of 1, 4 and 8 bits (a
 * 256-entry table that starts zeroed), 16-bit 555 and 565, 24-bit, 32-bit with its
 * fourth byte dropped; rows bottom-up unless the height is negative; RLE8 and RLE4
 * with OpenCV's run rules (escapes and skips filled with palette color 0, its RLE4
 * end-of-bitmap that ends only the row). Every byte the pixels need must be in the
 * file (OpenCV's stream fails on a short read). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_codecs.h"
#include "io/io_util.h"

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3 };

/* The RLE decoder's position: file-order row y, byte x3 in it (3 per pixel), as
 * OpenCV's data/line_end pointers; reads from the stream at pos. */
typedef struct Rle {
    const unsigned char *buf;
    size_t len, pos;
    Image *img;
    bool bottom_up, eof;
    int y, x3, w3, h;
} Rle;

static int rle_byte(Rle *r)
{
    if (r->pos >= r->len) return r->eof = true, 0;
    return r->buf[r->pos++];
}

static void rle_put(Rle *r, const unsigned char *bgr)
{
    int row = r->bottom_up ? r->h - 1 - r->y : r->y;
    memcpy(r->img->px + (size_t)row * (size_t)r->w3 + (size_t)r->x3, bgr, 3);
    r->x3 += 3;
}

/* OpenCV's FillUniColor: count3 bytes of one color, wrapping to the next rows */
static void rle_fill(Rle *r, long count3, const unsigned char *bgr)
{
    do {
        long end = r->x3 + count3 < r->w3 ? r->x3 + count3 : r->w3;
        count3 -= end - r->x3;
        if (r->x3 < end) {   /* the row's stretch at once (an end-of-bitmap may fill most of the image) */
            int row = r->bottom_up ? r->h - 1 - r->y : r->y;
            unsigned char *o = r->img->px + (size_t)row * (size_t)r->w3;
            for (long x = r->x3; x < end; x += 3) o[x] = bgr[0], o[x + 1] = bgr[1], o[x + 2] = bgr[2];
            r->x3 = (int)end;
        }
        if (r->x3 >= r->w3) {
            r->x3 = 0;
            if (++r->y >= r->h) break;
        }
    } while (count3 > 0);
}

/* 0, or -1 where OpenCV fails: a run past the row's end, the stream's end */
static int decode_rle(Rle *r, int bpp, unsigned char (*pal)[4])
{
    int line_end_flag = 0;
    for (;;) {
        int len = rle_byte(r), code = rle_byte(r);
        if (r->eof) return -1;
        if (len) {   /* a run of one index (RLE4: two alternating) */
            if (r->x3 + len * 3 > r->w3) return -1;
            if (bpp == 8) {
                int prev = r->y;
                rle_fill(r, len * 3L, pal[code]);
                line_end_flag = r->y - prev;
                if (r->y >= r->h) return 0;
            } else {
                for (int t = 0; t < len; t++) rle_put(r, pal[t & 1 ? code & 15 : code >> 4]);
            }
        } else if (code > 2) {   /* absolute: code indices, padded to 16 bits */
            if (r->x3 + code * 3 > r->w3) return -1;
            size_t sz = bpp == 8 ? (size_t)(code + 1) & ~(size_t)1 : ((size_t)((code + 1) >> 1) + 1) & ~(size_t)1;
            if (sz > r->len - r->pos) return -1;
            const unsigned char *src = r->buf + r->pos;
            r->pos += sz;
            for (int i = 0; i < code; i++) rle_put(r, pal[bpp == 8 ? src[i] : i & 1 ? src[i >> 1] & 15 : src[i >> 1] >> 4]);
            if (bpp == 8) line_end_flag = 0;
        } else {   /* 0: end of line, 1: end of bitmap, 2: delta; skipped pixels get color 0 */
            long x_shift3 = r->w3 - r->x3, y_shift = r->h - r->y;
            if (bpp == 4) {   /* RLE4 skips only within the row (OpenCV) */
                if (code == 2) x_shift3 = rle_byte(r) * 3L, rle_byte(r);
                if (r->eof) return -1;
                rle_fill(r, x_shift3, pal[0]);
                if (r->y >= r->h) return 0;
                continue;
            }
            if (code || !line_end_flag || x_shift3 < r->w3) {
                if (code == 2) {
                    x_shift3 = rle_byte(r) * 3L;
                    y_shift = rle_byte(r);
                    if (r->eof) return -1;
                }
                if (code != 0) x_shift3 += y_shift * r->w3;
                if (r->y >= r->h) return 0;
                rle_fill(r, x_shift3, pal[0]);
                if (r->y >= r->h) return 0;
            }
            line_end_flag = 0;
            if (r->y >= r->h) return 0;
        }
    }
}

static int bad(const char *name, Image *img, Diag *d, const char *why)
{
    image_free(img);
    diag_error_path(d, name, "cannot decode BMP: %s", why);
    return -1;
}

int image_decode_bmp(const char *name, const unsigned char *buf, size_t len, Image *img, Diag *d)
{
    memset(img, 0, sizeof *img);
    if (len < 18) return bad(name, img, d, "the file ends inside its header");
    uint32_t offset = io_le32(buf + 10), hsize = io_le32(buf + 14);
    int64_t w, h;
    int bpp, rle = BI_RGB;
    size_t pal_at = 14 + (size_t)hsize, pal_entries = 0, pal_stride = 4;
    unsigned char pal[256][4];   /* b, g, r, reserved */
    memset(pal, 0, sizeof pal);
    if ((int32_t)hsize <= 0) return bad(name, img, d, "its header size is invalid");
    if (hsize >= 36) {
        if (len < 50) return bad(name, img, d, "the file ends inside its header");
        w = (int32_t)io_le32(buf + 18);
        h = (int32_t)io_le32(buf + 22);
        bpp = (int)(io_le32(buf + 26) >> 16);
        rle = (int)io_le32(buf + 30);
        int32_t clrused = (int32_t)io_le32(buf + 46);
        bool ok = w > 0 && h != 0 &&
                  (((bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32) && rle == BI_RGB) ||
                   ((bpp == 16 || bpp == 32) && (rle == BI_RGB || rle == BI_BITFIELDS)) ||
                   (bpp == 4 && rle == BI_RLE4) || (bpp == 8 && rle == BI_RLE8));
        if (!ok) return bad(name, img, d, "an unsupported combination of bit depth and compression");
        if (bpp <= 8) {
            if (clrused < 0 || clrused > 256) return bad(name, img, d, "its palette has more than 256 colors");
            pal_entries = clrused ? (size_t)clrused : (size_t)1 << bpp;
        } else if (bpp == 16 && rle == BI_BITFIELDS) {
            /* the masks, read right after the header as OpenCV reads them */
            if (pal_at > len || len - pal_at < 12) return bad(name, img, d, "the file ends inside its color masks");
            uint32_t r = io_le32(buf + pal_at), g = io_le32(buf + pal_at + 4), b = io_le32(buf + pal_at + 8);
            if (b == 0x1f && g == 0x3e0 && r == 0x7c00) bpp = 15;
            else if (!(b == 0x1f && g == 0x7e0 && r == 0xf800))
                return bad(name, img, d, "16-bit color masks other than 555 and 565");
        } else if (bpp == 16) {
            bpp = 15;
        }
    } else if (hsize == 12) {
        if (len < 26) return bad(name, img, d, "the file ends inside its header");
        w = io_le16(buf + 18);
        h = io_le16(buf + 20);
        bpp = (int)(io_le32(buf + 22) >> 16);
        if (!(w > 0 && h != 0 && (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32)))
            return bad(name, img, d, "an unsupported bit depth");
        if (bpp <= 8) pal_entries = (size_t)1 << bpp, pal_stride = 3;
    } else {
        return bad(name, img, d, "an unknown header size");
    }
    if (pal_entries) {
        if (pal_at > len || (len - pal_at) / pal_stride < pal_entries) return bad(name, img, d, "the file ends inside its palette");
        for (size_t i = 0; i < pal_entries; i++) memcpy(pal[i], buf + pal_at + i * pal_stride, 3);
    }
    bool bottom_up = h > 0;
    if (h < 0) h = -h;
    if (rle == BI_RLE4 || rle == BI_RLE8) {
        /* an end-of-bitmap code may fill everything: only one code is certain */
        if (offset > len || len - offset < 2) return bad(name, img, d, "the file ends before its pixels");
        if (image_alloc(name, img, w, h, d)) return -1;
        Rle r = {buf, len, offset, img, bottom_up, false, 0, 0, (int)w * 3, (int)h};
        if (decode_rle(&r, bpp, pal)) return bad(name, img, d, r.eof ? "the RLE data ends early" : "an RLE run passes the end of its row");
        return 0;
    }
    size_t pitch = ((size_t)((w * (bpp != 15 ? bpp : 16) + 7) / 8) + 3) & ~(size_t)3;
    if (offset > len || (len - offset) / pitch < (size_t)h) return bad(name, img, d, "the file ends before its last row of pixels");
    if (image_alloc(name, img, w, h, d)) return -1;
    for (int64_t y = 0; y < h; y++) {
        const unsigned char *s = buf + offset + (size_t)y * pitch;
        unsigned char *o = img->px + (size_t)(bottom_up ? h - 1 - y : y) * (size_t)w * 3;
        for (int64_t x = 0; x < w; x++, o += 3) {
            unsigned v;
            switch (bpp) {
            case 1: memcpy(o, pal[s[x >> 3] >> (7 - (x & 7)) & 1], 3); break;
            case 4: memcpy(o, pal[x & 1 ? s[x >> 1] & 15 : s[x >> 1] >> 4], 3); break;
            case 8: memcpy(o, pal[s[x]], 3); break;
            case 15:   /* 5 bits each, shifted up (no replication, as OpenCV) */
                v = io_le16(s + 2 * x);
                o[0] = (unsigned char)(v << 3), o[1] = (unsigned char)((v >> 2) & ~7u), o[2] = (unsigned char)((v >> 7) & ~7u);
                break;
            case 16:   /* 565 */
                v = io_le16(s + 2 * x);
                o[0] = (unsigned char)(v << 3), o[1] = (unsigned char)((v >> 3) & ~3u), o[2] = (unsigned char)((v >> 8) & ~7u);
                break;
            case 24: memcpy(o, s + 3 * x, 3); break;
            default: memcpy(o, s + 4 * x, 3); break;   /* 32: B, G, R, (alpha dropped) */
            }
        }
    }
    return 0;
}
