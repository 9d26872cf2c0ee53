/* NumPy .npy reader and writer. The header is a Python dict literal; we parse exactly
 * the subset numpy writes ({'descr': str, 'fortran_order': bool, 'shape': tuple})
 * and reject everything else with a message naming the file. */
#include <stdio.h>
#include <stdlib.h>

#include "io/io_util.h"
#include "support/oom.h"
#include "io/npy.h"
#include "io/safetensors.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---- header dict parser ---- */

typedef struct HdrParser {
    const char *p, *end;
    char err[160];
} HdrParser;

static void skip_ws(HdrParser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static bool fail(HdrParser *h, const char *msg)
{
    if (!h->err[0]) snprintf(h->err, sizeof h->err, "%s", msg);
    return false;
}

static bool expect(HdrParser *h, char c)
{
    skip_ws(h);
    if (h->p >= h->end || *h->p != c) {
        char msg[48];
        snprintf(msg, sizeof msg, "expected '%c'", c);
        return fail(h, msg);
    }
    h->p++;
    return true;
}

/* A quoted Python string without escapes (numpy never writes any in its keys and
 * dtype strings). Returns a pointer into the header and its length. */
static bool parse_str(HdrParser *h, const char **s, size_t *n)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return fail(h, "expected a quoted string");
    char q = *h->p++;
    const char *start = h->p;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || *h->p == '\n') return fail(h, "unsupported character in a string");
        h->p++;
    }
    if (h->p >= h->end) return fail(h, "unterminated string");
    *s = start;
    *n = (size_t)(h->p - start);
    h->p++;
    return true;
}

static bool word_is(HdrParser *h, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0) return false;
    h->p += n;
    return true;
}

static bool parse_bool(HdrParser *h, bool *b)
{
    skip_ws(h);
    if (word_is(h, "True")) *b = true;
    else if (word_is(h, "False")) *b = false;
    else return fail(h, "'fortran_order' must be True or False");
    return true;
}

/* "(2, 3)", "(3,)", "()"; old Python 2 files may write "3L". */
static bool parse_shape(HdrParser *h, Shape *shape)
{
    shape->rank = 0;
    skip_ws(h);
    if (h->p >= h->end || *h->p != '(') return fail(h, "'shape' must be a tuple");
    h->p++;
    skip_ws(h);
    while (h->p < h->end && *h->p != ')') {
        if (*h->p == '-') return fail(h, "negative dimension in 'shape'");
        if (*h->p < '0' || *h->p > '9') return fail(h, "'shape' must hold integers");
        int64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            int digit = *h->p++ - '0';
            if (v > (INT64_MAX - digit) / 10) return fail(h, "dimension too large in 'shape'");
            v = v * 10 + digit;
        }
        if (h->p < h->end && *h->p == 'L') h->p++;
        if (shape->rank == BCL_MAX_RANK) {
            char msg[64];
            snprintf(msg, sizeof msg, "more than %d dimensions", BCL_MAX_RANK);
            return fail(h, msg);
        }
        shape->d[shape->rank++] = v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            skip_ws(h);
        } else if (h->p < h->end && *h->p != ')') {
            return fail(h, "expected ',' or ')' in 'shape'");
        }
    }
    if (h->p >= h->end) return fail(h, "unterminated 'shape' tuple");
    h->p++;
    return true;
}

typedef struct NpyHeader {
    char descr[32];
    bool fortran;
    Shape shape;
} NpyHeader;

static bool parse_header(HdrParser *h, NpyHeader *out)
{
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    if (!expect(h, '{')) return false;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == '}') break;
        const char *key;
        size_t klen;
        if (!parse_str(h, &key, &klen) || !expect(h, ':')) return false;
        skip_ws(h);
        bool *seen;
        if (klen == 5 && !memcmp(key, "descr", 5)) {
            seen = &seen_descr;
            if (h->p < h->end && *h->p == '[')
                return fail(h, "structured dtypes (a list 'descr') are not supported");
            const char *s;
            size_t n;
            if (!parse_str(h, &s, &n)) return false;
            if (n >= sizeof out->descr) n = sizeof out->descr - 1;
            memcpy(out->descr, s, n);
            out->descr[n] = 0;
        } else if (klen == 13 && !memcmp(key, "fortran_order", 13)) {
            seen = &seen_fortran;
            if (!parse_bool(h, &out->fortran)) return false;
        } else if (klen == 5 && !memcmp(key, "shape", 5)) {
            seen = &seen_shape;
            if (!parse_shape(h, &out->shape)) return false;
        } else {
            char msg[96];
            snprintf(msg, sizeof msg, "unexpected key '%.*s'", klen > 40 ? 40 : (int)klen, key);
            return fail(h, msg);
        }
        if (*seen) return fail(h, "duplicate key");
        *seen = true;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') h->p++;
        else if (h->p >= h->end || *h->p != '}') return fail(h, "expected ',' or '}'");
    }
    h->p++;
    skip_ws(h);
    if (h->p != h->end) return fail(h, "unexpected text after the dict");
    if (!seen_descr) return fail(h, "missing key 'descr'");
    if (!seen_fortran) return fail(h, "missing key 'fortran_order'");
    if (!seen_shape) return fail(h, "missing key 'shape'");
    return true;
}

/* ---- dtypes ---- */

typedef enum { K_FLOAT, K_INT, K_UINT, K_BOOL } Kind;

/* Parses '<f4', '|u1', ... into kind and itemsize; on failure writes why into why. */
static bool parse_dtype(const char *s, Kind *kind, int *size, const char **why)
{
    *why = "only little-endian float, integer and bool dtypes are supported";
    if (strlen(s) != 3 || s[2] < '1' || s[2] > '9') return false;
    char order = s[0], k = s[1];
    *size = s[2] - '0';
    switch (k) {
    case 'f': *kind = K_FLOAT; if (*size != 2 && *size != 4 && *size != 8) return false; break;
    case 'i': *kind = K_INT;   if (*size != 1 && *size != 2 && *size != 4 && *size != 8) return false; break;
    case 'u': *kind = K_UINT;  if (*size != 1 && *size != 2 && *size != 4 && *size != 8) return false; break;
    case 'b': *kind = K_BOOL;  if (*size != 1) return false; break;
    default: return false;
    }
    if (*size == 1) return order == '<' || order == '|' || order == '>' || order == '=';
    if (order == '>') {
        *why = "big-endian data is not supported; save it little-endian";
        return false;
    }
    return order == '<';
}

static float convert_one(const unsigned char *p, Kind kind, int size)
{
    switch (kind) {
    case K_FLOAT:
        if (size == 2) return io_f16_to_f32(io_le16(p));
        if (size == 4) return io_bits_f32(io_le32(p));
        return (float)io_bits_f64(io_le64(p));
    case K_INT:
        if (size == 1) return (float)(int8_t)p[0];
        if (size == 2) return (float)(int16_t)io_le16(p);
        if (size == 4) return (float)(int32_t)io_le32(p);
        return (float)(int64_t)io_le64(p);
    case K_UINT:
        if (size == 1) return (float)p[0];
        if (size == 2) return (float)io_le16(p);
        if (size == 4) return (float)io_le32(p);
        return (float)io_le64(p);
    case K_BOOL:
        return p[0] ? 1.0f : 0.0f;
    }
    return 0.0f;
}

/* ---- reader ---- */

int npy_read_mem(const char *name, const void *buf, size_t len, Shape *shape, float **data, Diag *d)
{
    int dtype;
    return npy_read_mem_typed(name, buf, len, shape, data, &dtype, d);
}

static int st_dtype_of(Kind kind, int size)
{
    switch (kind) {
    case K_FLOAT: return size == 2 ? ST_F16 : size == 4 ? ST_F32 : ST_F64;
    case K_INT: return size == 1 ? ST_I8 : size == 2 ? ST_I16 : size == 4 ? ST_I32 : ST_I64;
    case K_UINT: return size == 1 ? ST_U8 : ST_I64;
    case K_BOOL: return ST_BOOL;
    }
    return ST_F32;
}

int npy_read_mem_typed(const char *name, const void *buf, size_t len, Shape *shape, float **data, int *dtype,
                       Diag *d)
{
    *dtype = ST_F32;
    const unsigned char *b = buf;
    *data = NULL;
    memset(shape, 0, sizeof *shape);
    if (len < 10 || memcmp(b, npy_magic, 6) != 0) {
        diag_error_path(d, name, "not a .npy file (bad magic)");
        return -1;
    }
    int major = b[6], minor = b[7];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = io_le16(b + 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            diag_error_path(d, name, "truncated .npy header");
            return -1;
        }
        hlen = io_le32(b + 8);
        hstart = 12;
    } else {
        diag_error_path(d, name, "unsupported .npy format version %d.%d", major, minor);
        return -1;
    }
    if (hlen > len - hstart) {
        diag_error_path(d, name, "truncated .npy header (%zu bytes announced, %zu present)",
                        hlen, len - hstart);
        return -1;
    }

    HdrParser h = {.p = (const char *)b + hstart, .end = (const char *)b + hstart + hlen};
    NpyHeader hdr = {0};
    if (!parse_header(&h, &hdr)) {
        diag_error_path(d, name, "malformed .npy header at byte %zu: %s",
                        (size_t)(h.p - (const char *)b), h.err);
        return -1;
    }
    char dt[140];
    bcl_printable(hdr.descr, strlen(hdr.descr), dt, sizeof dt);
    Kind kind;
    int size;
    const char *why;
    if (!parse_dtype(hdr.descr, &kind, &size, &why)) {
        diag_error_path(d, name, "unsupported dtype '%s': %s", dt, why);
        return -1;
    }
    if (hdr.fortran) {
        diag_error_path(d, name, "array of dtype '%s' is in Fortran order, which is not supported; "
                        "save a C-contiguous array", dt);
        return -1;
    }

    int64_t numel = 1, bytes;
    for (int i = 0; i < hdr.shape.rank; i++)
        if (!io_mul_ok(numel, hdr.shape.d[i], &numel)) numel = -1;
    size_t avail = len - hstart - hlen;
    if (numel < 0 || !io_mul_ok(numel, size, &bytes)) {
        diag_error_path(d, name, "shape too large: the element count overflows");
        return -1;
    }
    if ((uint64_t)bytes > avail) {
        diag_error_path(d, name, "truncated data: %lld elements of '%s' need %lld bytes, the file has %zu",
                        (long long)numel, dt, (long long)bytes, avail);
        return -1;
    }

    float *out = bcl_malloc(numel ? (size_t)numel * sizeof(float) : 1);
    if (!out) {
        diag_error_path(d, name, "out of memory for %lld elements", (long long)numel);
        return -1;
    }
    const unsigned char *src = b + hstart + hlen;
    for (int64_t i = 0; i < numel; i++) out[i] = convert_one(src + i * size, kind, size);
    *shape = hdr.shape;
    *data = out;
    *dtype = st_dtype_of(kind, size);
    return 0;
}

int npy_read(const char *path, Shape *shape, float **data, Diag *d)
{
    unsigned char *buf;
    size_t len;
    *data = NULL;
    memset(shape, 0, sizeof *shape);
    if (bcl_read_file(path, &buf, &len, d) != 0) return -1;
    int rc = npy_read_mem(path, buf, len, shape, data, d);
    free(buf);
    return rc;
}

/* ---- writer ---- */

int npy_write(const char *path, const Shape *shape, const float *data, Diag *d)
{
    if (shape->rank < 0 || shape->rank > BCL_MAX_RANK) {
        diag_error_path(d, path, "cannot write a tensor of rank %d", shape->rank);
        return -1;
    }
    int64_t numel = 1;
    for (int i = 0; i < shape->rank; i++)
        if (shape->d[i] < 0 || !io_mul_ok(numel, shape->d[i], &numel) || numel > INT64_MAX / 4) {
            diag_error_path(d, path, "cannot write a tensor with an invalid shape");
            return -1;
        }

    /* numpy's own layout: the dict, padded with spaces and a final '\n' so that the
     * data starts on a 64-byte boundary. */
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < shape->rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)shape->d[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, shape->rank == 1 ? ",), }" : "), }");
    size_t total_hdr = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
    size_t hlen = total_hdr - 10;
    size_t size = total_hdr + (size_t)numel * 4;
    unsigned char *buf = bcl_malloc(size);
    if (!buf) {
        diag_error_path(d, path, "out of memory writing %lld elements", (long long)numel);
        return -1;
    }
    memcpy(buf, npy_magic, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', hlen - (size_t)n - 1);
    buf[total_hdr - 1] = '\n';
    for (int64_t i = 0; i < numel; i++) io_put_le32(buf + total_hdr + i * 4, io_f32_bits(data[i]));
    int rc = bcl_write_file(path, buf, size, d);
    free(buf);
    return rc;
}
