/* A tiny reader for the .npy files the examples use: little-endian float32
 * ('<f4'), C order, version 1.0 or 2.0 header. Returns the element count and a
 * malloc'ed buffer, or -1 with a message on stderr. Header-only (static). */
#ifndef AOT_NPY_READ_H
#define AOT_NPY_READ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long npy_read_f32(const char *path, float **data)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[12];
    char *hdr = NULL;
    long n = -1;
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || (pre[6] != 1 && pre[6] != 2)) {
        fprintf(stderr, "%s: not a .npy file (version 1 or 2)\n", path);
        goto done;
    }
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] == 2) {   /* 4-byte header length */
        if (fread(pre + 10, 1, 2, f) != 2) goto bad;
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (hlen > 65536 || !(hdr = calloc(1, hlen + 1)) || fread(hdr, 1, hlen, f) != hlen) goto bad;
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True")) {
        fprintf(stderr, "%s: expected little-endian float32 in C order\n", path);
        goto done;
    }
    const char *s = strstr(hdr, "'shape':");
    s = s ? strchr(s, '(') : NULL;
    if (!s) goto bad;
    n = 1;
    for (s++; *s && *s != ')';) {
        char *e;
        long d = strtol(s, &e, 10);
        if (e == s) break;
        if (d < 0 || d > (1L << 30) || n > (1L << 30) / (d ? d : 1)) goto bad;
        n *= d;
        s = e;
        while (*s == ',' || *s == ' ') s++;
    }
    *data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!*data || fread(*data, sizeof(float), (size_t)n, f) != (size_t)n) {
        free(*data);
        goto bad;
    }
    goto done;
bad:
    fprintf(stderr, "%s: malformed or truncated .npy file\n", path);
    n = -1;
done:
    free(hdr);
    fclose(f);
    return n;
}

#endif
