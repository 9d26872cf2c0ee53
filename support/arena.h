/* Arena: a bump allocator; one per compilation. Freeing is arena_free.
 * Allocations over 16 KiB (weights, folded constants) are carved from large chunks
 * that bcl_aligned_alloc backs with huge pages, so that their first touch is cheap. */
#ifndef BCL_ARENA_H
#define BCL_ARENA_H
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct ArenaAdopted ArenaAdopted;
typedef struct Arena {
    ArenaBlock *head;      /* small allocations: 64 KiB blocks, newest first */
    ArenaBlock *big;       /* large ones (weights): chunks of 4-64 MiB on huge pages */
    size_t total;          /* bytes handed out, for statistics */
    ArenaAdopted *adopted; /* malloc'd buffers freed with the arena (arena_adopt) */
} Arena;

void  arena_init(Arena *a);
void  arena_free(Arena *a);                 /* releases every block */
void *arena_alloc(Arena *a, size_t n);      /* zeroed, 16-byte aligned; out of memory jumps (support/oom.h) */
/* Makes p (from malloc, or NULL) the arena's: freed by arena_free. Lets a large buffer
 * join the arena without a copy (bound weights: io/weights.c). */
void  arena_adopt(Arena *a, void *p);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Grows an arena array: returns a copy of old (n elements of size sz) with room for cap. */
void *arena_grow(Arena *a, void *old, size_t n, size_t cap, size_t sz);

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_NEWN(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* A growable array of pointers kept in an arena (old storage is simply left behind). */
typedef struct PtrVec { void **v; int n, cap; } PtrVec;
void ptrvec_push(Arena *a, PtrVec *pv, void *p);

#endif
