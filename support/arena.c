#include "support/arena.h"
#include "support/oom.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

struct ArenaAdopted {
    ArenaAdopted *next;
    void *p;
};

/* Small allocations: a first block of ARENA_BLOCK, then blocks of one 2 MiB huge page
 * each. Under shadow-paging hypervisors a fresh 4 KiB page costs ~10 us on its first
 * touch: ResNet-50's graph build filled ~3.6 MB of 64 KiB blocks, ~900 faults of its
 * 16-20 ms (support/oom.c). A small model's compilation stays in the first block. */
enum { ARENA_BLOCK = 64 * 1024, ARENA_BLOCK_HUGE = 2 << 20 };
#define ARENA_BIG_MIN ((size_t)4 << 20)    /* the first large chunk; each next one doubles */
#define ARENA_BIG_MAX ((size_t)64 << 20)

void arena_init(Arena *a) { a->head = NULL; a->big = NULL; a->total = 0; a->adopted = NULL; }

static void free_blocks(ArenaBlock *b)
{
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
}

void arena_free(Arena *a)
{
    for (ArenaAdopted *r = a->adopted; r; r = r->next) free(r->p);   /* the records live in the blocks */
    a->adopted = NULL;
    free_blocks(a->head);
    free_blocks(a->big);
    a->head = NULL;
    a->big = NULL;
    a->total = 0;
}

/* A fresh block of size usable bytes (huge: on huge pages), put first on *list. */
static ArenaBlock *new_block(ArenaBlock **list, size_t size, bool huge)
{
    /* a size that overflows, or a failed allocation, jumps to the caller's scope */
    ArenaBlock *b = NULL;
    if (size <= SIZE_MAX / 2)
        b = huge ? bcl_huge_alloc(sizeof(ArenaBlock) + size) : bcl_malloc(sizeof(ArenaBlock) + size);
    if (!b) bcl_oom_fail("an arena block");
    b->used = 0;
    b->size = size;
    b->next = *list;
    *list = b;
    return b;
}

void *arena_alloc(Arena *a, size_t n)
{
    if (n > SIZE_MAX / 2) bcl_oom_fail("an arena allocation");
    n = (n + 15) & ~(size_t)15;
    bool large = n > ARENA_BLOCK / 4;
    ArenaBlock **list = large ? &a->big : &a->head, *b = *list;
    if (!b || b->size - b->used < n) {
        bool first = b == NULL;   /* small: only the first block is malloc'd */
        size_t size = first ? ARENA_BLOCK : ARENA_BLOCK_HUGE - sizeof(ArenaBlock);
        if (large) {
            size_t chunk = b ? 2 * (sizeof(ArenaBlock) + b->size) : ARENA_BIG_MIN;
            if (chunk > ARENA_BIG_MAX) chunk = ARENA_BIG_MAX;
            size = chunk - sizeof(ArenaBlock);   /* whole huge pages with the header */
            if (size < n) size = n;
        }
        /* The old block's free room is left behind: at most a quarter block for small
         * allocations; for large ones, untouched address space costs nothing. */
        b = new_block(list, size, large || !first);
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void arena_adopt(Arena *a, void *p)
{
    if (!p) return;
    BclOomGuard g;   /* p is freed if the record cannot be allocated */
    bcl_oom_guard(&g, free, p);
    ArenaAdopted *r = arena_alloc(a, sizeof *r);
    bcl_oom_unguard(&g);
    r->p = p;
    r->next = a->adopted;
    a->adopted = r;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *arena_grow(Arena *a, void *old, size_t n, size_t cap, size_t sz)
{
    if (sz && cap > SIZE_MAX / 2 / sz) bcl_oom_fail("an arena array");
    void *p = arena_alloc(a, cap * sz);
    if (n) memcpy(p, old, n * sz);
    return p;
}

void ptrvec_push(Arena *a, PtrVec *pv, void *p)
{
    if (pv->n == pv->cap) {
        int cap = pv->cap ? pv->cap * 2 : 8;
        pv->v = arena_grow(a, pv->v, (size_t)pv->n, (size_t)cap, sizeof(void *));
        pv->cap = cap;
    }
    pv->v[pv->n++] = p;
}
