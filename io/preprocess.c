/* The test transform: OpenCV's resize (fixed-point, separable), MegEngine's short-side
 * rule and centre crop, OpenCV's BGR->gray, and the float normalisation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/preprocess.h"
#include "support/oom.h"

bool interp_from_name(const char *s, Interp *out)
{
    static const struct { const char *name; Interp m; } names[] = {
        {"nearest", INTERP_NEAREST}, {"bilinear", INTERP_BILINEAR}, {"bicubic", INTERP_BICUBIC},
        {"lanczos", INTERP_LANCZOS}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) return *out = names[i].m, true;
    return false;
}

bool color_from_name(const char *s, ColorSpace *out)
{
    if (!strcmp(s, "BGR")) return *out = COLOR_BGR, true;
    if (!strcmp(s, "RGB")) return *out = COLOR_RGB, true;
    if (!strcmp(s, "GRAY")) return *out = COLOR_GRAY, true;
    return false;
}

int preprocess_resize_short(int img_size, double crop_pct)
{
    return (int)(img_size / crop_pct / 2 + 0.5) * 2;   /* "make it even", as BaseCls */
}

/* ---- cv2.resize ---- */

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

static short round_short(float v)
{
    long r = lrintf(v);   /* cvRound: to nearest, ties to even */
    return (short)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

static int taps(Interp m) { return m == INTERP_BICUBIC ? 4 : m == INTERP_LANCZOS ? 8 : 2; }

static void coefficients(Interp m, float x, float *c)
{
    if (m == INTERP_BICUBIC) {
        const float A = -0.75f;
        c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
        c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
        c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
        c[3] = 1.f - c[0] - c[1] - c[2];
    } else if (m == INTERP_LANCZOS) {
        if (x < 1.1920929e-07f) {   /* FLT_EPSILON: the sample itself */
            for (int i = 0; i < 8; i++) c[i] = 0;
            c[3] = 1;
            return;
        }
        float sum = 0;
        for (int i = 0; i < 8; i++) {   /* sinc(t) sinc(t / 4), t = x + 3 - i */
            double t = x + 3 - i, y = t * M_PI / 4;
            c[i] = (float)(sin(M_PI * t) * sin(y) / (M_PI * t * y));
            sum += c[i];
        }
        for (int i = 0; i < 8; i++) c[i] *= 1.f / sum;
    } else {
        c[0] = 1.f - x;
        c[1] = x;
    }
}

/* Per output index: the first source tap and the fixed-point weights. Only the x axis
 * of bilinear clamps its source position (as OpenCV); taps are clamped when read. */
static void axis_table(int ssize, int dsize, Interp m, bool is_x, int *first, short *w)
{
    double scale = 1. / ((double)dsize / ssize);
    int k = taps(m);
    for (int d = 0; d < dsize; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        if (is_x && m == INTERP_BILINEAR) {
            if (s < 0) f = 0, s = 0;
            if (s >= ssize - 1) f = 0, s = ssize - 1;
        }
        float c[8];
        coefficients(m, f, c);
        first[d] = s - (k / 2 - 1);
        for (int j = 0; j < k; j++) w[d * k + j] = round_short(c[j] * COEF_SCALE);
    }
}

static int clampi(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

static unsigned char sat_u8(int64_t v) { return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v); }

static int sat16(int v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

static int resize_separable(const Image *src, Image *dst, Interp m)
{
    int k = taps(m), cn = src->c, sw = src->w, sh = src->h, dw = dst->w, dh = dst->h;
    int *xs = bcl_malloc(sizeof(int) * (size_t)dw), *ys = bcl_malloc(sizeof(int) * (size_t)dh);
    short *xw = bcl_malloc(sizeof(short) * (size_t)dw * k), *yw = bcl_malloc(sizeof(short) * (size_t)dh * k);
    int *rows = bcl_malloc(sizeof(int) * (size_t)sh * dw * cn);   /* every source row resized in x */
    int rc = PREPROCESS_NO_MEMORY;
    if (!xs || !ys || !xw || !yw || !rows) goto done;
    axis_table(sw, dw, m, true, xs, xw);
    axis_table(sh, dh, m, false, ys, yw);
    for (int y = 0; y < sh; y++) {
        const unsigned char *s = src->px + (size_t)y * sw * cn;
        int *r = rows + (size_t)y * dw * cn;
        for (int x = 0; x < dw; x++)
            for (int c = 0; c < cn; c++) {
                int acc = 0;
                for (int j = 0; j < k; j++) acc += s[clampi(xs[x] + j, sw - 1) * cn + c] * xw[x * k + j];
                r[x * cn + c] = acc;
            }
    }
    for (int y = 0; y < dh; y++) {
        unsigned char *o = dst->px + (size_t)y * dw * cn;
        const int *r[8];
        for (int j = 0; j < k; j++) r[j] = rows + (size_t)clampi(ys[y] + j, sh - 1) * dw * cn;
        int i = 0;
        if (m == INTERP_BILINEAR) {
            /* OpenCV's vectorised vertical pass (every value, the tail too): 16-bit
             * products of the sums >> 4, high halves, saturating, then (v + 2) >> 2 */
            int simd_end = dw * cn;
            short b0 = yw[y * k], b1 = yw[y * k + 1];
            for (; i < simd_end; i++) {
                int s0 = sat16(r[0][i] >> 4), s1 = sat16(r[1][i] >> 4);
                int v = sat16(((s0 * b0) >> 16) + ((s1 * b1) >> 16));
                o[i] = sat_u8((v + 2) >> 2);
            }
        }
        for (; i < dw * cn; i++) {
            int64_t acc = 0;
            for (int j = 0; j < k; j++) acc += (int64_t)r[j][i] * yw[y * k + j];
            o[i] = sat_u8((acc + ((int64_t)1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS));
        }
    }
    rc = 0;
done:
    free(xs), free(ys), free(xw), free(yw), free(rows);
    return rc;
}

int image_resize(const Image *src, int dh, int dw, Interp m, Image *dst)
{
    int cn = src->c, sw = src->w, sh = src->h;
    memset(dst, 0, sizeof *dst);
    if (dh <= 0 || dw <= 0 || (long long)dh * dw > BCL_MAX_IMAGE_PIXELS) return -1;
    dst->px = bcl_malloc((size_t)dh * dw * cn);
    if (!dst->px) return PREPROCESS_NO_MEMORY;
    dst->h = dh, dst->w = dw, dst->c = cn;
    if (dh == sh && dw == sw) {   /* cv2.resize copies */
        memcpy(dst->px, src->px, (size_t)dh * dw * cn);
        return 0;
    }
    if (m == INTERP_NEAREST) {
        double fx = 1. / ((double)dw / sw), fy = 1. / ((double)dh / sh);
        for (int y = 0; y < dh; y++) {
            int sy = (int)floor(y * fy);
            sy = sy < sh - 1 ? sy : sh - 1;
            for (int x = 0; x < dw; x++) {
                int sx = (int)floor(x * fx);
                sx = sx < sw - 1 ? sx : sw - 1;
                memcpy(dst->px + ((size_t)y * dw + x) * cn, src->px + ((size_t)sy * sw + sx) * cn, (size_t)cn);
            }
        }
        return 0;
    }
    if (m == INTERP_BILINEAR && dw * 2 == sw && dh * 2 == sh) {
        /* OpenCV takes its INTER_AREA path for an exact 2x downscale: 2x2 means */
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < cn; c++) {
                    const unsigned char *a = src->px + ((size_t)(2 * y) * sw + 2 * x) * cn + c, *b = a + (size_t)sw * cn;
                    dst->px[((size_t)y * dw + x) * cn + c] = (unsigned char)((a[0] + a[cn] + b[0] + b[cn] + 2) >> 2);
                }
        return 0;
    }
    int rc = resize_separable(src, dst, m);
    if (rc) image_free(dst);
    return rc;
    return 0;
}

/* ---- the transform ---- */

/* Python's round(d / 2) for an integer d >= 0: halves go to the even neighbour. */
static int half_round_even(int d)
{
    int q = d / 2;
    return d % 2 && q % 2 ? q + 1 : q;
}

int preprocess_crop(const Image *img, const Preprocess *p, Image *out)
{
    memset(out, 0, sizeof *out);
    int h = img->h, w = img->w, S = p->resize_short, oh = h, ow = w;
    /* MegEngine's Resize: unchanged when the shorter side already is S */
    if (!((h <= w && h == S) || (w <= h && w == S))) {
        if (h < w) oh = S, ow = (int)((double)((long long)S * w) / h);
        else ow = S, oh = (int)((double)((long long)S * h) / w);
    }
    Image r;
    int rc = image_resize(img, oh, ow, p->interp, &r);
    if (rc) return rc;
    if (oh < p->crop_h || ow < p->crop_w) {
        image_free(&r);
        return -1;
    }
    int y0 = half_round_even(oh - p->crop_h), x0 = half_round_even(ow - p->crop_w);
    out->px = bcl_malloc((size_t)p->crop_h * p->crop_w * r.c);
    if (!out->px) {
        image_free(&r);
        return PREPROCESS_NO_MEMORY;
    }
    out->h = p->crop_h, out->w = p->crop_w, out->c = r.c;
    for (int y = 0; y < p->crop_h; y++)
        memcpy(out->px + (size_t)y * p->crop_w * r.c, r.px + ((size_t)(y0 + y) * ow + x0) * r.c, (size_t)p->crop_w * r.c);
    image_free(&r);
    return 0;
}

int preprocess_image(const Image *img, const Preprocess *p, float *out)
{
    Image c;
    int rc = preprocess_crop(img, p, &c);
    if (rc) return rc;
    size_t plane = (size_t)c.h * c.w;
    for (size_t i = 0; i < plane; i++) {
        const unsigned char *px = c.px + i * 3;   /* B, G, R */
        if (p->color == COLOR_GRAY) {
            /* cv2.cvtColor(BGR2GRAY) on 8 bits: 15-bit fixed point (0.114, 0.587, 0.299) */
            int y = (px[0] * 3735 + px[1] * 19235 + px[2] * 9798 + (1 << 14)) >> 15;
            out[i] = ((float)y - p->mean[0]) / p->std[0];
            continue;
        }
        for (int ch = 0; ch < 3; ch++) {
            int v = px[p->color == COLOR_RGB ? 2 - ch : ch];
            out[ch * plane + i] = ((float)v - p->mean[ch]) / p->std[ch];
        }
    }
    image_free(&c);
    return 0;
}
