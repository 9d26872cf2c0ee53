/* The JIT's on-disk cache: one file per compiled engine holding its machine code
 * (object files) and its packed weights, keyed by a 128-bit hash of everything the
 * code and the packing depend on (the plan's steps and packing jobs, the weights
 * they read, the target, the kernel bitcode and the bclc binary). Files are written
 * to a temporary name and renamed into place, so concurrent processes see either a
 * whole entry or none; a checksum over the whole file catches corrupt entries,
 * which are then rebuilt. */
#ifndef BCL_JIT_CACHE_H
#define BCL_JIT_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/pool.h"

typedef struct JitCacheKey {
    uint64_t h[2];
} JitCacheKey;

/* A loaded entry: the file is mapped read-only and stays mapped while the packed
 * weights are in use (they are used in place). */
typedef struct JitCacheEntry {
    void *map;
    size_t map_len;
    int n_blobs;
    const char **blob;      /* n_blobs pointers into map, 64-byte aligned */
    const uint64_t *len;    /* their sizes in bytes */
} JitCacheEntry;

/* The directory: BCL_CACHE_DIR, else $XDG_CACHE_HOME/bclc, else $HOME/.cache/bclc.
 * Returns false when none can be named. */
bool jit_cache_dir(char *buf, size_t cap);
/* mkdir -p dir; false when it cannot be made. */
bool jit_cache_make_dirs(const char *dir);

/* A fast non-cryptographic 64-bit hash (4 independent lanes). */
uint64_t jit_hash(const void *data, size_t n, uint64_t seed);

/* A hash of n blobs (NULL blobs of length 0 allowed), each hashed in 1 MiB chunks
 * on pool's threads (pool may be NULL); false when out of memory. */
bool jit_hash_blobs(int n, const void *const *blob, const uint64_t *len, BclPool *pool, uint64_t *out);

/* Looks the key up; true and *e filled on a valid entry with n_blobs blobs. A
 * missing, truncated or corrupt entry is a miss (the caller rebuilds and stores).
 * The whole-file checksum is computed on pool's threads. */
bool jit_cache_load(const char *dir, JitCacheKey key, int n_blobs, BclPool *pool, JitCacheEntry *e);
void jit_cache_close(JitCacheEntry *e);

/* Writes an entry atomically (temporary file + rename); then trims the directory to
 * BCL_CACHE_MAX_MB (default 1024) by removing the least recently used entries.
 * Failures are silent: the cache is an optimisation. */
void jit_cache_store(const char *dir, JitCacheKey key, int n_blobs, const void *const *blob, const size_t *len,
                     BclPool *pool);

#endif
