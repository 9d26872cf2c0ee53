/* Fixture for the elaborator's unit tests (test_elab*, which link all of bcl): a
 * context with captured diagnostics, running .bcl text through parser and evaluator
 * or through bcl_build. Include after <cmocka.h>. */
#ifndef BCL_TEST_SUPPORT_ELAB_H
#define BCL_TEST_SUPPORT_ELAB_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/eval.h"

typedef struct Ctx {
    Arena a;
    Diag d;
    Elab I;             /* the evaluator: set up by setup(), not by setup_build() */
    BclBuildOptions opt;
    char *errbuf;
    size_t errlen;
    FILE *err;
    Env *env;             /* the top level of the last run() */
    char path[64];        /* a temporary .bcl file, removed by teardown() */
} Ctx;

static inline Ctx *ctx_new(void)
{
    Ctx *c = calloc(1, sizeof *c);
    arena_init(&c->a);
    c->err = open_memstream(&c->errbuf, &c->errlen);
    diag_init(&c->d, c->err);
    return c;
}

/* For tests of the evaluator. */
static inline int setup(void **state)
{
    Ctx *c = ctx_new();
    elab_init(&c->I, &c->a, &c->d, &c->opt);
    *state = c;
    return 0;
}

/* For tests of bcl_build, which makes its own evaluator. */
static inline int setup_build(void **state)
{
    *state = ctx_new();
    return 0;
}

static inline int teardown(void **state)
{
    Ctx *c = *state;
    fclose(c->err);
    free(c->errbuf);
    arena_free(&c->a);
    if (c->path[0]) unlink(c->path);
    free(c);
    return 0;
}

/* Runs src as the top level of the file name (a standard-library file when stdlib);
 * true if no error was reported. */
static inline bool run_file(Ctx *c, const char *name, const char *src, bool stdlib)
{
    Source *s = bcl_source_from_string(&c->a, name, src);
    AstModule *m = bcl_parse(&c->a, &c->d, s);
    assert_non_null(m);
    c->env = env_new(&c->I, c->I.builtins);
    if (stdlib) c->I.loading_stdlib = true;
    bool ok = exec_toplevel(&c->I, c->env, m);
    fflush(c->err);
    return ok && c->d.n_errors == 0;
}

/* Runs src as a file's top level; true if no error was reported. */
static inline bool run(Ctx *c, const char *src) { return run_file(c, "t.bcl", src, false); }

static inline const char *repr_of(Ctx *c, const char *name)
{
    Value *v = env_get_local(c->env, name);
    assert_non_null(v);
    return v_repr(&c->I, v);
}

/* The diagnostics reported so far. */
static inline const char *errors(Ctx *c)
{
    fflush(c->err);
    return c->errbuf ? c->errbuf : "";
}

/* Writes head then body (either may be NULL) to a new temporary .bcl file c->path. */
static inline void write_temp_bcl(Ctx *c, const char *head, const char *body)
{
    strcpy(c->path, "/tmp/test_elab_XXXXXX.bcl");
    int fd = mkstemps(c->path, 4);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    if (head) fputs(head, f);
    if (body) fputs(body, f);
    fclose(f);
}

#define RUN_OK(src) do { if (!run(c, src)) fail_msg("unexpected errors:\n%s", errors(c)); } while (0)
#define EXPECT(name, text) assert_string_equal(repr_of(c, name), text)
#define EXPECT_ERR(sub) do { if (!strstr(errors(c), sub)) fail_msg("expected '%s' in:\n%s", sub, errors(c)); } while (0)
#define EXPECT_NO(sub) do { if (strstr(errors(c), sub)) fail_msg("did not expect '%s' in:\n%s", sub, errors(c)); } while (0)

#endif
