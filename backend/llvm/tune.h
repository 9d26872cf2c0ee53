/* Per-shape choices of the JIT's lowering (bclc --tune): where plan.c can lower a
 * node several ways (a tunable), it asks jit_tune_choice, which answers the
 * heuristic's default unless a measured choice for that shape is known. Choices are
 * measured by compiling the graph once per choice index ("round", every site taking
 * that choice where it can), timing each node's steps over a few runs and keeping the
 * fastest per shape; they are stored in the JIT's cache directory (tune.txt), keyed by
 * tunable, shape, target CPU and thread count, and read by every later compile. */
#ifndef BCL_JIT_TUNE_H
#define BCL_JIT_TUNE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend/llvm/jit.h"
#include "ir/ir.h"

/* T(name, choices, what the choices are): the single list of tunables */
#define BCL_JIT_TUNABLES(T) \
    T(conv3x3, 3, "3x3 stride-1 dense convolution: 0 direct (blocked), 1 Winograd F(2x2, 3x3), 2 F(4x4, 3x3)") \
    T(conv1x1, 5, "1x1 convolution: 0-3: 1, 2, 4 or 8 16-pixel vectors per work item, 4: channels as the vectors")

typedef enum JitTunable {
#define T(name, n, what) JIT_TUNE_##name,
    BCL_JIT_TUNABLES(T)
#undef T
    JIT_N_TUNABLES
} JitTunable;

#define JIT_TUNE_MAX_CHOICES 5

typedef struct JitTuneEntry {
    uint64_t key;
    JitTunable what;
    int choice;
} JitTuneEntry;

/* A site met while lowering: node `node` asked for `what` with this key and took `choice`. */
typedef struct JitTuneSite {
    int node;
    JitTunable what;
    uint64_t key;
    unsigned allowed;       /* bit c: choice c is possible for this shape */
    int choice;
    bool stored;            /* the choice came from the table */
} JitTuneSite;

typedef struct JitTune {
    uint64_t seed;          /* target CPU, its features and the thread count: part of every key */
    JitTuneEntry *e;        /* the stored choices */
    int n, cap;
    int round;              /* >= 0 while measuring: sites without a stored choice take this one if allowed */
    JitTuneSite *sites;     /* the sites of the last plan built with it */
    int n_sites, cap_sites;
    int used;               /* stored choices the last plan used */
    bool oom;
} JitTune;

/* Before a plan is built: the seed from the target (cpu name, feature string) and the
 * thread count; the site list and the count of stored choices used start empty. */
void jit_tune_init(JitTune *t, const char *cpu, const char *features, int threads);
void jit_tune_free(JitTune *t);

/* The choice for node `node`'s tunable `what` on a shape given as n numbers: the stored
 * one, else while measuring the round's (if allowed), else dflt. allowed: bit c set when
 * choice c can lower this shape (dflt must be one of them). t may be NULL: dflt. */
int jit_tune_choice(JitTune *t, int node, JitTunable what, const int64_t *shape, int n, unsigned allowed, int dflt);

/* The table file in the cache directory: lines "KEY TUNABLE CHOICE" (hex key). Loading
 * skips malformed lines and unknown tunables; storing merges the file's current lines
 * with t's (t's win) and renames a temporary file into place. Failures are silent (an
 * optimisation, as the cache). */
void jit_tune_load(JitTune *t, const char *dir);
void jit_tune_store(const JitTune *t, const char *dir);
/* Adds or replaces a choice. */
void jit_tune_set(JitTune *t, uint64_t key, JitTunable what, int choice);

/* bcl_jit_load_cached's ask: the entry, and whether the plan had another signature. */
typedef struct JitExpect {
    BclJitCacheIds ids;
    bool other_plan;
} JitExpect;
/* jit.c: bcl_jit_compile with tuning table tune (NULL: the heuristics' choices), whose
 * seed it sets for the target and the thread count. bcl_jit_compile loads the table
 * from the cache directory, measures first when asked, and calls this. expect (NULL
 * but in bcl_jit_load_cached): only load that cache entry, for a plan of that
 * signature, from a graph whose parameters need not have data; NULL otherwise. */
BclJit *jit_compile_tuned(const IrGraph *g, const BclJitOptions *opt, JitTune *tune, JitExpect *expect, Diag *d);
/* tune_measure.c: measures the choices t lacks for g's sites and adds them to t (a
 * line on stderr says how many). What fails is a warning to d (tuning is optional). */
void jit_tune_measure(const IrGraph *g, const BclJitOptions *opt, JitTune *t, Diag *d);

const char *jit_tunable_name(JitTunable what);
int jit_tunable_choices(JitTunable what);

#endif
