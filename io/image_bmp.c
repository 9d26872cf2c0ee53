/* Windows bitmaps as OpenCV's own BMP decoder reads them with IMREAD_COLOR (OpenCV
 * has no library for BMP, so its rules are the reference): the header sizes it knows
 * (12-byte OS/2 and >= 36-byte Windows headers), palettes of 1, 4 and 8 bits (a
 * 256-entry table that starts zeroed), 16-bit 555 and 565, 24-bit, 32-bit with its
 * fourth byte dropped; rows bottom-up unless the height is negative. Every byte the
 * pixels need must be in the file (OpenCV's stream fails on a short read).
 * RLE-compressed bitmaps are refused by name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_codecs.h"
#include "io/io_util.h"

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3 };

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
    if (rle == BI_RLE4 || rle == BI_RLE8) return bad(name, img, d, "RLE-compressed bitmaps are not supported");
    if (pal_entries) {
        if (pal_at > len || (len - pal_at) / pal_stride < pal_entries) return bad(name, img, d, "the file ends inside its palette");
        for (size_t i = 0; i < pal_entries; i++) memcpy(pal[i], buf + pal_at + i * pal_stride, 3);
    }
    bool bottom_up = h > 0;
    if (h < 0) h = -h;
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
