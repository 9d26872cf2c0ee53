/* Whole-file reading and writing with diagnostics, and printable names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/file.h"
#include "support/oom.h"


int bcl_read_file(const char *path, unsigned char **buf, size_t *len, Diag *d)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error_path(d, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        diag_error_path(d, path, "cannot read: not a regular file");
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *b = bcl_malloc(size + 1);
    if (!b) {
        diag_error_path(d, path, "cannot read: out of memory for its %zu bytes", size);
        fclose(f);
        return -1;
    }
    size_t got = fread(b, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != size) {
        diag_error_path(d, path, "cannot read: %s", err ? strerror(errno) : "file changed while reading");
        free(b);
        return -1;
    }
    b[size] = 0;
    *buf = b;
    *len = size;
    return 0;
}

int bcl_write_file(const char *path, const void *buf, size_t len, Diag *d)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        diag_error_path(d, path, "cannot write: %s", strerror(errno));
        return -1;
    }
    size_t put = fwrite(buf, 1, len, f);
    int err = put != len ? errno : 0;
    if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
    if (put != len || err) {
        diag_error_path(d, path, "cannot write: %s", strerror(err ? err : EIO));
        remove(path);
        return -1;
    }
    return 0;
}

char *bcl_printable(const char *name, size_t len, char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n < 16) {           /* too small to hold an escape and the "..." */
        if (n) buf[0] = 0;
        return buf;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (o + 8 >= n) {   /* room for "\xNN" plus "..." and NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o] = 0;
    return buf;
}
