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

typedef struct BclOomScope {
    jmp_buf jb;
    struct BclOomScope *up;
    const char *what;       /* set when the jump is taken: what failed */
} BclOomScope;

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

/* malloc that honours the test hook and may return NULL (for callers that report). */
void *bcl_malloc(size_t n);

#endif
