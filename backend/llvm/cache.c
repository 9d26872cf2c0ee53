/* The JIT's on-disk cache (see cache.h). File layout, all little-endian:
 *   header (64 bytes): magic, key, blob count, file length, body checksum, header checksum
 *   uint64 length of every blob, padded to 64 bytes
 *   every blob, each padded to 64 bytes (packed weights are used in place: aligned)
 * The body checksum hashes every blob in 1 MiB chunks (in parallel) and then the
 * lengths and the chunk hashes, so a flipped bit anywhere in a blob is found. */
#define _GNU_SOURCE
#include "backend/llvm/cache.h"
#include "support/oom.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "BCLJITC\x01"
#define HEADER_BYTES 64
#define CHUNK (1u << 20)
#define ALIGN 64

typedef struct FileHeader {
    char magic[8];
    uint64_t key[2];
    uint64_t n_blobs;
    uint64_t file_len;
    uint64_t body_hash;
    uint64_t header_hash;   /* of the fields above */
    uint64_t pad;
} FileHeader;
_Static_assert(sizeof(FileHeader) == HEADER_BYTES, "cache header is 64 bytes");

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull

static inline uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }
static inline uint64_t round64(uint64_t acc, uint64_t w) { return rotl(acc + w * P2, 31) * P1; }

/* The bulk of the data goes through 8 lanes in the style of XXH3: per 64-byte
 * stripe each lane adds its neighbour's word and the 32x32-bit product of the two
 * halves of its word xor a key; every 1 KiB the lanes are scrambled. With AVX2 this
 * runs at memory speed; the scalar loop computes exactly the same values. */
static const uint64_t lane_key[8] = {0xbe4ba423396cfeb8ull, 0x1cad21f72c81017cull, 0xdb979083e96dd4deull,
                                     0x1f67b3b7a4a44072ull, 0x78e5c0cc4ee679cbull, 0x2172ffcc7dd05a82ull,
                                     0x8e2443f7744608b8ull, 0x4c263a81e69035e0ull};
static const uint64_t scramble_key[8] = {0xcb00c391bb52283cull, 0xa32e531b8b65d088ull, 0x4ef90da297486471ull,
                                         0xd8acdea946ef1938ull, 0x3f349ce33f76faa8ull, 0x1d4f0bc7c7bbdcf9ull,
                                         0x3159b4cd4be0518aull, 0x647378d9c97e9fc8ull};
#define STRIPES_PER_BLOCK 16
#define P32 0x9E3779B1ull

static void stripes_scalar(uint64_t acc[8], const unsigned char *p, size_t ns)
{
    for (size_t s = 0; s < ns; s++) {
        uint64_t w[8];
        memcpy(w, p + 64 * s, 64);
        for (int l = 0; l < 8; l++) {
            uint64_t dk = w[l] ^ lane_key[l];
            acc[l] += w[l ^ 1] + (dk & 0xffffffffu) * (dk >> 32);
        }
        if ((s + 1) % STRIPES_PER_BLOCK == 0)
            for (int l = 0; l < 8; l++) acc[l] = (acc[l] ^ acc[l] >> 47 ^ scramble_key[l]) * P32;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static void stripes_avx2(uint64_t acc[8], const unsigned char *p, size_t ns)
{
    __m256i a0 = _mm256_loadu_si256((const __m256i *)acc), a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));
    const __m256i k0 = _mm256_loadu_si256((const __m256i *)lane_key);
    const __m256i k1 = _mm256_loadu_si256((const __m256i *)(lane_key + 4));
    const __m256i s0 = _mm256_loadu_si256((const __m256i *)scramble_key);
    const __m256i s1 = _mm256_loadu_si256((const __m256i *)(scramble_key + 4));
    const __m256i prime = _mm256_set1_epi64x((long long)P32);
    for (size_t s = 0; s < ns; s++) {
        __m256i d0 = _mm256_loadu_si256((const __m256i *)(p + 64 * s));
        __m256i d1 = _mm256_loadu_si256((const __m256i *)(p + 64 * s + 32));
        __m256i x0 = _mm256_xor_si256(d0, k0), x1 = _mm256_xor_si256(d1, k1);
        __m256i m0 = _mm256_mul_epu32(x0, _mm256_srli_epi64(x0, 32));
        __m256i m1 = _mm256_mul_epu32(x1, _mm256_srli_epi64(x1, 32));
        /* the neighbour's word: swap the 64-bit halves of each 128-bit lane (l ^ 1) */
        a0 = _mm256_add_epi64(a0, _mm256_add_epi64(_mm256_shuffle_epi32(d0, 0x4e), m0));
        a1 = _mm256_add_epi64(a1, _mm256_add_epi64(_mm256_shuffle_epi32(d1, 0x4e), m1));
        if ((s + 1) % STRIPES_PER_BLOCK == 0) {
            __m256i *a[2] = {&a0, &a1};
            const __m256i *k[2] = {&s0, &s1};
            for (int i = 0; i < 2; i++) {
                __m256i v = _mm256_xor_si256(_mm256_xor_si256(*a[i], _mm256_srli_epi64(*a[i], 47)), *k[i]);
                __m256i lo = _mm256_mul_epu32(v, prime);
                __m256i hi = _mm256_mul_epu32(_mm256_srli_epi64(v, 32), prime);
                *a[i] = _mm256_add_epi64(lo, _mm256_slli_epi64(hi, 32));
            }
        }
    }
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 4), a1);
}

static void stripes(uint64_t acc[8], const unsigned char *p, size_t ns)
{
    static int avx2 = -1;
    if (avx2 < 0) __atomic_store_n(&avx2, __builtin_cpu_supports("avx2") ? 1 : 0, __ATOMIC_RELAXED);
    if (avx2) stripes_avx2(acc, p, ns);
    else stripes_scalar(acc, p, ns);
}
#else
static void stripes(uint64_t acc[8], const unsigned char *p, size_t ns) { stripes_scalar(acc, p, ns); }
#endif

uint64_t jit_hash(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed + P3 + (uint64_t)n * P1;
    size_t i = 0;
    if (n >= 256) {
        uint64_t acc[8];
        for (int l = 0; l < 8; l++) acc[l] = seed ^ lane_key[l];
        stripes(acc, p, n / 64);
        i = n / 64 * 64;
        for (int l = 0; l < 8; l++) h = rotl(h ^ round64(0, acc[l]), 27) * P1 + P3;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = rotl(h ^ round64(0, w), 27) * P1 + P3;
    }
    for (; i < n; i++) h = rotl(h ^ p[i] * P3, 11) * P1;
    h ^= h >> 33, h *= P2, h ^= h >> 29, h *= P3, h ^= h >> 32;
    return h;
}

/* Hashing of blobs in 1 MiB chunks on the pool's threads. */
typedef struct HashJob {
    const char *p;
    size_t n;
    uint64_t h;
} HashJob;

static void hash_task(void **ctx, int64_t begin, int64_t end)
{
    HashJob *jobs = (HashJob *)(void *)ctx;
    for (int64_t i = begin; i < end; i++) jobs[i].h = jit_hash(jobs[i].p, jobs[i].n, (uint64_t)i);
}

bool jit_hash_blobs(int n, const void *const *blob, const uint64_t *len, BclPool *pool, uint64_t *out)
{
    size_t nj = 0;
    for (int i = 0; i < n; i++) nj += (len[i] + CHUNK - 1) / CHUNK;
    HashJob *jobs = bcl_malloc(sizeof *jobs * (nj ? nj : 1));
    if (!jobs) return false;
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (uint64_t off = 0; off < len[i]; off += CHUNK)
            jobs[k++] = (HashJob){(const char *)blob[i] + off, len[i] - off < CHUNK ? len[i] - off : CHUNK, 0};
    bcl_rt_parallel_for(pool, hash_task, (void **)(void *)jobs, (int64_t)nj);
    uint64_t h = jit_hash(len, sizeof *len * (size_t)n, 7);
    for (size_t i = 0; i < nj; i++) h = jit_hash(&jobs[i].h, 8, h);
    free(jobs);
    *out = h;
    return true;
}

static uint64_t header_hash(const FileHeader *fh) { return jit_hash(fh, offsetof(FileHeader, header_hash), 3); }

static size_t pad64(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

bool jit_cache_dir(char *buf, size_t cap)
{
    const char *e = getenv("BCL_CACHE_DIR");
    int n;
    if (e && *e) n = snprintf(buf, cap, "%s", e);
    else if ((e = getenv("XDG_CACHE_HOME")) && *e == '/') n = snprintf(buf, cap, "%s/bclc", e);
    else if ((e = getenv("HOME")) && *e) n = snprintf(buf, cap, "%s/.cache/bclc", e);
    else return false;
    return n > 0 && (size_t)n < cap;
}

static void entry_path(char *buf, size_t cap, const char *dir, JitCacheKey key)
{
    snprintf(buf, cap, "%s/%016llx%016llx.bjc", dir, (unsigned long long)key.h[0], (unsigned long long)key.h[1]);
}

bool jit_cache_make_dirs(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return false;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) return false;
        *s = '/';
    }
    return !mkdir(p, 0755) || errno == EEXIST;
}

bool jit_cache_load(const char *dir, JitCacheKey key, int n_blobs, BclPool *pool, JitCacheEntry *e)
{
    memset(e, 0, sizeof *e);
    char path[PATH_MAX];
    entry_path(path, sizeof path, dir, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    FileHeader fh;
    bool ok = !fstat(fd, &st) && st.st_size >= HEADER_BYTES && pread(fd, &fh, sizeof fh, 0) == sizeof fh &&
              !memcmp(fh.magic, MAGIC, 8) && fh.header_hash == header_hash(&fh) && fh.key[0] == key.h[0] &&
              fh.key[1] == key.h[1] && fh.n_blobs == (uint64_t)n_blobs && fh.file_len == (uint64_t)st.st_size;
    void *map = MAP_FAILED;
    /* MAP_POPULATE: the checksum reads every page anyway; fault them in bulk */
    if (ok) map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return false;
    const char *base = map;
    size_t off = pad64(HEADER_BYTES + sizeof(uint64_t) * (size_t)n_blobs);
    const uint64_t *len = (const uint64_t *)(const void *)(base + HEADER_BYTES);
    const char **blob = bcl_calloc((size_t)(n_blobs ? n_blobs : 1), sizeof *blob);
    ok = blob != NULL && off <= (size_t)st.st_size;
    /* padding is not in the checksum: it must be zeros */
    for (size_t z = HEADER_BYTES + sizeof(uint64_t) * (size_t)n_blobs; ok && z < off; z++) ok = !base[z];
    for (int i = 0; ok && i < n_blobs; i++) {
        ok = len[i] <= (uint64_t)st.st_size - off && pad64((size_t)len[i]) <= (uint64_t)st.st_size - off;
        blob[i] = base + off;
        for (size_t z = off + (size_t)len[i]; ok && z < off + pad64((size_t)len[i]); z++) ok = !base[z];
        if (ok) off += pad64((size_t)len[i]);
    }
    uint64_t h;
    ok = ok && off == (size_t)st.st_size && jit_hash_blobs(n_blobs, (const void *const *)blob, len, pool, &h) &&
         h == fh.body_hash;
    if (!ok) {
        free(blob);
        munmap(map, (size_t)st.st_size);
        return false;
    }
    utimensat(AT_FDCWD, path, NULL, 0);   /* recently used: trimmed last */
    *e = (JitCacheEntry){map, (size_t)st.st_size, n_blobs, blob, len};
    return true;
}

void jit_cache_close(JitCacheEntry *e)
{
    if (e->map) munmap(e->map, e->map_len);
    free(e->blob);
    memset(e, 0, sizeof *e);
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w, n -= (size_t)w;
    }
    return true;
}

typedef struct CacheFile {
    char name[PATH_MAX];
    off_t size;
    time_t mtime;
} CacheFile;

static int by_mtime(const void *a, const void *b)
{
    time_t x = ((const CacheFile *)a)->mtime, y = ((const CacheFile *)b)->mtime;
    return x < y ? -1 : x > y;
}

/* Removes the least recently used entries while the directory holds more than the
 * limit, and temporary files abandoned (by a killed process) over an hour ago. */
static void trim(const char *dir)
{
    const char *e = getenv("BCL_CACHE_MAX_MB");
    long long max_mb = e && *e ? atoll(e) : 1024;
    DIR *dp = opendir(dir);
    if (!dp) return;
    CacheFile *f = NULL;
    size_t n = 0, cap = 0;
    long long total = 0;
    time_t now = time(NULL);
    for (struct dirent *de; (de = readdir(dp));) {
        size_t nl = strlen(de->d_name);
        bool entry = nl > 4 && !strcmp(de->d_name + nl - 4, ".bjc"), tmp = !strncmp(de->d_name, ".tmp-", 5);
        if (!entry && !tmp) continue;
        CacheFile cf;
        if (snprintf(cf.name, sizeof cf.name, "%s/%s", dir, de->d_name) >= (int)sizeof cf.name) continue;
        struct stat st;
        if (stat(cf.name, &st)) continue;
        if (tmp) {
            if (now - st.st_mtime > 3600) unlink(cf.name);
            continue;
        }
        cf.size = st.st_size, cf.mtime = st.st_mtime;
        if (n == cap) {
            CacheFile *g = bcl_realloc(f, sizeof *f * (cap = cap ? 2 * cap : 16));
            if (!g) break;
            f = g;
        }
        f[n++] = cf;
        total += st.st_size;
    }
    closedir(dp);
    if (n) qsort(f, n, sizeof *f, by_mtime);   /* f is NULL when the directory held no entry */
    for (size_t i = 0; i < n && total > max_mb * 1048576; i++)
        if (!unlink(f[i].name)) total -= f[i].size;
    free(f);
}

void jit_cache_store(const char *dir, JitCacheKey key, int n_blobs, const void *const *blob, const size_t *len,
                     BclPool *pool)
{
    if (!jit_cache_make_dirs(dir)) return;
    uint64_t *len64 = bcl_calloc((size_t)(n_blobs ? n_blobs : 1), sizeof *len64);
    if (!len64) return;
    size_t file_len = pad64(HEADER_BYTES + sizeof(uint64_t) * (size_t)n_blobs);
    for (int i = 0; i < n_blobs; i++) len64[i] = len[i], file_len += pad64(len[i]);
    FileHeader fh = {.key = {key.h[0], key.h[1]}, .n_blobs = (uint64_t)n_blobs, .file_len = file_len};
    memcpy(fh.magic, MAGIC, 8);
    if (!jit_hash_blobs(n_blobs, blob, len64, pool, &fh.body_hash)) {
        free(len64);
        return;
    }
    fh.header_hash = header_hash(&fh);
    static int counter;
    char tmp[PATH_MAX], path[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%d-%llx", dir, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED),
             (unsigned long long)key.h[0]);
    entry_path(path, sizeof path, dir, key);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(len64);
        return;
    }
    static const char zeros[ALIGN];
    size_t head = HEADER_BYTES + sizeof(uint64_t) * (size_t)n_blobs;
    bool ok = write_all(fd, &fh, sizeof fh) && write_all(fd, len64, sizeof(uint64_t) * (size_t)n_blobs) &&
              write_all(fd, zeros, pad64(head) - head);
    for (int i = 0; ok && i < n_blobs; i++)
        ok = write_all(fd, blob[i], len[i]) && write_all(fd, zeros, pad64(len[i]) - len[i]);
    ok = !close(fd) && ok;
    free(len64);
    /* rename is atomic: readers see the old entry, the new one, or none */
    if (!ok || rename(tmp, path)) {
        unlink(tmp);
        return;
    }
    trim(dir);
}
