/* .npy reader/writer: files written by numpy 1.24 (tests/unit/data/io, regenerate with
 * gen_npy_fixtures.py), byte-exact output against numpy, and every malformed variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/npy.h"
#include "tests/unit/test_support.h"

#define FIX "tests/unit/data/io/"

/* ---- reading numpy's files ---- */

static void check_fixture(const char *file, const float *want, int n, int rank, const int64_t *dims)
{
    Cap c;
    cap_init(&c);
    Shape s;
    float *data;
    char path[256];
    snprintf(path, sizeof path, FIX "%s", file);
    if (npy_read(path, &s, &data, &c.d) != 0) fail_msg("%s: %s", file, cap_text(&c));
    assert_int_equal(c.d.n_errors, 0);
    assert_int_equal(s.rank, rank);
    for (int i = 0; i < rank; i++) assert_int_equal(s.d[i], dims[i]);
    assert_non_null(data);
    for (int i = 0; i < n; i++)
        if (data[i] != want[i]) fail_msg("%s[%d] = %g, want %g", file, i, data[i], want[i]);
    free(data);
    cap_free(&c);
}

static void test_numpy_dtypes(void **state)
{
    static const float sgn[6] = {0, 1, -2, 3, 100, -7}, uns[6] = {0, 1, 2, 3, 200, 7};
    static const int64_t d23[2] = {2, 3};
    const char *signed_files[] = {"f2.npy", "f4.npy", "f8.npy", "i1.npy", "i2.npy", "i4.npy", "i8.npy"};
    for (size_t i = 0; i < sizeof signed_files / sizeof *signed_files; i++)
        check_fixture(signed_files[i], sgn, 6, 2, d23);
    const char *unsigned_files[] = {"u1.npy", "u2.npy", "u4.npy", "u8.npy"};
    for (size_t i = 0; i < sizeof unsigned_files / sizeof *unsigned_files; i++)
        check_fixture(unsigned_files[i], uns, 6, 2, d23);
    static const float b[3] = {1, 0, 1};
    check_fixture("b1.npy", b, 3, 1, (const int64_t[]){3});
}

static void test_numpy_shapes_and_versions(void **state)
{
    check_fixture("f4_scalar.npy", (const float[]){2.5f}, 1, 0, NULL);
    float r4[24];
    for (int i = 0; i < 24; i++) r4[i] = (float)i * 0.5f;
    check_fixture("f4_rank4.npy", r4, 24, 4, (const int64_t[]){1, 2, 3, 4});
    check_fixture("f4_empty.npy", NULL, 0, 2, (const int64_t[]){0, 3});
    check_fixture("f4_v2.npy", (const float[]){1.5f, -0.25f}, 2, 1, (const int64_t[]){2});
    check_fixture("f4_v3.npy", (const float[]){1.5f, -0.25f}, 2, 1, (const int64_t[]){2});
    /* float64 is rounded to nearest, like a C cast */
    check_fixture("f8_precise.npy", (const float[]){(float)0.1, (float)1e-3, (float)3.4e38}, 3, 1,
                  (const int64_t[]){3});
}

static void expect_file_error(const char *file, const char *msg)
{
    Cap c;
    cap_init(&c);
    Shape s;
    float *data = (float *)1;
    char path[256];
    snprintf(path, sizeof path, FIX "%s", file);
    assert_int_not_equal(npy_read(path, &s, &data, &c.d), 0);
    assert_null(data);
    assert_int_equal(c.d.n_errors, 1);
    char want[512];
    snprintf(want, sizeof want, "%s: error: ", path);
    assert_int_equal(strncmp(cap_text(&c), want, strlen(want)), 0);
    assert_contains(cap_text(&c), msg);
    cap_free(&c);
}

static void test_numpy_rejected(void **state)
{
    expect_file_error("bad_fortran.npy", "dtype '<f4' is in Fortran order");
    expect_file_error("bad_big_endian.npy", "unsupported dtype '>f4': big-endian");
    expect_file_error("bad_complex.npy", "unsupported dtype '<c8'");
    expect_file_error("bad_object.npy", "unsupported dtype '|O'");
    expect_file_error("bad_unicode.npy", "unsupported dtype '<U2'");
    expect_file_error("bad_structured.npy", "structured dtypes");
    expect_file_error("does_not_exist.npy", "cannot open: No such file or directory");
    Cap c;
    cap_init(&c);
    Shape s;
    float *data;
    assert_int_not_equal(npy_read("tests/unit/data/io", &s, &data, &c.d), 0);   /* a directory */
    assert_contains(cap_text(&c), "tests/unit/data/io: error: cannot read: not a regular file");
    cap_free(&c);
}

/* ---- writer ---- */

static void check_same_as_numpy(const Shape *s, const float *v, const char *ref)
{
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(npy_write(p, s, v, &c.d), 0);
    size_t n1, n2;
    unsigned char *a = slurp(p, &n1), *b = slurp(ref, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
    unlink(p);
    cap_free(&c);
}

static void test_write_matches_numpy(void **state)
{
    Shape s23 = {2, {2, 3}}, s0 = {0, {0}}, s1 = {1, {1}};
    check_same_as_numpy(&s23, (const float[]){1, -2, 3.5f, 0, 1e-8f, -1e30f}, FIX "ref_f32_2x3.npy");
    check_same_as_numpy(&s0, (const float[]){-4}, FIX "ref_f32_scalar.npy");
    check_same_as_numpy(&s1, (const float[]){7}, FIX "ref_f32_1d.npy");
}

static void roundtrip(const Shape *s, const float *v, int64_t n)
{
    Cap c;
    cap_init(&c);
    char *p = tmp_path();
    assert_int_equal(npy_write(p, s, v, &c.d), 0);
    size_t len;
    unsigned char *raw = slurp(p, &len);
    size_t hdr = raw[8] | (size_t)raw[9] << 8;
    assert_int_equal((10 + hdr) % 64, 0);
    assert_int_equal(raw[6], 1);
    assert_int_equal(raw[9 + hdr], '\n');
    assert_int_equal(len, 10 + hdr + (size_t)n * 4);
    free(raw);
    Shape got;
    float *data;
    assert_int_equal(npy_read(p, &got, &data, &c.d), 0);
    assert_int_equal(got.rank, s->rank);
    for (int i = 0; i < s->rank; i++) assert_int_equal(got.d[i], s->d[i]);
    if (n) assert_memory_equal(data, v, (size_t)n * 4);   /* bitwise: NaN, -0 and inf survive */
    free(data);
    unlink(p);
    assert_int_equal(c.d.n_errors, 0);
    cap_free(&c);
}

static void test_roundtrip(void **state)
{
    float v[64];
    for (int i = 0; i < 64; i++) v[i] = (float)i * 0.37f - 9.0f;
    v[1] = -0.0f;
    v[2] = 1.0f / 0.0f;
    v[3] = 0.0f / 0.0f;
    v[4] = 1e-45f;   /* subnormal */
    roundtrip(&(Shape){0, {0}}, v, 1);
    roundtrip(&(Shape){1, {64}}, v, 64);
    roundtrip(&(Shape){3, {2, 4, 8}}, v, 64);
    roundtrip(&(Shape){2, {0, 5}}, v, 0);
    roundtrip(&(Shape){8, {1, 2, 1, 2, 2, 1, 2, 4}}, v, 64);
}

static void test_write_errors(void **state)
{
    Cap c;
    cap_init(&c);
    float v[1] = {0};
    assert_int_not_equal(npy_write("/nonexistent_dir_bcl/x.npy", &(Shape){1, {1}}, v, &c.d), 0);
    assert_contains(cap_text(&c), "/nonexistent_dir_bcl/x.npy: error: cannot write: No such file or directory");
    assert_int_not_equal(npy_write("/tmp/bcl_never.npy", &(Shape){1, {-1}}, v, &c.d), 0);
    assert_contains(cap_text(&c), "invalid shape");
    assert_int_not_equal(npy_write("/tmp/bcl_never.npy", &(Shape){9, {1}}, v, &c.d), 0);
    assert_contains(cap_text(&c), "rank 9");
    assert_int_equal(access("/tmp/bcl_never.npy", F_OK), -1);
    cap_free(&c);
}

/* ---- malformed input in memory ---- */

/* A .npy image: version major.0, header text as given (no padding), then data. */
static unsigned char *make_npy(int major, const char *hdr, size_t data_len, size_t *len)
{
    size_t hl = strlen(hdr), pre = major == 1 ? 10 : 12;
    *len = pre + hl + data_len;
    unsigned char *b = calloc(1, *len + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[8] = (unsigned char)hl;
    b[9] = (unsigned char)(hl >> 8);
    memcpy(b + pre, hdr, hl);
    return b;
}

static void expect_mem_error(const unsigned char *b, size_t len, const char *msg)
{
    Cap c;
    cap_init(&c);
    Shape s;
    float *data = (float *)1;
    /* an exact-size heap copy so that ASan sees any over-read */
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, b, len);
    assert_int_not_equal(npy_read_mem("m.npy", copy, len, &s, &data, &c.d), 0);
    assert_null(data);
    assert_int_equal(c.d.n_errors, 1);
    assert_int_equal(strncmp(cap_text(&c), "m.npy: error: ", 14), 0);
    assert_contains(cap_text(&c), msg);
    free(copy);
    cap_free(&c);
}

static void expect_hdr_error(const char *hdr, size_t data_len, const char *msg)
{
    size_t len;
    unsigned char *b = make_npy(1, hdr, data_len, &len);
    expect_mem_error(b, len, msg);
    free(b);
}

static void test_bad_headers(void **state)
{
    expect_mem_error((const unsigned char *)"", 0, "not a .npy file (bad magic)");
    expect_mem_error((const unsigned char *)"\x93NUMPY\x01", 7, "not a .npy file");
    expect_mem_error((const unsigned char *)"PK\x03\x04 zip file..", 16, "not a .npy file (bad magic)");
    size_t len;
    unsigned char *b = make_npy(4, "{}", 0, &len);
    expect_mem_error(b, len, "unsupported .npy format version 4.0");
    free(b);
    /* version 2 needs a 4-byte length */
    expect_mem_error((const unsigned char *)"\x93NUMPY\x02\x00\x10\x00", 10, "truncated .npy header");
    /* announced header length past the end */
    b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 0, &len);
    expect_mem_error(b, len - 5, "truncated .npy header (57 bytes announced, 52 present)");
    free(b);

    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", 4,
                     "malformed .npy header at byte 65: expected ',' or '}'");
    expect_hdr_error("[1, 2]", 4, "expected '{'");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False}", 4, "missing key 'shape'");
    expect_hdr_error("{'fortran_order': False, 'shape': ()}", 4, "missing key 'descr'");
    expect_hdr_error("{'descr': '<f4', 'shape': ()}", 4, "missing key 'fortran_order'");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'foo': 1}", 4,
                     "unexpected key 'foo'");
    expect_hdr_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4,
                     "duplicate key");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", 4,
                     "'fortran_order' must be True or False");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}", 8,
                     "'shape' must hold integers");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", 8,
                     "'shape' must be a tuple");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", 24,
                     "expected ',' or ')' in 'shape'");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", 8,
                     "unterminated 'shape' tuple");
    expect_hdr_error("{'descr': '<f4, 'fortran_order': False, 'shape': ()}", 4,
                     "expected ',' or '}'");
    expect_hdr_error("{'descr' '<f4', 'fortran_order': False, 'shape': ()}", 4, "expected ':'");
    expect_hdr_error("{'descr': '<f4", 4, "unterminated string");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", 4,
                     "unexpected text after the dict");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': True, 'shape': ()}", 4, "Fortran order");
    expect_hdr_error("{'descr': '<i3', 'fortran_order': False, 'shape': ()}", 4, "unsupported dtype '<i3'");
    expect_hdr_error("{'descr': '>i8', 'fortran_order': False, 'shape': ()}", 8,
                     "unsupported dtype '>i8': big-endian");
    expect_hdr_error("{'descr': '|f4', 'fortran_order': False, 'shape': ()}", 4, "unsupported dtype '|f4'");
    expect_hdr_error("{'descr': '<f4\x01', 'fortran_order': False, 'shape': ()}", 4,
                     "unsupported dtype '<f4\\x01'");
}

static void test_bad_shapes(void **state)
{
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3)}", 12,
                     "negative dimension in 'shape'");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 12,
                     "dimension too large");
    /* each dim fits, the product does not */
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 12,
                     "shape too large: the element count overflows");
    /* the element count fits, the byte count does not */
    expect_hdr_error("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,)}", 12,
                     "shape too large");
    /* plausible but far more than the file holds */
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,)}", 12,
                     "truncated data: 1000000000 elements of '<f4' need 4000000000 bytes, the file has 12");
    expect_hdr_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}", 4,
                     "more than 8 dimensions");
    expect_hdr_error("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", 47,
                     "truncated data: 6 elements of '<f8' need 48 bytes, the file has 47");
    /* a numpy file cut short */
    size_t len;
    unsigned char *b = slurp(FIX "f4.npy", &len);
    expect_mem_error(b, len - 2, "truncated data: 6 elements of '<f4' need 24 bytes, the file has 22");
    expect_mem_error(b, 100, "truncated .npy header");
    free(b);
}

static void test_lenient_bits(void **state)
{
    /* Python 2's "3L" dims, double quotes, no trailing comma, extra bytes after the data */
    size_t len;
    unsigned char *b = make_npy(1, "{\"descr\": \"<i2\", \"shape\": (2L,), \"fortran_order\": False}\n", 6, &len);
    b[len - 6] = 0xff;
    b[len - 5] = 0xff;   /* -1 */
    b[len - 4] = 0x00;
    b[len - 3] = 0x80;   /* -32768 */
    Cap c;
    cap_init(&c);
    Shape s;
    float *data;
    assert_int_equal(npy_read_mem("m.npy", b, len, &s, &data, &c.d), 0);
    assert_int_equal(s.rank, 1);
    assert_int_equal(s.d[0], 2);
    assert_true(data[0] == -1.0f && data[1] == -32768.0f);
    free(data);
    free(b);
    cap_free(&c);
}

/* Random corruptions of numpy's files: a clean load or a reported error, never a
 * crash or an over-read (ASan). */
static void test_mutations(void **state)
{
    const char *files[] = {FIX "f4.npy", FIX "f4_v2.npy", FIX "i8.npy", FIX "f4_rank4.npy"};
    uint64_t x = 0x2545f4914f6cdd1du;
    int ok = 0, bad = 0;
    Cap c;
    cap_init(&c);
    for (int fi = 0; fi < 4; fi++) {
        size_t len;
        unsigned char *orig = slurp(files[fi], &len);
        for (int it = 0; it < 1500; it++) {
            unsigned char *b = memdup(orig, len);
            size_t n = len;
            for (int k = 0; k <= it % 3; k++) {
                xorshift64(&x);
                b[6 + (size_t)(x % 90)] = (unsigned char)(x >> 24);   /* version, length, dict */
            }
            if (it % 5 == 0) n = (size_t)(x >> 33) % len;
            Shape s;
            float *data;
            int errs = c.d.n_errors;
            int rc = npy_read_mem("fuzz.npy", b, n, &s, &data, &c.d);
            assert_true((rc == 0) == (c.d.n_errors == errs));
            if (rc == 0) {
                ok++;
                assert_true(s.rank >= 0 && s.rank <= BCL_MAX_RANK);
                free(data);
            } else {
                bad++;
                assert_null(data);
            }
            free(b);
        }
        free(orig);
    }
    assert_true(ok > 0 && bad > 0);
    cap_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_dtypes),
        cmocka_unit_test(test_numpy_shapes_and_versions),
        cmocka_unit_test(test_numpy_rejected),
        cmocka_unit_test(test_write_matches_numpy),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_lenient_bits),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
