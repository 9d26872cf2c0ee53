/* Reading zip archives held in memory (the container of NumPy .npz files): the
 * central directory, ZIP64 sizes and offsets, stored and deflated entries. */
#ifndef BCL_ZIP_H
#define BCL_ZIP_H
#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

typedef struct ZipEntry {
    char *name;                  /* malloc'ed, NUL-terminated (NUL bytes are rejected) */
    int method;                  /* 0 stored, 8 deflate */
    uint32_t crc;
    uint64_t csize, usize;       /* compressed and uncompressed sizes */
    const unsigned char *data;   /* the compressed bytes, inside the archive buffer */
} ZipEntry;

/* Lists the entries (central directory order), after checking that every name,
 * size and offset lies inside buf. Errors name path. 0 on success. */
int zip_entries(const char *path, const unsigned char *buf, size_t len, ZipEntry **out, int *n, Diag *d);
void zip_entries_free(ZipEntry *e, int n);

/* Decompresses one entry into a malloc'ed buffer of e->usize bytes (plus one) and
 * checks its CRC-32. 0 on success. */
int zip_extract(const char *path, const ZipEntry *e, unsigned char **out, Diag *d);

uint32_t bcl_crc32(const unsigned char *p, size_t n);

#endif
