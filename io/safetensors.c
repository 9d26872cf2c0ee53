/* safetensors reader and writer. Layout: 8-byte little-endian header length N, N
 * bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, ...} with
 * offsets relative to the data section that follows. Every field is validated before
 * a single data byte is read. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/file_map.h"
#include "support/oom.h"
#include "io/io_util.h"
#include "io/json.h"
#include "io/safetensors.h"

#define ST_MAX_HEADER (100u * 1024 * 1024)

static const struct { const char *name, *numpy; int size; } dtypes[ST_N_DTYPES] = {
    [ST_F32] = {"F32", "float32", 4}, [ST_F64] = {"F64", "float64", 8}, [ST_F16] = {"F16", "float16", 2},
    [ST_BF16] = {"BF16", "bfloat16", 2}, [ST_I64] = {"I64", "int64", 8}, [ST_I32] = {"I32", "int32", 4},
    [ST_I16] = {"I16", "int16", 2}, [ST_I8] = {"I8", "int8", 1}, [ST_U8] = {"U8", "uint8", 1},
    [ST_BOOL] = {"BOOL", "bool", 1},
};

const char *st_dtype_name(StDtype t) { return (unsigned)t < ST_N_DTYPES ? dtypes[t].numpy : "?"; }

void st_note_int_range(StTensor *t)
{
    t->int_inexact = false;
    if (!st_dtype_is_int(t->dtype)) return;
    int64_t n = shape_numel(&t->shape);
    for (int64_t i = 0; i < n; i++)
        if (t->data[i] >= 16777216.0f || t->data[i] <= -16777216.0f) {
            t->int_inexact = true;
            return;
        }
}

/* One header entry, validated; name points into the JSON arena. */
typedef struct Entry {
    const char *name;
    size_t name_len;
    StDtype dtype;
    Shape shape;
    int64_t numel;
    uint64_t begin, end;
} Entry;

typedef struct Reader {
    const char *path;
    Diag *d;
    uint64_t data_len;
    const IoFileMap *map;   /* the file's mapping, or NULL for a caller's buffer */
} Reader;

#define PNAME(e, buf) bcl_printable((e)->name, (e)->name_len, buf, sizeof buf)

static bool parse_dtype(Reader *r, Entry *e, const JsonValue *v)
{
    char nb[256], db[64];
    if (v->kind != JSON_STRING) {
        diag_error_path(r->d, r->path, "tensor '%s': \"dtype\" must be a string", PNAME(e, nb));
        return false;
    }
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (strlen(dtypes[i].name) == v->str_len && !memcmp(dtypes[i].name, v->str, v->str_len)) {
            e->dtype = (StDtype)i;
            return true;
        }
    diag_error_path(r->d, r->path, "tensor '%s': unsupported dtype %s (F32, F64, F16, BF16, I64, I32, I16, I8, "
                    "U8 and BOOL are)",
                    PNAME(e, nb), bcl_printable(v->str, v->str_len, db, sizeof db));
    return false;
}

static bool parse_shape(Reader *r, Entry *e, const JsonValue *v)
{
    char nb[256];
    if (v->kind != JSON_ARRAY) {
        diag_error_path(r->d, r->path, "tensor '%s': \"shape\" must be a list", PNAME(e, nb));
        return false;
    }
    if (v->n > BCL_MAX_RANK) {
        diag_error_path(r->d, r->path, "tensor '%s': rank %d exceeds the maximum of %d",
                        PNAME(e, nb), v->n, BCL_MAX_RANK);
        return false;
    }
    e->shape.rank = v->n;
    e->numel = 1;
    bool overflow = false;
    for (int i = 0; i < v->n; i++) {
        if (!json_get_int(v->items[i], &e->shape.d[i])) {
            diag_error_path(r->d, r->path, "tensor '%s': \"shape\" must hold non-negative integers",
                            PNAME(e, nb));
            return false;
        }
        if (!io_mul_ok(e->numel, e->shape.d[i], &e->numel)) overflow = true;
    }
    int64_t bytes;
    if (overflow || !io_mul_ok(e->numel, dtypes[e->dtype].size, &bytes)) {
        diag_error_path(r->d, r->path, "tensor '%s': shape too large (the byte count overflows)",
                        PNAME(e, nb));
        return false;
    }
    return true;
}

static bool parse_offsets(Reader *r, Entry *e, const JsonValue *v)
{
    char nb[256];
    int64_t b, en;
    if (v->kind != JSON_ARRAY || v->n != 2 || !json_get_int(v->items[0], &b) ||
        !json_get_int(v->items[1], &en)) {
        diag_error_path(r->d, r->path,
                        "tensor '%s': \"data_offsets\" must be [begin, end] with non-negative integers",
                        PNAME(e, nb));
        return false;
    }
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
    if (e->begin > e->end) {
        diag_error_path(r->d, r->path, "tensor '%s': data_offsets [%llu, %llu] end before they begin",
                        PNAME(e, nb), (unsigned long long)e->begin, (unsigned long long)e->end);
        return false;
    }
    if (e->end > r->data_len) {
        diag_error_path(r->d, r->path, "tensor '%s': data_offsets [%llu, %llu] exceed the data section (%llu bytes)",
                        PNAME(e, nb), (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)r->data_len);
        return false;
    }
    return true;
}

/* Validates one header entry {"dtype", "shape", "data_offsets"}. */
static bool parse_entry(Reader *r, Entry *e, const JsonValue *v)
{
    char nb[256], fb[64];
    if (memchr(e->name, 0, e->name_len)) {
        diag_error_path(r->d, r->path, "tensor '%s': the name contains a NUL character", PNAME(e, nb));
        return false;
    }
    if (v->kind != JSON_OBJECT) {
        diag_error_path(r->d, r->path, "tensor '%s': expected an object with \"dtype\", \"shape\" "
                        "and \"data_offsets\"", PNAME(e, nb));
        return false;
    }
    static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
    const JsonValue *fv[3] = {0};
    for (int i = 0; i < v->n; i++) {
        const JsonValue *k = v->keys[i];
        int f = 0;
        while (f < 3 && !(strlen(fields[f]) == k->str_len && !memcmp(fields[f], k->str, k->str_len))) f++;
        if (f == 3) {
            diag_error_path(r->d, r->path, "tensor '%s': unknown field '%s'", PNAME(e, nb),
                            bcl_printable(k->str, k->str_len, fb, sizeof fb));
            return false;
        }
        if (fv[f]) {
            diag_error_path(r->d, r->path, "tensor '%s': duplicate field '%s'", PNAME(e, nb), fields[f]);
            return false;
        }
        fv[f] = v->items[i];
    }
    for (int f = 0; f < 3; f++)
        if (!fv[f]) {
            diag_error_path(r->d, r->path, "tensor '%s': missing field '%s'", PNAME(e, nb), fields[f]);
            return false;
        }
    if (!parse_dtype(r, e, fv[0]) || !parse_shape(r, e, fv[1]) || !parse_offsets(r, e, fv[2]))
        return false;
    uint64_t need = (uint64_t)e->numel * (uint64_t)dtypes[e->dtype].size;  /* checked above */
    if (need != e->end - e->begin) {
        diag_error_path(r->d, r->path, "tensor '%s': %s shape with %lld elements needs %llu bytes, "
                        "but data_offsets [%llu, %llu] hold %llu",
                        PNAME(e, nb), dtypes[e->dtype].name, (long long)e->numel,
                        (unsigned long long)need, (unsigned long long)e->begin,
                        (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
        return false;
    }
    return true;
}

static int cmp_name(const void *a, const void *b)
{
    const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int cmp_begin(const void *a, const void *b)
{
    const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Duplicate names and overlapping byte ranges, found by sorting. */
static bool check_set(Reader *r, Entry *e, int n)
{
    char nb[256], nb2[256];
    if (n < 2) return true;
    Entry **s = bcl_malloc((size_t)n * sizeof *s);
    if (!s) {
        diag_error_path(r->d, r->path, "out of memory");
        return false;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) s[i] = &e[i];
    qsort(s, (size_t)n, sizeof *s, cmp_name);
    for (int i = 1; i < n && ok; i++)
        if (cmp_name(&s[i - 1], &s[i]) == 0) {
            diag_error_path(r->d, r->path, "duplicate tensor '%s'", PNAME(s[i], nb));
            ok = false;
        }
    qsort(s, (size_t)n, sizeof *s, cmp_begin);
    const Entry *last = NULL;   /* the non-empty tensor reaching furthest so far */
    for (int i = 0; i < n && ok; i++) {
        if (s[i]->begin == s[i]->end) continue;
        if (last && s[i]->begin < last->end) {
            diag_error_path(r->d, r->path, "tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap",
                            PNAME(last, nb), (unsigned long long)last->begin,
                            (unsigned long long)last->end, PNAME(s[i], nb2),
                            (unsigned long long)s[i]->begin, (unsigned long long)s[i]->end);
            ok = false;
        }
        if (!last || s[i]->end > last->end) last = s[i];
    }
    free(s);
    return ok;
}

static void widen(const Entry *e, const unsigned char *src, float *dst)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the common case (and most of a checkpoint's bytes): already our floats */
    if (e->dtype == ST_F32) {
        memcpy(dst, src, (size_t)e->numel * sizeof(float));
        return;
    }
#endif
    for (int64_t i = 0; i < e->numel; i++) {
        switch (e->dtype) {
        case ST_F32: dst[i] = io_bits_f32(io_le32(src + 4 * i)); break;
        case ST_F16: dst[i] = io_f16_to_f32(io_le16(src + 2 * i)); break;
        case ST_BF16: dst[i] = io_bf16_to_f32(io_le16(src + 2 * i)); break;
        case ST_F64: dst[i] = (float)io_bits_f64(io_le64(src + 8 * i)); break;
        case ST_I64: dst[i] = (float)(int64_t)io_le64(src + 8 * i); break;
        case ST_I32: dst[i] = (float)(int32_t)io_le32(src + 4 * i); break;
        case ST_I16: dst[i] = (float)(int16_t)io_le16(src + 2 * i); break;
        case ST_I8: dst[i] = (float)(int8_t)src[i]; break;
        case ST_U8: dst[i] = (float)src[i]; break;
        case ST_BOOL: dst[i] = src[i] ? 1.0f : 0.0f; break;
        case ST_N_DTYPES: break;
        }
    }
}

/* Filling the tensors from the file: a range of them, on one thread. */
typedef struct FillJob {
    const Reader *r;
    const Entry *e;
    const unsigned char *data;
    StTensor *t;
    int lo, hi;
} FillJob;

static void *fill_range(void *arg)
{
    const FillJob *j = arg;
    for (int i = j->lo; i < j->hi; i++) {
        const Entry *e = &j->e[i];
        widen(e, j->data + e->begin, j->t[i].data);
        st_note_int_range(&j->t[i]);
        /* the mapped source is read once: dropping its pages keeps the peak at
         * about the tensors' size instead of the file's plus the tensors' */
        if (j->r->map) io_release_mapped(j->r->map, j->data + e->begin, (size_t)(e->end - e->begin));
    }
    return NULL;
}

/* Files of at least this many bytes are filled on up to FILL_THREADS threads: the
 * slab's pages are fresh, and faulting them in (the kernel zeroes each) is most of
 * the time of a copy (ResNet-50's 100 MB: bclc's build phase 0.117 -> 0.100 s on two
 * cores, Zen 5 VM). Each tensor is filled by one thread, as before. */
#define FILL_PARALLEL_BYTES (16u << 20)
#define FILL_THREADS 4

static void fill(const Reader *r, const Entry *e, int n, const unsigned char *data, StTensor *t, uint64_t bytes)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = bytes < FILL_PARALLEL_BYTES || cores < 2 ? 1 : cores < FILL_THREADS ? (int)cores : FILL_THREADS;
    FillJob job[FILL_THREADS];
    pthread_t th[FILL_THREADS];
    bool started[FILL_THREADS] = {false};
    /* shares of about equal bytes, in file order */
    int i = 0;
    uint64_t acc = 0;
    for (int k = 0; k < nt; k++) {
        job[k] = (FillJob){r, e, data, t, i, i};
        uint64_t want = bytes / (uint64_t)nt * (uint64_t)(k + 1);
        while (i < n && (k == nt - 1 || acc < want)) acc += e[i].end - e[i].begin, i++;
        job[k].hi = i;
    }
    for (int k = 1; k < nt; k++) started[k] = pthread_create(&th[k], NULL, fill_range, &job[k]) == 0;
    fill_range(&job[0]);
    for (int k = 1; k < nt; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else fill_range(&job[k]);   /* no thread: this one does that share too */
    }
}

static bool build(Reader *r, const Entry *e, int n, const unsigned char *data, StFile *out)
{
    out->t = bcl_calloc(n ? (size_t)n : 1, sizeof *out->t);
    if (!out->t) goto oom;
    /* One slab for all tensors, each at a 64-byte boundary: one large allocation on
     * huge pages (bcl_aligned_alloc) instead of a fresh 4 KiB fault per page of each */
    size_t total = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++) total += ((size_t)e[i].numel + 15) / 16 * 16, bytes += e[i].end - e[i].begin;
    out->slab = bcl_aligned_alloc(64, (total ? total : 1) * sizeof(float));
    if (!out->slab) goto oom;
    out->slab_floats = total;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        StTensor *t = &out->t[i];
        t->name = bcl_malloc(e[i].name_len + 1);
        t->data = out->slab + at;
        at += ((size_t)e[i].numel + 15) / 16 * 16;
        out->n = i + 1;   /* so st_free releases what was allocated */
        if (!t->name) goto oom;
        memcpy(t->name, e[i].name, e[i].name_len + 1);
        t->shape = e[i].shape;
        t->dtype = e[i].dtype;
    }
    fill(r, e, n, data, out->t, bytes);
    return true;
oom:
    diag_error_path(r->d, r->path, "out of memory");
    return false;
}

static void arena_free_guarded(void *arg) { arena_free(arg); }

static int parse(const char *name, const void *buf, size_t len, const IoFileMap *map, StFile *out, Diag *d)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len < 8) {
        diag_error_path(d, name, "file too short for a safetensors header (%zu bytes)", len);
        return -1;
    }
    uint64_t hlen = io_le64(b);
    if (hlen > ST_MAX_HEADER) {
        diag_error_path(d, name, "safetensors header length %llu exceeds the 100 MB limit",
                        (unsigned long long)hlen);
        return -1;
    }
    if (hlen > len - 8) {
        diag_error_path(d, name, "safetensors header length %llu exceeds the file size (%zu bytes)",
                        (unsigned long long)hlen, len);
        return -1;
    }

    Reader r = {.path = name, .d = d, .data_len = len - 8 - hlen, .map = map};
    Arena a;
    arena_init(&a);
    char err[128];
    Entry *e = NULL;
    int n = 0, rc = -1;
    /* the JSON arena jumps when it cannot grow (support/oom.h): these free what is held */
    BclOomGuard g_a, g_e;
    bcl_oom_guard(&g_a, arena_free_guarded, &a);
    bcl_oom_guard(&g_e, bcl_oom_free_ptr, &e);
    JsonValue *root = json_parse(&a, (const char *)b + 8, (size_t)hlen, err, sizeof err);
    if (!root) {
        diag_error_path(d, name, "invalid JSON header %s", err);
        goto done;
    }
    if (root->kind != JSON_OBJECT) {
        diag_error_path(d, name, "the JSON header is not an object");
        goto done;
    }
    e = bcl_calloc(root->n ? (size_t)root->n : 1, sizeof *e);
    if (!e) {
        diag_error_path(d, name, "out of memory");
        goto done;
    }
    for (int i = 0; i < root->n; i++) {
        const JsonValue *k = root->keys[i];
        if (k->str_len == 12 && !memcmp(k->str, "__metadata__", 12)) continue;  /* free-form */
        e[n].name = k->str;
        e[n].name_len = k->str_len;
        if (!parse_entry(&r, &e[n], root->items[i])) goto done;
        n++;
    }
    if (!check_set(&r, e, n)) goto done;
    if (!build(&r, e, n, b + 8 + hlen, out)) {
        st_free(out);
        goto done;
    }
    rc = 0;
done:
    bcl_oom_unguard(&g_e);
    bcl_oom_unguard(&g_a);
    free(e);
    arena_free(&a);
    return rc;
}

int st_read_mem(const char *name, const void *buf, size_t len, StFile *out, Diag *d)
{
    return parse(name, buf, len, NULL, out, d);
}

int st_read_mapped(const char *path, const IoFileMap *map, StFile *out, Diag *d)
{
    return parse(path, map->data, map->len, map, out, d);
}

int st_read(const char *path, StFile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    IoFileMap map;   /* mapped, not read: the tensors are the only copy on the heap */
    if (io_map_file(path, &map, d) != 0) return -1;
    int rc = st_read_mapped(path, &map, out, d);
    io_unmap_file(&map);
    return rc;
}

bool st_in_slab(const StFile *f, const float *p)
{
    return f->slab && p >= f->slab && p <= f->slab + f->slab_floats;   /* empty tensors may sit at its end */
}

void st_free(StFile *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->t[i].name);
        if (!st_in_slab(f, f->t[i].data)) free(f->t[i].data);
    }
    if (!f->slab_moved) free(f->slab);
    free(f->t);
    f->t = NULL;
    f->slab = NULL;
    f->slab_floats = 0;
    f->slab_moved = false;
    f->n = 0;
}

/* ---- writer ---- */

static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static bool check_write(const char *path, const StTensor *t, int n, int64_t *numel, Diag *d)
{
    for (int i = 0; i < n; i++) {
        if ((unsigned)t[i].dtype >= ST_N_DTYPES || t[i].dtype == ST_F16 || t[i].dtype == ST_BF16) {
            diag_error_path(d, path, "cannot write tensor %d: only F32, F64, integer and bool dtypes are written", i);
            return false;
        }
        if (!t[i].name || !strcmp(t[i].name, "__metadata__")) {
            diag_error_path(d, path, "cannot write tensor %d: invalid name", i);
            return false;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(t[i].name, t[j].name)) {
                diag_error_path(d, path, "cannot write: duplicate tensor '%s'", t[i].name);
                return false;
            }
        bool ok = t[i].shape.rank >= 0 && t[i].shape.rank <= BCL_MAX_RANK;
        numel[i] = 1;
        for (int k = 0; ok && k < t[i].shape.rank; k++)
            ok = t[i].shape.d[k] >= 0 && io_mul_ok(numel[i], t[i].shape.d[k], &numel[i]) &&
                 numel[i] <= INT64_MAX / 8;
        if (!ok) {
            diag_error_path(d, path, "cannot write tensor '%s': invalid shape", t[i].name);
            return false;
        }
    }
    return true;
}

/* One element in dtype t (integers rounded toward zero, saturated to the type's range). */
static unsigned char *put_elem(unsigned char *p, StDtype t, float x)
{
    double v = x != x ? 0.0 : (double)x;
    static const double lo[ST_N_DTYPES] = {[ST_I64] = -9223372036854775808.0, [ST_I32] = -2147483648.0, [ST_I16] = -32768.0,
                              [ST_I8] = -128.0, [ST_U8] = 0.0};
    static const double hi[ST_N_DTYPES] = {[ST_I64] = 9223372036854774784.0, [ST_I32] = 2147483647.0, [ST_I16] = 32767.0,
                              [ST_I8] = 127.0, [ST_U8] = 255.0};
    if (st_dtype_is_int(t)) v = v < lo[t] ? lo[t] : v > hi[t] ? hi[t] : v;
    switch (t) {
    case ST_F64: {
        uint64_t b;
        memcpy(&b, &v, 8);
        io_put_le32(p, (uint32_t)b);
        io_put_le32(p + 4, (uint32_t)(b >> 32));
        return p + 8;
    }
    case ST_I64: {
        uint64_t b = (uint64_t)(int64_t)v;
        io_put_le32(p, (uint32_t)b);
        io_put_le32(p + 4, (uint32_t)(b >> 32));
        return p + 8;
    }
    case ST_I32: io_put_le32(p, (uint32_t)(int32_t)v); return p + 4;
    case ST_I16: p[0] = (unsigned char)((uint16_t)(int16_t)v & 0xff); p[1] = (unsigned char)((uint16_t)(int16_t)v >> 8); return p + 2;
    case ST_I8: p[0] = (unsigned char)(int8_t)v; return p + 1;
    case ST_U8: p[0] = (unsigned char)v; return p + 1;
    case ST_BOOL: p[0] = x != 0.0f; return p + 1;
    default: io_put_le32(p, io_f32_bits(x)); return p + 4;
    }
}

int st_write(const char *path, const StTensor *t, int n, Diag *d)
{
    if (n < 0) n = 0;
    int64_t *numel = bcl_malloc((n ? (size_t)n : 1) * sizeof *numel);
    char *hdr = NULL;
    size_t hlen = 0;
    unsigned char *buf = NULL;
    int rc = -1;
    if (!numel) goto oom;
    if (!check_write(path, t, n, numel, d)) goto done;

    FILE *m = open_memstream(&hdr, &hlen);
    if (!m) goto oom;
    uint64_t off = 0;
    fputc('{', m);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', m);
        put_json_string(m, t[i].name);
        uint64_t size = (uint64_t)dtypes[t[i].dtype].size;
        fprintf(m, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t[i].dtype].name);
        for (int k = 0; k < t[i].shape.rank; k++)
            fprintf(m, k ? ",%lld" : "%lld", (long long)t[i].shape.d[k]);
        fprintf(m, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                (unsigned long long)(off + (uint64_t)numel[i] * size));
        off += (uint64_t)numel[i] * size;
    }
    fputc('}', m);
    /* Pad with spaces so the data section starts 8-byte aligned. */
    while ((8 + ftell(m)) % 8) fputc(' ', m);
    if (fclose(m) != 0 || !hdr) goto oom;

    size_t total = 8 + hlen + (size_t)off;
    buf = bcl_malloc(total);
    if (!buf) goto oom;
    io_put_le32(buf, (uint32_t)hlen);
    io_put_le32(buf + 4, (uint32_t)((uint64_t)hlen >> 32));
    memcpy(buf + 8, hdr, hlen);
    unsigned char *p = buf + 8 + hlen;
    for (int i = 0; i < n; i++)
        for (int64_t k = 0; k < numel[i]; k++) p = put_elem(p, t[i].dtype, t[i].data[k]);
    rc = bcl_write_file(path, buf, total, d);
    goto done;
oom:
    diag_error_path(d, path, "out of memory");
done:
    free(buf);
    free(hdr);
    free(numel);
    return rc;
}
