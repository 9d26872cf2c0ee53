/* Zip archive reader (APPNOTE.TXT): everything is found through the central
 * directory, and every offset is checked before use. */
#include "io/zip.h"
#include "support/oom.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/inflate.h"
#include "io/io_util.h"

enum {
    SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_END = 0x06054b50,
    SIG_END64 = 0x06064b50, SIG_LOC64 = 0x07064b50,
};

/* zlib's CRC-32 (slice-by-N tables): 13x the bytewise loop bclc had. */
uint32_t bcl_crc32(const unsigned char *p, size_t n) { return (uint32_t)crc32_z(0, p, n); }

/* Locates the end of central directory record: the last signature whose record and
 * comment fit in the file (the comment is at most 65535 bytes). */
static const unsigned char *find_end(const unsigned char *buf, size_t len)
{
    if (len < 22) return NULL;
    size_t stop = len - 22 > 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > stop;) {
        const unsigned char *p = buf + i;
        if (io_le32(p) == SIG_END && (size_t)io_le16(p + 20) <= len - i - 22) return p;
    }
    return NULL;
}

/* The ZIP64 extended-information extra field replaces, in this order, those of
 * usize, csize and offset that are 0xffffffff in the fixed header. */
static int zip64_extra(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize, uint64_t *off)
{
    uint64_t *fields[3] = {usize, csize, off};
    while (xlen >= 4) {
        unsigned id = io_le16(x), sz = io_le16(x + 2);
        if (sz > xlen - 4) return -1;
        if (id == 1) {
            const unsigned char *q = x + 4;
            unsigned left = sz;
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffffu) continue;
                if (left < 8) return -1;
                *fields[i] = io_le64(q);
                q += 8;
                left -= 8;
            }
            return 0;
        }
        x += 4 + sz;
        xlen -= 4 + sz;
    }
    return (*usize == 0xffffffffu || *csize == 0xffffffffu || *off == 0xffffffffu) ? -1 : 0;
}

/* Parses the central directory entry at *pp into e and advances *pp; returns NULL or
 * why the entry is bad (e->name is set as soon as it is known). */
static const char *central_entry(const unsigned char *buf, size_t len, const unsigned char **pp,
                                 const unsigned char *cd_end, ZipEntry *e)
{
    const unsigned char *p = *pp;
    if (cd_end - p < 46 || io_le32(p) != SIG_CENTRAL) return "bad central directory entry";
    unsigned flags = io_le16(p + 8), nl = io_le16(p + 28), xl = io_le16(p + 30), cl = io_le16(p + 32);
    if ((size_t)(cd_end - p - 46) < (size_t)nl + xl + cl) return "central directory entry too long";
    e->name = bcl_malloc((size_t)nl + 1);
    if (!e->name) return "out of memory";
    memcpy(e->name, p + 46, nl);
    e->name[nl] = 0;
    if (memchr(p + 46, 0, nl)) return "the name contains a NUL byte";
    uint64_t usize = io_le32(p + 24), csize = io_le32(p + 20), off = io_le32(p + 42);
    if (zip64_extra(p + 46 + nl, xl, &usize, &csize, &off) != 0) return "bad ZIP64 extra field";
    if (flags & 1) return "encrypted entries are not supported";
    e->method = io_le16(p + 10);
    e->crc = io_le32(p + 16);
    e->csize = csize;
    e->usize = usize;
    /* the local header: only its name and extra lengths matter, the sizes come from here */
    if (off > len || len - off < 30 || io_le32(buf + off) != SIG_LOCAL) return "bad local header offset";
    uint64_t data = off + 30 + io_le16(buf + off + 26) + io_le16(buf + off + 28);
    if (data > len || csize > len - data) return "entry data outside the file";
    e->data = buf + data;
    *pp = p + 46 + nl + xl + cl;
    return NULL;
}

int zip_entries(const char *path, const unsigned char *buf, size_t len, ZipEntry **out, int *n, Diag *d)
{
    *out = NULL;
    *n = 0;
    const unsigned char *end = find_end(buf, len);
    if (!end) {
        diag_error_path(d, path, "not a zip archive (no end of central directory record)");
        return -1;
    }
    uint64_t count = io_le16(end + 10), cd_size = io_le32(end + 12), cd_off = io_le32(end + 16);
    if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        size_t at = (size_t)(end - buf);
        const unsigned char *loc = at >= 20 ? end - 20 : NULL;
        uint64_t rec;
        if (!loc || io_le32(loc) != SIG_LOC64 || (rec = io_le64(loc + 8)) > len || len - rec < 56 ||
            io_le32(buf + rec) != SIG_END64) {
            diag_error_path(d, path, "corrupt zip archive: missing ZIP64 end of central directory");
            return -1;
        }
        count = io_le64(buf + rec + 32);
        cd_size = io_le64(buf + rec + 40);
        cd_off = io_le64(buf + rec + 48);
    }
    if (cd_off > len || cd_size > len - cd_off || count > cd_size / 46 || count > INT32_MAX) {
        diag_error_path(d, path, "corrupt zip archive: central directory outside the file");
        return -1;
    }
    ZipEntry *e = bcl_calloc(count ? (size_t)count : 1, sizeof *e);
    if (!e) {
        diag_error_path(d, path, "out of memory");
        return -1;
    }
    const unsigned char *p = buf + cd_off, *cd_end = p + cd_size;
    const char *why = NULL;
    int k = 0;
    for (; (uint64_t)k < count && !why; k++) why = central_entry(buf, len, &p, cd_end, &e[k]);
    if (why) {
        const char *en = e[k - 1].name;
        char nb[256];
        if (en)
            diag_error_path(d, path, "zip entry '%s': %s",
                            bcl_printable(en, strlen(en), nb, sizeof nb), why);
        else
            diag_error_path(d, path, "corrupt zip archive: %s", why);
        zip_entries_free(e, k);
        return -1;
    }
    *out = e;
    *n = (int)count;
    return 0;
}

void zip_entries_free(ZipEntry *e, int n)
{
    for (int i = 0; e && i < n; i++) free(e[i].name);
    free(e);
}

int zip_extract(const char *path, const ZipEntry *e, unsigned char **out, Diag *d)
{
    char nb[256];
    const char *name = bcl_printable(e->name, strlen(e->name), nb, sizeof nb);
    *out = NULL;
    if (e->method != 0 && e->method != 8) {
        diag_error_path(d, path, "entry '%s': unsupported compression method %d (only stored and deflate)",
                        name, e->method);
        return -1;
    }
    /* DEFLATE expands at most 1032:1; a larger declared size is a lie (or a bomb). */
    if ((e->method == 0 && e->usize != e->csize) ||
        (e->method == 8 && e->usize / 1032 > e->csize + 1)) {
        diag_error_path(d, path, "entry '%s': declared size %llu is impossible for %llu compressed bytes",
                        name, (unsigned long long)e->usize, (unsigned long long)e->csize);
        return -1;
    }
    unsigned char *b = e->usize < SIZE_MAX ? bcl_malloc((size_t)e->usize + 1) : NULL;
    if (!b) {
        diag_error_path(d, path, "entry '%s': out of memory (%llu bytes)", name, (unsigned long long)e->usize);
        return -1;
    }
    if (e->method == 0) {
        memcpy(b, e->data, (size_t)e->usize);
    } else {
        const char *err = bcl_inflate(e->data, (size_t)e->csize, b, (size_t)e->usize);
        if (err) {
            diag_error_path(d, path, "entry '%s': corrupt compressed data: %s", name, err);
            free(b);
            return -1;
        }
    }
    if (bcl_crc32(b, (size_t)e->usize) != e->crc) {
        diag_error_path(d, path, "entry '%s': CRC-32 mismatch (the archive is corrupt)", name);
        free(b);
        return -1;
    }
    b[e->usize] = 0;
    *out = b;
    return 0;
}
