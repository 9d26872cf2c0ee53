/* A weight file's bytes without copying them: the file is memory-mapped read-only
 * (pages come from the page cache and are dropped under pressure), so reading a
 * safetensors or .npz file costs the decoded tensors, not the file again on the heap.
 * Files that cannot be mapped (pipes, /dev/stdin, empty files) are read instead. */
#ifndef BCL_IO_FILE_MAP_H
#define BCL_IO_FILE_MAP_H
#include <stddef.h>

#include "support/diag.h"

typedef struct IoFileMap {
    const unsigned char *data;
    size_t len;
    void *mapped;             /* the mapping, or NULL */
    unsigned char *heap;      /* the fallback buffer, or NULL */
} IoFileMap;

/* 0 on success; on failure reports "path: error: ..." (as bcl_read_file) and
 * returns -1. */
int io_map_file(const char *path, IoFileMap *m, Diag *d);
void io_unmap_file(IoFileMap *m);
/* Drops the pages wholly inside [p, p + n) of a mapping from this process (they
 * stay in the page cache; a later read faults them back in). No-op for a buffer. */
void io_release_mapped(const IoFileMap *m, const void *p, size_t n);

#endif
