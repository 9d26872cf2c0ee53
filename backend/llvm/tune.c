/* The tuning table: choices by key, the answer plan.c gets at a tunable site, and
 * the file in the cache directory that keeps the table between processes. */
#define _GNU_SOURCE   /* mkstemp */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/llvm/cache.h"
#include "backend/llvm/tune.h"
#include "support/oom.h"

static const struct {
    const char *name;
    int choices;
} tunables[] = {
#define T(name, n, what) {#name, n},
    BCL_JIT_TUNABLES(T)
#undef T
};

const char *jit_tunable_name(JitTunable what) { return tunables[what].name; }

int jit_tunable_choices(JitTunable what) { return tunables[what].choices; }

#define TUNE_FILE "tune.txt"

void jit_tune_init(JitTune *t, const char *cpu, const char *features, int threads)
{
    uint64_t h = jit_hash(cpu, strlen(cpu), 0x74756e65ull);
    h = jit_hash(features, strlen(features), h);
    t->seed = jit_hash(&threads, sizeof threads, h);
    t->n_sites = 0, t->used = 0;   /* a new plan's */
}

void jit_tune_free(JitTune *t)
{
    free(t->e);
    free(t->sites);
    memset(t, 0, sizeof *t);
    t->round = -1;
}

static int find(const JitTune *t, uint64_t key)
{
    for (int i = 0; i < t->n; i++)
        if (t->e[i].key == key) return i;
    return -1;
}

void jit_tune_set(JitTune *t, uint64_t key, JitTunable what, int choice)
{
    int i = find(t, key);
    if (i >= 0) {
        t->e[i].what = what, t->e[i].choice = choice;
        return;
    }
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        JitTuneEntry *e = bcl_realloc(t->e, sizeof *e * (size_t)cap);
        if (!e) {
            t->oom = true;
            return;
        }
        t->e = e, t->cap = cap;
    }
    t->e[t->n++] = (JitTuneEntry){key, what, choice};
}

int jit_tune_choice(JitTune *t, int node, JitTunable what, const int64_t *shape, int n, unsigned allowed, int dflt)
{
    if (!t) return dflt;
    uint64_t key = jit_hash(shape, sizeof *shape * (size_t)n, t->seed ^ (uint64_t)(what + 1) * 0x9E3779B97F4A7C15ull);
    int i = find(t, key), c = dflt;
    bool stored = i >= 0 && (allowed >> t->e[i].choice & 1);
    if (stored)
        c = t->e[i].choice, t->used++;
    else if (t->round >= 0 && (allowed >> t->round & 1))
        c = t->round;
    if (t->n_sites == t->cap_sites) {
        int cap = t->cap_sites ? 2 * t->cap_sites : 64;
        JitTuneSite *s = bcl_realloc(t->sites, sizeof *s * (size_t)cap);
        if (!s) {
            t->oom = true;
            return c;
        }
        t->sites = s, t->cap_sites = cap;
    }
    t->sites[t->n_sites++] = (JitTuneSite){node, what, key, allowed, c, stored};
    return c;
}

/* One line: hex key, tunable name, choice; false when it is not that. */
static bool parse_line(const char *s, uint64_t *key, JitTunable *what, int *choice)
{
    char name[64], *end;
    unsigned long long k = strtoull(s, &end, 16);
    if (end == s || *end != ' ') return false;
    int c, len;
    if (sscanf(end, " %63s %d%n", name, &c, &len) != 2 || end[len] != '\n') return false;
    for (int w = 0; w < JIT_N_TUNABLES; w++)
        if (!strcmp(name, tunables[w].name)) {
            if (c < 0 || c >= tunables[w].choices) return false;
            *key = k, *what = (JitTunable)w, *choice = c;
            return true;
        }
    return false;
}

void jit_tune_load(JitTune *t, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" TUNE_FILE, dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        uint64_t key;
        JitTunable w;
        int c;
        if (parse_line(line, &key, &w, &c) && find(t, key) < 0) jit_tune_set(t, key, w, c);
    }
    fclose(f);
}

void jit_tune_store(const JitTune *t, const char *dir)
{
    /* the file's entries first (another process may have tuned other shapes), ours win */
    JitTune all = {.round = -1};
    jit_tune_load(&all, dir);
    for (int i = 0; i < t->n; i++) jit_tune_set(&all, t->e[i].key, t->e[i].what, t->e[i].choice);
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/" TUNE_FILE, dir);
    snprintf(tmp, sizeof tmp, "%s/.tmp-tune-XXXXXX", dir);   /* .tmp-: a killed writer's is trimmed (cache.c) */
    /* a first --tune may come before any cache entry made the directory */
    int fd = all.oom || !jit_cache_make_dirs(dir) ? -1 : mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) close(fd), unlink(tmp);
        jit_tune_free(&all);
        return;
    }
    for (int i = 0; i < all.n; i++)
        fprintf(f, "%016llx %s %d\n", (unsigned long long)all.e[i].key, tunables[all.e[i].what].name, all.e[i].choice);
    bool ok = !ferror(f);
    ok = !fclose(f) && ok;
    if (!ok || rename(tmp, path)) unlink(tmp);
    jit_tune_free(&all);
}
