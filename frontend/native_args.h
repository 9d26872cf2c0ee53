/* Argument binding for native (C) functions: ARGS names the parameters, BIND binds a
 * call's arguments to them (positional or keyword, nreq required) or returns NULL after
 * the diagnostic; OPT(i) says whether optional argument i was given and is not None. */
#ifndef BCL_FRONTEND_NATIVE_ARGS_H
#define BCL_FRONTEND_NATIVE_ARGS_H

#include "frontend/eval.h"

#define ARGS(...) static const char *const names[] = {__VA_ARGS__}; \
    Value *av[sizeof names / sizeof *names]
#define BIND(fname, nreq) \
    if (!bind_native(I, fname, a, loc, names, (int)(sizeof names / sizeof *names), nreq, av)) return NULL
#define OPT(i) (av[i] && av[i]->kind != V_NONE)

#endif
