/* .npz archives: numpy's np.savez / np.savez_compressed files (tests/unit/data/io,
 * see gen_npy_fixtures.py), DEFLATE against zlib's streams, hostile archives, and
 * bcl_read_weights picking the format by content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/inflate.h"
#include "io/npy.h"
#include "io/weights.h"
#include "io/zip.h"
#include "tests/unit/test_support.h"

#define FIX "tests/unit/data/io/"

/* ---- DEFLATE ---- */

static void test_inflate_zlib_streams(void **state)
{
    unsigned char out[64];
    /* zlib level 0: one stored block */
    static const unsigned char st[] = "\x01\x0d\x00\xf2\xff\x68\x65\x6c\x6c\x6f\x2c\x20\x73\x74\x6f\x72\x65\x64";
    assert_null(bcl_inflate(st, sizeof st - 1, out, 13));
    assert_memory_equal(out, "hello, stored", 13);
    /* zlib level 9 on short text: fixed Huffman codes with back-references */
    static const unsigned char fx[] = "\x4b\x4c\x4a\x4e\x44\x45\x0a\x19\xa9\x39\x39\xf9\xc8\x24\x00";
    assert_null(bcl_inflate(fx, sizeof fx - 1, out, 36));
    assert_memory_equal(out, "abcabcabcabcabcabc hello hello hello", 36);
    /* a sequence with long overlapping matches (fixed codes, distance 1..7) */
    static const unsigned char rep[] = "\x73\x74\x72\x75\x76\x76\x75\x72\x1c\xa5\x08\x53\x00";
    unsigned char big[300];
    assert_null(bcl_inflate(rep, sizeof rep - 1, big, 300));
    for (int i = 0; i < 300; i++) assert_int_equal(big[i], (i * i) % 7 + 65);

    /* wrong declared sizes */
    assert_string_equal(bcl_inflate(fx, sizeof fx - 1, out, 35), "more data than declared");
    assert_string_equal(bcl_inflate(fx, sizeof fx - 1, out, 37), "less data than declared");
    assert_string_equal(bcl_inflate(st, sizeof st - 1, out, 12), "more data than declared");
    /* corrupt streams */
    assert_string_equal(bcl_inflate(fx, 7, out, 36), "compressed data ends early");
    assert_string_equal(bcl_inflate((const unsigned char *)"\x07", 1, out, 1), "invalid block type");
    assert_string_equal(bcl_inflate((const unsigned char *)"\x01\x0d\x00\xf3\xff", 5, out, 13),
                        "invalid stored block lengths");
    assert_string_equal(bcl_inflate(st, 10, out, 13), "compressed data ends early");
    /* fixed block whose first symbol copies from distance 1: nothing to copy from */
    assert_string_equal(bcl_inflate((const unsigned char *)"\x03\x02\x00", 3, out, 3),
                        "invalid distance too far back");
    assert_string_equal(bcl_inflate((const unsigned char *)"", 0, out, 0), "compressed data ends early");
}

/* ---- numpy's archives ---- */

static void test_savez(void **state)
{
    const char *files[] = {FIX "savez.npz", FIX "savez_compressed.npz"};
    for (int k = 0; k < 2; k++) {
        Cap c;
        cap_init(&c);
        StFile f;
        if (npz_read(files[k], &f, &c.d) != 0) fail_msg("%s", cap_text(&c));
        assert_int_equal(f.n, k ? 5 : 3);
        assert_string_equal(f.t[0].name, "features.0.weight");
        assert_int_equal(f.t[0].shape.rank, 2);
        assert_int_equal(f.t[0].shape.d[0], 2);
        assert_int_equal(f.t[0].shape.d[1], 3);
        for (int i = 0; i < 6; i++) assert_true(f.t[0].data[i] == (float)i - 2.5f);
        assert_string_equal(f.t[1].name, "features.0.bias");
        assert_true(f.t[1].data[0] == 0.5f && f.t[1].data[1] == -1.0f);
        assert_string_equal(f.t[2].name, "bn.num_batches_tracked");
        assert_int_equal(f.t[2].shape.rank, 0);
        assert_true(f.t[2].data[0] == 7.0f);
        if (k) {
            assert_string_equal(f.t[3].name, "fc.weight");
            assert_int_equal(f.t[3].shape.d[0], 1000);
            for (int i = 0; i < 1000; i++) assert_true(f.t[3].data[i] == (float)(i % 17) * 0.25f);
            assert_true(f.t[4].data[0] == 1.0f && f.t[4].data[2] == 3.0f);   /* float16 */
        }
        st_free(&f);
        assert_int_equal(c.d.n_errors, 0);
        cap_free(&c);
    }
    Cap c;
    cap_init(&c);
    StFile f;
    assert_int_equal(npz_read(FIX "empty.npz", &f, &c.d), 0);
    assert_int_equal(f.n, 0);
    st_free(&f);
    assert_int_not_equal(npz_read(FIX "bad_complex.npz", &f, &c.d), 0);
    assert_int_equal(f.n, 0);
    assert_string_equal(cap_text(&c), FIX "bad_complex.npz[z.npy]: error: unsupported dtype '<c8': "
                        "only little-endian float, integer and bool dtypes are supported\n");
    cap_free(&c);
}

static void test_read_weights_by_content(void **state)
{
    Cap c;
    cap_init(&c);
    StFile f;
    assert_int_equal(bcl_read_weights(FIX "savez_compressed.npz", &f, &c.d), 0);
    assert_int_equal(f.n, 5);
    st_free(&f);
    /* safetensors, written here */
    float v[2] = {1, 2};
    StTensor t = {"w", {1, {2}}, v, ST_F32, false};
    char *p = tmp_path();
    assert_int_equal(st_write(p, &t, 1, &c.d), 0);
    assert_int_equal(bcl_read_weights(p, &f, &c.d), 0);
    assert_int_equal(f.n, 1);
    assert_true(f.t[0].data[1] == 2.0f);
    st_free(&f);
    unlink(p);
    assert_int_equal(c.d.n_errors, 0);

    /* torch.save({"w": torch.ones(2)}) in both formats: read by the restricted unpickler */
    assert_int_equal(bcl_read_weights(FIX "torch_zip.pth", &f, &c.d), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.t[0].name, "w");
    assert_true(f.t[0].shape.rank == 1 && f.t[0].shape.d[0] == 2 && f.t[0].data[0] == 1.0f && f.t[0].data[1] == 1.0f);
    st_free(&f);
    assert_int_equal(bcl_read_weights(FIX "torch_legacy.pth", &f, &c.d), 0);
    assert_int_equal(f.n, 1);
    assert_true(f.t[0].shape.rank == 1 && f.t[0].shape.d[0] == 2 && f.t[0].data[0] == 1.0f && f.t[0].data[1] == 1.0f);
    st_free(&f);
    assert_int_equal(c.d.n_errors, 0);
    assert_int_not_equal(bcl_read_weights(FIX "f4.npy", &f, &c.d), 0);   /* neither: read as safetensors */
    assert_true(strstr(cap_text(&c), FIX "f4.npy: error: safetensors header length") != NULL);
    assert_int_not_equal(bcl_read_weights(FIX "missing.safetensors", &f, &c.d), 0);
    assert_true(strstr(cap_text(&c), "missing.safetensors: error: cannot open") != NULL);
    cap_free(&c);
}

/* ---- hostile archives, made by editing numpy's savez.npz ---- */

static uint32_t rd32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void wr32(unsigned char *p, uint32_t v) { wr16(p, v & 0xffff); wr16(p + 2, v >> 16); }

typedef struct Zip {
    unsigned char *b;
    size_t len;
    size_t eocd, cd[3];   /* offsets of the end record and of the central entries */
} Zip;

static Zip load_savez(void)
{
    Zip z;
    z.b = slurp(FIX "savez.npz", &z.len);
    z.eocd = z.len - 22;
    assert_int_equal(rd32(z.b + z.eocd), 0x06054b50);
    size_t p = rd32(z.b + z.eocd + 16);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rd32(z.b + p), 0x02014b50);
        z.cd[i] = p;
        p += 46 + (z.b[p + 28] | z.b[p + 29] << 8) + (z.b[p + 30] | z.b[p + 31] << 8) +
             (z.b[p + 32] | z.b[p + 33] << 8);
    }
    return z;
}

/* Expects exactly one diagnostic, the line want. */
static void expect_npz_text(const Zip *z, size_t len, const char *want)
{
    Cap c;
    cap_init(&c);
    unsigned char *copy = malloc(len ? len : 1);   /* exact size: ASan sees over-reads */
    memcpy(copy, z->b, len);
    StFile f = {.n = 5};
    assert_int_not_equal(npz_read_mem("w.npz", copy, len, &f, &c.d), 0);
    assert_int_equal(f.n, 0);
    assert_null(f.t);
    assert_int_equal(c.d.n_errors, 1);
    if (strcmp(cap_text(&c), want) != 0) fail_msg("want: %sgot:  %s", want, cap_text(&c));
    free(copy);
    cap_free(&c);
}

static void expect_npz_error(const Zip *z, size_t len, const char *msg)
{
    char want[512];
    snprintf(want, sizeof want, "w.npz: error: %s\n", msg);
    expect_npz_text(z, len, want);
}

static void test_hostile_archives(void **state)
{
    Zip z = load_savez();
    expect_npz_error(&z, z.len - 1, "not a zip archive (no end of central directory record)");
    expect_npz_error(&z, 10, "not a zip archive (no end of central directory record)");

    Zip m = load_savez();
    m.b[120] ^= 0x40;   /* a data byte of the first entry */
    expect_npz_error(&m, m.len, "entry 'features.0.weight.npy': CRC-32 mismatch (the archive is corrupt)");
    free(m.b);

    m = load_savez();
    wr16(m.b + m.cd[1] + 8, 1);   /* encrypted */
    expect_npz_error(&m, m.len, "zip entry 'features.0.bias.npy': encrypted entries are not supported");
    free(m.b);

    m = load_savez();
    wr16(m.b + m.cd[0] + 10, 12);   /* bzip2 */
    expect_npz_error(&m, m.len, "entry 'features.0.weight.npy': unsupported compression method 12 "
                     "(only stored and deflate)");
    free(m.b);

    m = load_savez();
    wr32(m.b + m.eocd + 16, (uint32_t)m.len);   /* central directory offset */
    expect_npz_error(&m, m.len, "corrupt zip archive: central directory outside the file");
    free(m.b);

    m = load_savez();
    wr16(m.b + m.eocd + 10, 200);   /* more entries than the directory can hold */
    expect_npz_error(&m, m.len, "corrupt zip archive: central directory outside the file");
    free(m.b);

    m = load_savez();
    wr32(m.b + m.cd[2] + 42, (uint32_t)m.len - 10);   /* local header offset */
    expect_npz_error(&m, m.len, "zip entry 'bn.num_batches_tracked.npy': bad local header offset");
    free(m.b);

    m = load_savez();
    wr32(m.b + m.cd[0] + 20, 0x7fffffff);   /* compressed size */
    expect_npz_error(&m, m.len, "zip entry 'features.0.weight.npy': entry data outside the file");
    free(m.b);

    m = load_savez();
    wr32(m.b + m.cd[0] + 20, 0xffffffff);   /* ZIP64 marker without the extra field */
    expect_npz_error(&m, m.len, "zip entry 'features.0.weight.npy': bad ZIP64 extra field");
    free(m.b);

    m = load_savez();
    wr32(m.b + m.cd[0] + 24, 100);   /* stored, but sizes differ */
    expect_npz_error(&m, m.len, "entry 'features.0.weight.npy': declared size 100 is impossible for "
                     "152 compressed bytes");
    free(m.b);

    m = load_savez();
    memcpy(m.b + m.cd[1] + 46 + 16, "txt", 3);   /* features.0.bias.npy -> .txt */
    expect_npz_error(&m, m.len, "entry 'features.0.bias.txt' is not a .npy file");
    free(m.b);

    m = load_savez();
    m.b[m.cd[1] + 46 + 3] = 0;
    expect_npz_error(&m, m.len, "zip entry 'fea': the name contains a NUL byte");
    free(m.b);

    free(z.b);
}

/* The same archive behind a ZIP64 end of central directory (as zip writers emit for
 * more than 65535 entries or offsets past 4 GiB). */
static void test_zip64_end_record(void **state)
{
    Zip z = load_savez();
    size_t cd_off = rd32(z.b + z.eocd + 16), cd_size = rd32(z.b + z.eocd + 12);
    size_t len = z.eocd + 56 + 20 + 22;
    unsigned char *b = calloc(1, len);
    memcpy(b, z.b, z.eocd);
    unsigned char *r = b + z.eocd;              /* ZIP64 end record */
    wr32(r, 0x06064b50);
    r[4] = 44;                                   /* record size after this field */
    wr16(r + 12, 45);
    wr16(r + 14, 45);
    r[24] = 3;                                   /* entries on this disk */
    r[32] = 3;                                   /* entries */
    wr32(r + 40, (uint32_t)cd_size);
    wr32(r + 48, (uint32_t)cd_off);
    unsigned char *loc = r + 56;                 /* locator */
    wr32(loc, 0x07064b50);
    wr32(loc + 8, (uint32_t)z.eocd);
    wr32(loc + 16, 1);
    unsigned char *e = loc + 20;                 /* classic end record, fields saturated */
    wr32(e, 0x06054b50);
    wr16(e + 8, 0xffff);
    wr16(e + 10, 0xffff);
    wr32(e + 12, 0xffffffff);
    wr32(e + 16, 0xffffffff);
    Cap c;
    cap_init(&c);
    StFile f;
    if (npz_read_mem("z64.npz", b, len, &f, &c.d) != 0) fail_msg("%s", cap_text(&c));
    assert_int_equal(f.n, 3);
    assert_string_equal(f.t[2].name, "bn.num_batches_tracked");
    st_free(&f);
    /* a locator pointing nowhere */
    wr32(loc + 8, 5);
    assert_int_not_equal(npz_read_mem("z64.npz", b, len, &f, &c.d), 0);
    assert_string_equal(cap_text(&c), "z64.npz: error: corrupt zip archive: missing ZIP64 end of central directory\n");
    cap_free(&c);
    free(b);
    free(z.b);
}

/* A stored zip archive of the given entries, written here from APPNOTE.TXT. */
static unsigned char *make_zip(const char *const *names, const char *const *data, int n, size_t *len)
{
    unsigned char *b = calloc(1, 4096), *p = b;
    size_t offs[8];
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), dl = strlen(data[i]);
        offs[i] = (size_t)(p - b);
        wr32(p, 0x04034b50);
        wr16(p + 4, 20);
        wr32(p + 14, bcl_crc32((const unsigned char *)data[i], dl));
        wr32(p + 18, (uint32_t)dl);
        wr32(p + 22, (uint32_t)dl);
        wr16(p + 26, (unsigned)nl);
        memcpy(p + 30, names[i], nl);
        memcpy(p + 30 + nl, data[i], dl);
        p += 30 + nl + dl;
    }
    unsigned char *cd = p;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), dl = strlen(data[i]);
        wr32(p, 0x02014b50);
        wr16(p + 4, 20);
        wr16(p + 6, 20);
        wr32(p + 16, bcl_crc32((const unsigned char *)data[i], dl));
        wr32(p + 20, (uint32_t)dl);
        wr32(p + 24, (uint32_t)dl);
        wr16(p + 28, (unsigned)nl);
        wr32(p + 42, (uint32_t)offs[i]);
        memcpy(p + 46, names[i], nl);
        p += 46 + nl;
    }
    wr32(p, 0x06054b50);
    wr16(p + 8, (unsigned)n);
    wr16(p + 10, (unsigned)n);
    wr32(p + 12, (uint32_t)(p - cd));
    wr32(p + 16, (uint32_t)(cd - b));
    p += 22;
    *len = (size_t)(p - b);
    return b;
}

static void test_made_archives(void **state)
{
    Zip m;
    const char *names[2] = {"a.npy", "a.npy"}, *data[2] = {"x", "y"};
    m.b = make_zip(names, data, 2, &m.len);
    expect_npz_error(&m, m.len, "duplicate entry 'a.npy'");
    free(m.b);
    names[1] = "archive/data.pkl";
    m.b = make_zip(names, data, 2, &m.len);
    expect_npz_error(&m, m.len, "this is a PyTorch checkpoint (a zip with 'archive/data.pkl'), which is not "
                     "supported; save the state dict as .safetensors or .npz");
    free(m.b);
    names[1] = "npy";
    m.b = make_zip(names, data, 2, &m.len);
    expect_npz_error(&m, m.len, "entry 'npy' is not a .npy file");
    free(m.b);
    /* the entry is fine as zip, broken as .npy: the error names both */
    names[1] = "b.npy";
    m.b = make_zip(names, data, 2, &m.len);
    expect_npz_text(&m, m.len, "w.npz[a.npy]: error: not a .npy file (bad magic)\n");
    free(m.b);
}

static void test_mutations(void **state)
{
    const char *files[] = {FIX "savez.npz", FIX "savez_compressed.npz"};
    uint64_t x = 0x853c49e6748fea9bu;
    int ok = 0, bad = 0;
    Cap c;
    cap_init(&c);
    for (int k = 0; k < 2; k++) {
        size_t len;
        unsigned char *orig = slurp(files[k], &len);
        for (int it = 0; it < 3000; it++) {
            unsigned char *b = memdup(orig, len);
            size_t n = len;
            for (int j = 0; j <= it % 4; j++) {
                xorshift64(&x);
                size_t pos = it % 3 == 0 ? len - 1 - (size_t)(x % 200) : (size_t)(x % len);
                b[pos] = (unsigned char)(x >> 24);
            }
            if (it % 11 == 0) n = (size_t)(x >> 35) % len;
            StFile f;
            int errs = c.d.n_errors;
            int rc = npz_read_mem("fuzz.npz", b, n, &f, &c.d);
            assert_true((rc == 0) == (c.d.n_errors == errs));
            if (rc == 0) {
                ok++;
                st_free(&f);
            } else {
                bad++;
                assert_int_equal(f.n, 0);
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
        cmocka_unit_test(test_inflate_zlib_streams),
        cmocka_unit_test(test_savez),
        cmocka_unit_test(test_read_weights_by_content),
        cmocka_unit_test(test_hostile_archives),
        cmocka_unit_test(test_zip64_end_record),
        cmocka_unit_test(test_made_archives),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
