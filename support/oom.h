/* Out of memory is an error, never an abort (issue 16). Library entry points open a
 * scope with BCL_OOM_CATCH; an allocation that fails anywhere below (an arena block,
 * bcl_xmalloc, the scanner, LLVM) jumps back to it, and the entry point reports
 * BCL_ERR_NO_MEMORY or a located "out of memory" error. Everything below an entry
 * point allocates from arenas or frees on the normal path, so the jump loses at most
 * the temporaries of the failing step. Without a scope (a unit test calling a stage
 * directly) a failure prints a message and aborts, as before.
 *
 * Test hook: BCL_FAIL_ALLOC=N in the environment (or bcl_fail_alloc_at(N)) makes the
 * Nth checked allocation of the process fail, so that a test can sweep N over a run. */
#ifndef BCL_OOM_H
#define BCL_OOM_H
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct BclOomGuard BclOomGuard;
typedef struct BclOomScope {
    jmp_buf jb;
    struct BclOomScope *up;
    const char *what;       /* set when the jump is taken: what failed */
    BclOomGuard *guards;    /* cleanups to run before the jump, newest first */
} BclOomScope;

/* A cleanup for what a function holds while it calls code that may jump (a scratch
 * arena, a buffer, a file stream): registered with the innermost scope, run (newest
 * first) when an allocation below fails, before the jump, so that nothing leaks.
 * The guard lives in the caller's frame; unguard it before returning. Without a
 * scope both calls do nothing. */
struct BclOomGuard {
    void (*fn)(void *arg);
    void *arg;
    BclOomGuard *next;
    BclOomScope *scope;
};
void bcl_oom_guard(BclOomGuard *g, void (*fn)(void *arg), void *arg);
void bcl_oom_unguard(BclOomGuard *g);
/* A ready-made cleanup: free(*(void **)arg), then NULL there. */
void bcl_oom_free_ptr(void *arg);

/* Opens a scope: 0 now, nonzero (after the scope is closed) when an allocation failed. */
#define BCL_OOM_CATCH(sc) (bcl_oom_push(&(sc)), setjmp((sc).jb))
void bcl_oom_push(BclOomScope *sc);
void bcl_oom_pop(BclOomScope *sc);          /* closes the innermost scope (sc) */
_Noreturn void bcl_oom_fail(const char *what);

/* The test hook: whether this allocation is the one that must fail. */
bool bcl_alloc_fails(void);
void bcl_fail_alloc_at(long n);             /* 0 = never; also reads BCL_FAIL_ALLOC */

/* malloc / calloc / realloc that never return NULL: they jump to the scope. */
void *bcl_xmalloc(size_t n);
void *bcl_xcalloc(size_t n, size_t size);
void *bcl_xrealloc(void *p, size_t n);
/* Whether bytes could be allocated at all: no more than the machine's physical
 * memory (malloc may promise more and the kernel kill the process later). */
bool bcl_memory_fits(double bytes);
void *bcl_calloc(size_t n, size_t size);    /* calloc with the test hook; may return NULL */

/* malloc, realloc (NULL: p untouched), aligned_alloc and strdup that honour the test
 * hook and may return NULL, for callers that report: library code allocates through
 * these or the x-versions, never malloc directly, so that the hook reaches every
 * allocation it makes. */
void *bcl_malloc(size_t n);
void *bcl_realloc(void *p, size_t n);
/* bcl_aligned_alloc backs a buffer of 4 MiB or more with transparent huge pages
 * where the kernel offers them (its size is then rounded up to 2 MiB). */
void *bcl_aligned_alloc(size_t align, size_t n);
/* A 2 MiB aligned buffer of whole 2 MiB pages (n rounded up), transparent huge pages
 * where the kernel offers them; free with free(). */
void *bcl_huge_alloc(size_t n);
/* A zeroed 64-byte aligned buffer of n floats (at least one), or NULL; free with free(). */
float *bcl_alloc_floats(size_t n);
char *bcl_strdup(const char *s);

/* BCL_FAIL_ALLOC=count: no allocation fails, and at exit the process writes
 * "bcl: N checked allocations" to stderr, so a sweep knows how far to go. */

#endif
