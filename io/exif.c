/* The EXIF orientation as OpenCV reads and applies it (imgcodecs' ExifReader and
 * ApplyExifOrientation). Its reader walks IFD0 entry by entry and stops at the first
 * read past the end of the block, keeping what it found before; entries of the tags
 * it knows read their values, so a broken string or rational before the orientation
 * hides it. That walk is reproduced here so that a damaged block turns a photo exactly
 * when cv2.imread turns it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_codecs.h"
#include "support/oom.h"

typedef struct Exif {
    const unsigned char *p;
    size_t n;
    bool intel;
    bool bad;      /* a read went past the end: OpenCV's ExifParsingError */
} Exif;

static uint32_t u16(Exif *e, size_t at)
{
    if (at + 1 >= e->n || at + 1 < at) return e->bad = true, 0;
    return e->intel ? (uint32_t)(e->p[at] | e->p[at + 1] << 8) : (uint32_t)(e->p[at] << 8 | e->p[at + 1]);
}

static uint32_t u32(Exif *e, size_t at)
{
    if (at + 3 >= e->n || at + 3 < at) return e->bad = true, 0;
    const unsigned char *q = e->p + at;
    return e->intel ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24
                    : (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | (uint32_t)q[3];
}

/* getString: a count, then the bytes inline (<= 4, read at offset 8 of the block, as
 * OpenCV does) or at an offset */
static void check_string(Exif *e, size_t entry)
{
    size_t size = u32(e, entry + 4), at = 8;
    if (e->bad) return;
    if (size > 4) at = u32(e, entry + 8);
    if (!e->bad && (at > e->n || size > e->n - at)) e->bad = true;
}

/* getURational at a 32-bit offset, k of them 8 bytes apart (the offset wraps at 32 bits) */
static void check_rationals(Exif *e, size_t entry, int k)
{
    uint32_t at = u32(e, entry + 8);
    for (int i = 0; i < k && !e->bad; i++, at += 8) u32(e, at), u32(e, (size_t)at + 4);
}

int exif_orientation(const unsigned char *tiff, size_t len)
{
    Exif e = {tiff, len, false, false};
    /* "II" is little-endian; anything else is read big-endian, as OpenCV reads it */
    e.intel = len >= 1 && tiff[0] == 'I' && (len == 1 || tiff[1] == 'I');
    if (u16(&e, 2) != 0x2a || e.bad) return 0;
    size_t at = u32(&e, 4);
    size_t count = u16(&e, at);
    if (e.bad) return 0;
    at += 2;
    for (size_t i = 0; i < count; i++, at += 12) {
        uint32_t tag = u16(&e, at);
        if (e.bad) return 0;
        switch (tag) {
        case 0x112: {   /* the first orientation entry wins (std::map::insert) */
            uint32_t v = u16(&e, at + 8);
            return e.bad ? 0 : (int)v;
        }
        case 0x10e: case 0x10f: case 0x110: case 0x131: case 0x132: case 0x8298:   /* strings */
            check_string(&e, at);
            break;
        case 0x11a: case 0x11b: check_rationals(&e, at, 1); break;   /* X/YResolution */
        case 0x13e: check_rationals(&e, at, 2); break;               /* WhitePoint */
        case 0x13f: case 0x214: check_rationals(&e, at, 6); break;   /* PrimaryChromaticities, ReferenceBlackWhite */
        case 0x211: check_rationals(&e, at, 3); break;               /* YCbCrCoefficients */
        case 0x128: case 0x213: u16(&e, at + 8); break;              /* ResolutionUnit, YCbCrPositioning */
        default: break;
        }
        if (e.bad) return 0;
    }
    return 0;
}

int image_orient(Image *img, int orientation)
{
    /* OpenCV: 2 flip x; 3 flip both; 4 flip y; 5 transpose; 6 transpose, flip x;
     * 7 transpose, flip both; 8 transpose, flip y */
    static const unsigned char ops[9][3] = {   /* transpose, flip x, flip y */
        {0, 0, 0}, {0, 0, 0}, {0, 1, 0}, {0, 1, 1}, {0, 0, 1}, {1, 0, 0}, {1, 1, 0}, {1, 1, 1}, {1, 0, 1}};
    if (orientation < 2 || orientation > 8) return 0;
    bool tr = ops[orientation][0], fx = ops[orientation][1], fy = ops[orientation][2];
    int oh = tr ? img->w : img->h, ow = tr ? img->h : img->w, c = img->c;
    image_budget_extra((size_t)oh * (size_t)ow * (size_t)c);   /* the old and new copies live together */
    unsigned char *out = bcl_malloc((size_t)oh * (size_t)ow * (size_t)c);
    if (!out) return -1;
    for (int y = 0; y < oh; y++) {
        int ty = fy ? oh - 1 - y : y;
        unsigned char *o = out + (size_t)y * ow * c;
        if (!tr && !fx) {   /* a flip of rows only: whole rows */
            memcpy(o, img->px + (size_t)ty * img->w * c, (size_t)ow * c);
            continue;
        }
        for (int x = 0; x < ow; x++, o += c) {
            int tx = fx ? ow - 1 - x : x;
            int sy = tr ? tx : ty, sx = tr ? ty : tx;
            const unsigned char *q = img->px + ((size_t)sy * img->w + sx) * c;
            for (int k = 0; k < c; k++) o[k] = q[k];
        }
    }
    free(img->px);
    img->px = out;
    img->h = oh, img->w = ow;
    return 0;
}
