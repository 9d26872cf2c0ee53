/* safetensors: round trip through st_write, F16/BF16/F64 widening against IEEE
 * reference values, and hostile files (each a specific error; run under ASan). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/safetensors.h"
#include "tests/unit/test_support.h"

/* A safetensors image: 8-byte little-endian length, the JSON text, then data. The
 * result is malloc'ed at exactly its size so ASan catches any over-read. */
static unsigned char *make_st(const char *json, const void *data, size_t data_len, size_t *len)
{
    size_t n = strlen(json);
    *len = 8 + n + data_len;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    if (data_len) memcpy(b + 8 + n, data, data_len);
    return b;
}

static void load_ok(const char *json, const void *data, size_t data_len, StFile *f)
{
    Cap c;
    cap_init(&c);
    size_t len;
    unsigned char *b = make_st(json, data, data_len, &len);
    if (st_read_mem("ok.safetensors", b, len, f, &c.d) != 0) fail_msg("%s", cap_text(&c));
    assert_int_equal(c.d.n_errors, 0);
    free(b);
    cap_free(&c);
}

/* Expects the exact full diagnostic line "bad.safetensors: error: <msg>\n". */
static void expect_error_n(const char *json, size_t data_len, const char *msg)
{
    Cap c;
    cap_init(&c);
    size_t len;
    unsigned char *data = calloc(1, data_len + 1);
    unsigned char *b = make_st(json, data, data_len, &len);
    StFile f = {.n = 99};
    assert_int_not_equal(st_read_mem("bad.safetensors", b, len, &f, &c.d), 0);
    assert_int_equal(f.n, 0);
    assert_null(f.t);
    assert_int_equal(c.d.n_errors, 1);
    char want[1024];
    snprintf(want, sizeof want, "bad.safetensors: error: %s\n", msg);
    if (strcmp(cap_text(&c), want) != 0) fail_msg("want: %sgot:  %s", want, cap_text(&c));
    free(b);
    free(data);
    cap_free(&c);
}

static void expect_error(const char *json, const char *msg) { expect_error_n(json, 64, msg); }

/* ---- memory-mapped reading (io/file_map.c) ---- */

/* Tensors spanning many pages, read through the mapping: the reader releases each
 * tensor's pages after widening it, so reading the same mapping a second time must
 * fault them back in with the same contents; a FIFO-like file that cannot be mapped
 * (here /dev/null: not regular) goes through the ordinary reader's diagnostic. */
static void test_mapped(void **state)
{
    enum { N = 3 * 4096 + 5 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < N; i++) {
        a[i] = (float)i * 0.25f - 7.0f;
        b[i] = -(float)i;
    }
    StTensor t[2] = {{"a", {1, {N}}, a, ST_F32, false}, {"b", {1, {N}}, b, ST_F32, false}};
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(st_write(p, t, 2, &c.d), 0);
    IoFileMap map;
    assert_int_equal(io_map_file(p, &map, &c.d), 0);
    assert_non_null(map.mapped);
    for (int round = 0; round < 2; round++) {
        StFile f;
        assert_int_equal(st_read_mapped(p, &map, &f, &c.d), 0);
        assert_int_equal(f.n, 2);
        assert_memory_equal(f.t[0].data, a, N * sizeof *a);
        assert_memory_equal(f.t[1].data, b, N * sizeof *b);
        st_free(&f);
    }
    io_unmap_file(&map);
    assert_null(map.data);
    unlink(p);
    /* not a regular file: no mapping, the reader's own message */
    assert_int_equal(io_map_file("/dev/null", &map, &c.d), -1);
    assert_contains(cap_text(&c), "/dev/null: error: cannot read: not a regular file");
    assert_int_equal(io_map_file("/nonexistent/w.safetensors", &map, &c.d), -1);
    assert_contains(cap_text(&c), "cannot open: No such file or directory");
    cap_free(&c);
    free(a);
    free(b);
}

/* A file over the threaded-fill threshold (16 MB): its tensors are split between
 * threads in shares of about equal bytes. Many tensors of uneven sizes (one holding
 * most of the bytes, empty ones, integers whose range check runs on the filling
 * thread) must come back whole and in order, mapped and from memory alike. */
static void test_threaded_fill(void **state)
{
    enum { NT = 41, BIG = 3 << 20 };   /* the big tensor: 12 MB of F32 */
    StTensor t[NT];
    float *buf[NT];
    char names[NT][8];
    for (int k = 0; k < NT; k++) {
        int64_t n = k == 7 ? BIG : k % 10 == 3 ? 0 : 40000 + 1237 * k;
        buf[k] = malloc((size_t)(n ? n : 1) * sizeof(float));
        assert_non_null(buf[k]);
        StDtype dt = k % 5 == 2 ? ST_I32 : ST_F32;
        for (int64_t i = 0; i < n; i++)
            buf[k][i] = dt == ST_I32 ? (float)((i * 7 + k) % 1000 - 500) : (float)(i % 977) * 0.5f - (float)k;
        if (k == 12) buf[k][5] = 33554432.0f;   /* beyond 2^24: marked inexact */
        snprintf(names[k], sizeof names[k], "t%02d", k);
        t[k] = (StTensor){names[k], {1, {n}}, buf[k], dt, false};
    }
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(st_write(p, t, NT, &c.d), 0);
    size_t len;
    unsigned char *raw = slurp(p, &len);
    assert_true(len > (16u << 20));
    for (int how = 0; how < 2; how++) {
        StFile f;
        assert_int_equal(how ? st_read_mem("mem", raw, len, &f, &c.d) : st_read(p, &f, &c.d), 0);
        assert_int_equal(f.n, NT);
        for (int k = 0; k < NT; k++) {
            assert_string_equal(f.t[k].name, names[k]);
            assert_int_equal(f.t[k].dtype, t[k].dtype);
            assert_memory_equal(f.t[k].data, buf[k], (size_t)t[k].shape.d[0] * sizeof(float));
            assert_int_equal(f.t[k].int_inexact, k == 12);
        }
        st_free(&f);
    }
    free(raw);
    unlink(p);
    for (int k = 0; k < NT; k++) free(buf[k]);
    cap_free(&c);
}

/* ---- round trip ---- */

/* Integer and bool tensors: written in their dtype (little-endian, rounded toward zero),
 * read back widened with the dtype kept; an integer beyond 2^24 is marked inexact. */
static void test_int_dtypes(void **state)
{
    float i64[3] = {-3, 40000000.0f, 7.9f}, i32[2] = {-2147483648.0f, 5}, b[3] = {0, 2, 1}, u8[2] = {255, 0};
    float i8[2] = {-128, 127}, i16[2] = {-300, 12}, f64[1] = {0.1f};
    StTensor t[7] = {
        {"i64", {1, {3}}, i64, ST_I64, false}, {"i32", {1, {2}}, i32, ST_I32, false}, {"b", {1, {3}}, b, ST_BOOL, false},
        {"u8", {1, {2}}, u8, ST_U8, false},   {"i8", {1, {2}}, i8, ST_I8, false},    {"i16", {1, {2}}, i16, ST_I16, false},
        {"f64", {0, {0}}, f64, ST_F64, false},
    };
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(st_write(p, t, 7, &c.d), 0);
    size_t len;
    unsigned char *raw = slurp(p, &len);
    uint64_t hlen = 0;
    for (int k = 0; k < 8; k++) hlen |= (uint64_t)raw[k] << (8 * k);
    assert_non_null(strstr((char *)raw + 8, "\"i64\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}"));
    assert_non_null(strstr((char *)raw + 8, "\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[32,35]}"));
    const unsigned char *d = raw + 8 + hlen;
    static const unsigned char want_i64[24] = {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x5a, 0x62, 0x02,
                                               0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(d, want_i64, 24);   /* 40000000 = 0x2625a00; 7.9 rounds to 7 */
    assert_memory_equal(d + 32, "\0\1\1", 3);
    free(raw);
    StFile f;
    assert_int_equal(st_read(p, &f, &c.d), 0);
    unlink(p);
    assert_int_equal(f.n, 7);
    static const StDtype want[7] = {ST_I64, ST_I32, ST_BOOL, ST_U8, ST_I8, ST_I16, ST_F64};
    for (int k = 0; k < 7; k++) assert_int_equal(f.t[k].dtype, want[k]);
    assert_true(f.t[0].data[0] == -3 && f.t[0].data[1] == 40000000.0f && f.t[0].data[2] == 7);
    assert_true(f.t[0].int_inexact && f.t[1].int_inexact && !f.t[2].int_inexact && !f.t[3].int_inexact);
    assert_true(f.t[1].data[0] == -2147483648.0f && f.t[1].data[1] == 5);
    assert_true(f.t[2].data[0] == 0 && f.t[2].data[1] == 1 && f.t[2].data[2] == 1);
    assert_true(f.t[3].data[0] == 255 && f.t[4].data[0] == -128 && f.t[4].data[1] == 127 && f.t[5].data[0] == -300);
    assert_true(f.t[6].data[0] == 0.1f);
    assert_string_equal(st_dtype_name(f.t[0].dtype), "int64");
    assert_string_equal(st_dtype_name(f.t[2].dtype), "bool");
    st_free(&f);
    /* F16 and BF16 are read, not written */
    StTensor h = {"h", {1, {1}}, f64, ST_F16, false};
    assert_int_not_equal(st_write(p, &h, 1, &c.d), 0);
    assert_contains(cap_text(&c), "only F32, F64, integer and bool dtypes are written");
    cap_free(&c);
}

static void test_roundtrip(void **state)
{
    float a[6] = {1, -2, 3.5f, 0, 1e-8f, -1e30f}, s = 42, big[100];
    for (int i = 0; i < 100; i++) big[i] = (float)i / 7.0f;
    a[3] = -0.0f;
    StTensor t[4] = {
        {"features.0.weight", {2, {2, 3}}, a, ST_F32, false},
        {"scalar", {0, {0}}, &s, ST_F32, false},
        {"empty", {2, {0, 4}}, NULL, ST_F32, false},
        {"odd \"name\"\\ with\nescapes", {4, {1, 4, 25, 1}}, big, ST_F32, false},
    };
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(st_write(p, t, 4, &c.d), 0);

    size_t len;
    unsigned char *raw = slurp(p, &len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)raw[i] << (8 * i);
    assert_int_equal((8 + hl) % 8, 0);
    assert_int_equal(len, 8 + hl + 4 * (6 + 1 + 0 + 100));
    const char *want = "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[24,28]},"
                       "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[28,28]},"
                       "\"odd \\\"name\\\"\\\\ with\\u000aescapes\":{\"dtype\":\"F32\",\"shape\":[1,4,25,1],"
                       "\"data_offsets\":[28,428]}}";
    assert_true(hl >= strlen(want) && hl < strlen(want) + 8);
    assert_memory_equal(raw + 8, want, strlen(want));
    for (size_t i = strlen(want); i < hl; i++) assert_int_equal(raw[8 + i], ' ');
    /* little-endian float32 1.0f after the header... first value is 1.0 = 0x3f800000 */
    assert_memory_equal(raw + 8 + hl, "\x00\x00\x80\x3f", 4);
    free(raw);

    StFile f;
    assert_int_equal(st_read(p, &f, &c.d), 0);
    assert_int_equal(f.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(f.t[i].name, t[i].name);
        assert_int_equal(f.t[i].shape.rank, t[i].shape.rank);
        int64_t n = 1;
        for (int k = 0; k < t[i].shape.rank; k++) {
            assert_int_equal(f.t[i].shape.d[k], t[i].shape.d[k]);
            n *= t[i].shape.d[k];
        }
        if (n) assert_memory_equal(f.t[i].data, t[i].data, (size_t)n * 4);
    }
    st_free(&f);
    assert_int_equal(f.n, 0);
    unlink(p);

    /* no tensors at all */
    assert_int_equal(st_write(p, NULL, 0, &c.d), 0);
    assert_int_equal(st_read(p, &f, &c.d), 0);
    assert_int_equal(f.n, 0);
    st_free(&f);
    unlink(p);
    assert_int_equal(c.d.n_errors, 0);
    cap_free(&c);
}

static void test_write_errors(void **state)
{
    Cap c;
    cap_init(&c);
    float v[2] = {0};
    StTensor dup[2] = {{"a", {1, {1}}, v, ST_F32, false}, {"a", {1, {1}}, v, ST_F32, false}};
    assert_int_not_equal(st_write("/tmp/bcl_st_never", dup, 2, &c.d), 0);
    assert_contains(cap_text(&c), "/tmp/bcl_st_never: error: cannot write: duplicate tensor 'a'");
    StTensor neg = {"n", {1, {-3}}, v, ST_F32, false};
    assert_int_not_equal(st_write("/tmp/bcl_st_never", &neg, 1, &c.d), 0);
    assert_contains(cap_text(&c), "cannot write tensor 'n': invalid shape");
    StTensor meta = {"__metadata__", {1, {1}}, v, ST_F32, false};
    assert_int_not_equal(st_write("/tmp/bcl_st_never", &meta, 1, &c.d), 0);
    assert_contains(cap_text(&c), "invalid name");
    assert_int_equal(access("/tmp/bcl_st_never", F_OK), -1);
    assert_int_not_equal(st_write("/nonexistent_dir_bcl/w.safetensors", dup, 1, &c.d), 0);
    assert_contains(cap_text(&c), "/nonexistent_dir_bcl/w.safetensors: error: cannot write: No such file");
    StFile f;
    assert_int_not_equal(st_read("/nonexistent_dir_bcl/w.safetensors", &f, &c.d), 0);
    assert_contains(cap_text(&c), "/nonexistent_dir_bcl/w.safetensors: error: cannot open: No such file");
    cap_free(&c);
}

/* ---- widening ---- */

static void test_f16(void **state)
{
    static const uint16_t h[] = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00,
                                 0xfc00, 0x8000, 0x3555, 0x7e00, 0x8001};
    const float want[] = {1.0f, -2.5f, 65504.0f, 0x1p-24f, 0x3ffp-24f, 0x1p-14f, INFINITY,
                          -INFINITY, -0.0f, 0.333251953125f, NAN, -0x1p-24f};
    unsigned char data[sizeof h];
    for (size_t i = 0; i < sizeof h / 2; i++) {
        data[2 * i] = (unsigned char)h[i];
        data[2 * i + 1] = (unsigned char)(h[i] >> 8);
    }
    StFile f;
    load_ok("{\"h\":{\"dtype\":\"F16\",\"shape\":[12],\"data_offsets\":[0,24]}}", data, sizeof data, &f);
    assert_int_equal(f.n, 1);
    for (int i = 0; i < 12; i++) {
        if (isnan(want[i])) {
            assert_true(isnan(f.t[0].data[i]));
            continue;
        }
        if (f.t[0].data[i] != want[i] || signbit(f.t[0].data[i]) != signbit(want[i]))
            fail_msg("f16 %04x -> %a, want %a", h[i], f.t[0].data[i], want[i]);
    }
    assert_true(f.t[0].data[9] == 0.333251953125f);
    st_free(&f);
}

static void test_bf16_f64_and_alignment(void **state)
{
    /* BF16 (10 values, 20 bytes), then F32 at an offset that is not 4-aligned in the
     * file (8 + header + 20 + 2), then F64. */
    static const uint16_t h[] = {0x3f80, 0xc020, 0x477f, 0x7f80, 0xff80, 0x0001, 0x7f7f, 0x8000, 0x3eab, 0x7fc0};
    const float want[] = {1.0f, -2.5f, 65280.0f, INFINITY, -INFINITY, 0x1p-133f, 0x1.fep127f,
                          -0.0f, 0.333984375f, NAN};
    unsigned char data[20 + 2 + 8 + 24];
    memset(data, 0, sizeof data);
    for (int i = 0; i < 10; i++) {
        data[2 * i] = (unsigned char)h[i];
        data[2 * i + 1] = (unsigned char)(h[i] >> 8);
    }
    data[20] = 0x00;   /* F16 1-element filler: 2.0 = 0x4000 */
    data[21] = 0x40;
    float f32[2] = {3.25f, -1e-40f};
    memcpy(data + 22, f32, 8);                /* the host is little-endian (x86-64, arm64) */
    double f64[3] = {0.1, 1e300, -1e-50};
    memcpy(data + 30, f64, 24);
    StFile f;
    load_ok("{\"__metadata__\":{\"format\":\"pt\",\"nested\":[1,{\"x\":null}],"
            "\"nums\":[0,-0,-1.5e+3,2E-2,0.25,1e400],\"b\":[true,false],\"s\":\"\\\"\\b\\f\\r\"},"
            "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,5],\"data_offsets\":[0,20]},"
            "\"pad\":{\"shape\":[],\"dtype\":\"F16\",\"data_offsets\":[20,22]},"
            "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[22,30]},"
            "\"d\":{\"dtype\":\"F64\",\"shape\":[3,1],\"data_offsets\":[30,54]}}    ",
            data, sizeof data, &f);
    assert_int_equal(f.n, 4);
    assert_string_equal(f.t[0].name, "b");
    assert_int_equal(f.t[0].shape.rank, 2);
    assert_int_equal(f.t[0].shape.d[1], 5);
    for (int i = 0; i < 10; i++) {
        if (isnan(want[i])) {
            assert_true(isnan(f.t[0].data[i]));
            continue;
        }
        if (f.t[0].data[i] != want[i] || signbit(f.t[0].data[i]) != signbit(want[i]))
            fail_msg("bf16 %04x -> %a, want %a", h[i], f.t[0].data[i], want[i]);
    }
    assert_string_equal(f.t[1].name, "pad");
    assert_int_equal(f.t[1].shape.rank, 0);
    assert_true(f.t[1].data[0] == 2.0f);
    assert_true(f.t[2].data[0] == 3.25f && f.t[2].data[1] == -1e-40f);
    assert_true(f.t[3].data[0] == (float)0.1);
    assert_true(isinf(f.t[3].data[1]) && f.t[3].data[1] > 0);
    assert_true(f.t[3].data[2] == 0.0f && signbit(f.t[3].data[2]));
    st_free(&f);
}

static void test_json_strings(void **state)
{
    /* escapes, \u with a surrogate pair, raw UTF-8 in names; an empty tensor at the end */
    StFile f;
    load_ok("{\"caf\\u00e9\\/\\t\\ud83d\\ude00\": {\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
            " \"\xc3\xa9t\xc3\xa9\" : {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]} }",
            "\x00\x00\x80\xbf", 4, &f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.t[0].name, "caf\xc3\xa9/\t\xf0\x9f\x98\x80");
    assert_string_equal(f.t[1].name, "\xc3\xa9t\xc3\xa9");
    assert_true(f.t[1].data[0] == -1.0f);
    st_free(&f);
    load_ok("{}", NULL, 0, &f);
    assert_int_equal(f.n, 0);
    st_free(&f);
}

/* ---- hostile files ---- */

static void test_header_length(void **state)
{
    Cap c;
    cap_init(&c);
    StFile f;
    unsigned char b[16] = {0};
    assert_int_not_equal(st_read_mem("x.st", b, 5, &f, &c.d), 0);
    assert_contains(cap_text(&c), "x.st: error: file too short for a safetensors header (5 bytes)");
    b[1] = 0x03;   /* 768 */
    assert_int_not_equal(st_read_mem("x.st", b, 16, &f, &c.d), 0);
    assert_contains(cap_text(&c), "x.st: error: safetensors header length 768 exceeds the file size (16 bytes)");
    memset(b, 0xff, 8);
    assert_int_not_equal(st_read_mem("x.st", b, 16, &f, &c.d), 0);
    assert_contains(cap_text(&c), "x.st: error: safetensors header length 18446744073709551615 exceeds the 100 MB limit");
    memset(b, 0, 8);
    b[3] = 0x06;   /* 100 MB + 1 */
    b[0] = 0x01;
    b[2] = 0x40;
    assert_int_not_equal(st_read_mem("x.st", b, 16, &f, &c.d), 0);
    assert_contains(cap_text(&c), "x.st: error: safetensors header length 104857601 exceeds the 100 MB limit");
    assert_int_equal(c.d.n_errors, 4);
    cap_free(&c);
}

static void test_bad_json(void **state)
{
    expect_error("hello", "invalid JSON header at byte 0: expected a JSON value");
    expect_error("", "invalid JSON header at byte 0: unexpected end of JSON");
    expect_error("{\"a\": {\"dtype\": \"F32\"", "invalid JSON header at byte 21: unexpected end of JSON");
    expect_error("{\"a\": {\"dtype\": \"F32", "invalid JSON header at byte 16: unterminated string");
    expect_error("{\"a\" {}}", "invalid JSON header at byte 5: expected ':'");
    expect_error("{a: 1}", "invalid JSON header at byte 1: expected a string key");
    expect_error("{\"a\": [1,]}", "invalid JSON header at byte 9: expected a JSON value");
    expect_error("{\"a\": [01]}", "invalid JSON header at byte 8: expected ',' or ']'");
    expect_error("{\"a\": 1.}", "invalid JSON header at byte 8: invalid number: digits expected after '.'");
    expect_error("{\"a\": 1e}", "invalid JSON header at byte 8: invalid number: digits expected in the exponent");
    expect_error("{\"a\": tru}", "invalid JSON header at byte 6: expected a JSON value");
    expect_error("{\"a\": \"\\x\"}", "invalid JSON header at byte 8: invalid escape in a string");
    expect_error("{\"a\": \"\\u12g4\"}", "invalid JSON header at byte 9: invalid \\u escape");
    expect_error("{\"a\": \"\\ud800x\"}", "invalid JSON header at byte 13: unpaired surrogate in \\u escape");
    expect_error("{\"a\": \"\\udc00\"}", "invalid JSON header at byte 13: unpaired surrogate in \\u escape");
    expect_error("{\"a\": \"x\ny\"}", "invalid JSON header at byte 8: control character in a string");
    expect_error("{\"a\": \"\xc3\x28\"}", "invalid JSON header at byte 7: invalid UTF-8 in a string");
    expect_error("{\"a\": \"\xed\xa0\x80\"}", "invalid JSON header at byte 7: invalid UTF-8 in a string");
    expect_error("{\"a\": \"\xc0\xaf\"}", "invalid JSON header at byte 7: invalid UTF-8 in a string");
    expect_error("{} {}", "invalid JSON header at byte 3: unexpected text after the JSON value");
    expect_error("{\"a\":1 \"b\":2}", "invalid JSON header at byte 7: expected ',' or '}'");
    expect_error("[]", "the JSON header is not an object");
    expect_error("\"str\"", "the JSON header is not an object");
}

static void test_depth_bomb(void **state)
{
    size_t n = 200000;
    char *j = malloc(n + 8);
    strcpy(j, "{\"a\":");
    memset(j + 5, '[', n);
    j[n + 5] = 0;
    expect_error(j, "invalid JSON header at byte 68: nesting too deep");
    /* 63 levels below the root are fine as JSON (rejected later as a tensor entry) */
    strcpy(j, "{\"a\":");
    memset(j + 5, '[', 63);
    memset(j + 68, ']', 63);
    strcpy(j + 131, "}");
    expect_error(j, "tensor 'a': expected an object with \"dtype\", \"shape\" and \"data_offsets\"");
    free(j);
}

static void test_bad_entries(void **state)
{
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}",
                 "tensor 'x': data_offsets [0, 100] exceed the data section (64 bytes)");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[65,65]}}",
                 "tensor 'x': data_offsets [65, 65] exceed the data section (64 bytes)");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,18446744073709551616]}}",
                 "tensor 'x': \"data_offsets\" must be [begin, end] with non-negative integers");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
                 "tensor 'x': data_offsets [8, 4] end before they begin");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
                 "tensor 'x': \"data_offsets\" must be [begin, end] with non-negative integers");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
                 "tensor 'x': \"data_offsets\" must be [begin, end] with non-negative integers");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}",
                 "tensor 'x': \"data_offsets\" must be [begin, end] with non-negative integers");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                 "tensors 'a' [0, 16] and 'b' [8, 24] overlap");
    /* a long tensor covering a later short one, listed in the other order */
    expect_error("{\"s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[40,44]},"
                 "\"m\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
                 "\"l\":{\"dtype\":\"F32\",\"shape\":[12],\"data_offsets\":[0,48]}}",
                 "tensors 'l' [0, 48] and 'm' [16, 24] overlap");
    /* an empty tensor between two overlapping ones does not hide the overlap */
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                 "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                 "tensors 'a' [0, 16] and 'b' [12, 20] overlap");
    expect_error("{\"x\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                 "tensor 'x': unsupported dtype C64 (F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL are)");
    expect_error("{\"x\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[0,2]}}",
                 "tensor 'x': unsupported dtype U16 (F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL are)");
    expect_error("{\"x\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                 "tensor 'x': unsupported dtype f32 (F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL are)");
    expect_error("{\"x\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
                 "tensor 'x': \"dtype\" must be a string");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
                 "tensor 'x': F32 shape with 6 elements needs 24 bytes, but data_offsets [0, 20] hold 20");
    expect_error("{\"x\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                 "tensor 'x': BF16 shape with 6 elements needs 12 bytes, but data_offsets [0, 24] hold 24");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}",
                 "tensor 'x': shape too large (the byte count overflows)");
    expect_error("{\"x\":{\"dtype\":\"F64\",\"shape\":[1152921504606846976,8],\"data_offsets\":[0,16]}}",
                 "tensor 'x': shape too large (the byte count overflows)");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}",
                 "tensor 'x': shape too large (the byte count overflows)");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}",
                 "tensor 'x': \"shape\" must hold non-negative integers");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                 "tensor 'x': \"shape\" must hold non-negative integers");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}",
                 "tensor 'x': \"shape\" must hold non-negative integers");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}",
                 "tensor 'x': \"shape\" must be a list");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
                 "tensor 'x': rank 9 exceeds the maximum of 8");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                 "duplicate tensor 'a'");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", "tensor 'x': missing field 'data_offsets'");
    expect_error("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'x': missing field 'dtype'");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}",
                 "tensor 'x': unknown field 'extra'");
    expect_error("{\"x\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                 "tensor 'x': duplicate field 'dtype'");
    expect_error("{\"x\":[1,2]}",
                 "tensor 'x': expected an object with \"dtype\", \"shape\" and \"data_offsets\"");
    expect_error("{\"x\\u0000y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                 "tensor 'x\\x00y': the name contains a NUL character");
    expect_error("{\"line\\nbreak\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                 "tensor 'line\\x0abreak': unsupported dtype F8_E4M3 (F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL are)");
    /* offsets relative to the data section: 64 bytes of data, one past it */
    expect_error_n("{\"x\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[4,68]}}", 64,
                   "tensor 'x': data_offsets [4, 68] exceed the data section (64 bytes)");
}

/* Random byte corruptions of a valid file: either a clean load or exactly the errors
 * reported; never a crash or an over-read (ASan). */
static void test_mutations(void **state)
{
    StTensor t[3];
    float v[32];
    for (int i = 0; i < 32; i++) v[i] = (float)i;
    t[0] = (StTensor){"conv.weight", {4, {2, 1, 2, 2}}, v, ST_F32, false};
    t[1] = (StTensor){"conv.bias", {1, {2}}, v + 8, ST_F32, false};
    t[2] = (StTensor){"bn.running_var", {4, {1, 2, 1, 1}}, v + 10, ST_F32, false};
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(st_write(p, t, 3, &c.d), 0);
    size_t len;
    unsigned char *orig = slurp(p, &len);
    unlink(p);
    uint64_t x = 0x9e3779b97f4a7c15u;
    int ok = 0;
    for (int it = 0; it < 4000; it++) {
        size_t n = len;
        unsigned char *b = memdup(orig, len);
        int flips = 1 + it % 3;
        for (int k = 0; k < flips; k++) {
            xorshift64(&x);
            size_t pos = it % 2 ? (size_t)(x % len) : 8 + (size_t)(x % 180);   /* favour the header */
            b[pos] = (unsigned char)(x >> 32);
        }
        if (it % 7 == 0) n = (size_t)(x >> 40) % len;   /* truncation */
        StFile f;
        int errs = c.d.n_errors;
        int rc = st_read_mem("fuzz", b, n, &f, &c.d);
        assert_true((rc == 0) == (c.d.n_errors == errs));
        if (rc == 0) {
            ok++;
            for (int i = 0; i < f.n; i++) assert_true(f.t[i].shape.rank <= BCL_MAX_RANK);
            st_free(&f);
        } else {
            assert_int_equal(f.n, 0);
        }
        free(b);
    }
    assert_true(ok > 0 && ok < 4000);   /* some corruptions land in float data and load */
    free(orig);
    cap_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_int_dtypes),
        cmocka_unit_test(test_mapped),
        cmocka_unit_test(test_threaded_fill),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16_f64_and_alignment),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_depth_bomb),
        cmocka_unit_test(test_bad_entries),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
