/* Compile-time exceptions: the exception classes, `raise`, `try`/`except`/`else`/
 * `finally` and `with`. The elaborator reports an error the moment it happens; inside
 * a `try` with handlers those reports are held (support/diag's capture), so that a
 * handler that matches can drop them, as Python's would never have printed them.
 * Errors of the compiler's own (a missing key, a bad argument) become the exception
 * Python would raise there (KeyError, TypeError, ...); limits of the compiler (a
 * tensor-dependent condition, the statement budget) are not exceptions and are never
 * caught. */
#include <string.h>

#include "frontend/eval.h"

/* ------------------------------------------------------------------ classes */

static Value *c_exception(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)loc;
    Value *obj = ARENA_NEW(I->a, Value);
    obj->kind = V_OBJECT;
    obj->obj = ARENA_NEW(I->a, ObjectObj);
    obj->obj->cls = self->cls;
    obj->obj->made_at = I->user_loc;
    obj->obj->message = a->n_pos ? v_to_str(I, a->pos[0]) : "";
    /* str(KeyError(k)) is repr(k), as in Python */
    if (a->n_pos == 1 && class_is_sub(self->cls, exception_class(I, "KeyError")))
        obj->obj->message = v_repr(I, a->pos[0]);
    if (a->n_pos > 1) {
        const char *m = "(";
        for (int i = 0; i < a->n_pos; i++) m = arena_printf(I->a, "%s%s%s", m, i ? ", " : "", v_repr(I, a->pos[i]));
        obj->obj->message = arena_printf(I->a, "%s)", m);
    }
    return obj;
}

static ClassObj *add_exception(Elab *I, const char *name, ClassObj *base)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_CLASS;
    v->cls = native_class(I, name, TK_EXCEPTION, c_exception);
    if (base) {
        ClassObj *c = v->cls;
        c->n_bases = 1;
        c->bases = ARENA_NEWN(I->a, Value *, 1);
        Value *bv = ARENA_NEW(I->a, Value);
        bv->kind = V_CLASS;
        bv->cls = base;
        c->bases[0] = bv;
        c->n_mro = base->n_mro + 1;
        c->mro = ARENA_NEWN(I->a, ClassObj *, c->n_mro);
        c->mro[0] = c;
        memcpy(c->mro + 1, base->mro, sizeof(ClassObj *) * (size_t)base->n_mro);
    }
    env_set(I, I->builtins, name, v);
    return v->cls;
}

void exceptions_init(Elab *I)
{
    ClassObj *base = add_exception(I, "BaseException", NULL);
    ClassObj *exc = add_exception(I, "Exception", base);
    I->exception_cls = exc;
    /* Python's hierarchy, for the classes a model file may catch or raise */
    static const char *const tree[][2] = {
        {"ArithmeticError", "Exception"}, {"ZeroDivisionError", "ArithmeticError"},
        {"OverflowError", "ArithmeticError"}, {"LookupError", "Exception"}, {"KeyError", "LookupError"},
        {"IndexError", "LookupError"}, {"ValueError", "Exception"}, {"TypeError", "Exception"},
        {"AttributeError", "Exception"}, {"NameError", "Exception"}, {"AssertionError", "Exception"},
        {"RuntimeError", "Exception"}, {"NotImplementedError", "RuntimeError"},
        {"RecursionError", "RuntimeError"}, {"StopIteration", "Exception"}, {"ImportError", "Exception"},
        {"ModuleNotFoundError", "ImportError"}, {"UnboundLocalError", "NameError"},
        {"UserWarning", "Exception"}, {"Warning", "Exception"},
    };
    for (size_t i = 0; i < sizeof tree / sizeof *tree; i++) add_exception(I, tree[i][0], exception_class(I, tree[i][1]));
}

ClassObj *exception_class(Elab *I, const char *name)
{
    Value *v = env_get_local(I->builtins, name);
    return v && v->kind == V_CLASS && v->cls->tk == TK_EXCEPTION ? v->cls : I->exception_cls;
}

static const char *exception_message(Elab *I, Value *v)
{
    if (v->kind == V_OBJECT && v->obj->cls->tk == TK_EXCEPTION) {
        const char *m = v->obj->message ? v->obj->message : "";
        return *m ? arena_printf(I->a, "%s: %s", v->obj->cls->name, m) : v->obj->cls->name;
    }
    return NULL;
}

/* ------------------------------------------------------------------ raise */

ExecStatus exec_raise(Elab *I, Env *env, Stmt *s)
{
    Value *v;
    if (!s->expr) {
        if (!I->handling) {
            diag_error(I->d, s->loc, "RuntimeError: No active exception to reraise");
            return EX_ERROR;
        }
        v = I->handling;
    } else {
        v = eval_expr(I, env, s->expr);
        if (!v || v->kind == V_POISON) return EX_ERROR;
    }
    if (v->kind == V_CLASS && v->cls->tk == TK_EXCEPTION) {   /* `raise ValueError` */
        v = call0(I, v, s->loc);
        if (!v) return EX_ERROR;
    }
    const char *m = exception_message(I, v);
    if (!m) {
        diag_error(I->d, s->loc, "TypeError: exceptions must derive from BaseException, not '%s'", v_type_name(v));
        return EX_ERROR;
    }
    I->raised = v;
    I->raised_capture = I->d->capture;
    I->raised_index = I->d->capture ? I->d->capture->n : -1;
    diag_error(I->d, s->loc, "%s", m);
    return EX_ERROR;
}

/* ------------------------------------------------------------------ try */

/* The Python exception class of one of the compiler's error messages; NULL for the
 * compiler's own limits, which no handler may catch. */
static const char *classify(const char *msg)
{
    static const char *const never[] = {
        "not supported in .bcl", "ran more than", "maximum recursion", "tensor data", "nested too deeply",
        "not provided by bclc", "is not known at compile time", "too large", "too many errors",
    };
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        if (strstr(msg, never[i])) return NULL;
    static const char *const by_text[][2] = {
        {"is not defined", "NameError"}, {"has no attribute", "AttributeError"},
        {"not found in dict", "KeyError"}, {"out of range", "IndexError"},
        {"assertion failed", "AssertionError"}, {"by zero", "ZeroDivisionError"},
        {"StopIteration", "StopIteration"}, {"overflow", "OverflowError"},
        {"invalid literal", "ValueError"}, {"math domain error", "ValueError"},
        {"values to unpack", "ValueError"}, {"is not in list", "ValueError"}, {"could not convert", "ValueError"},
        {"argument", "TypeError"}, {"not callable", "TypeError"}, {"unsupported operand", "TypeError"},
        {"not iterable", "TypeError"}, {"not subscriptable", "TypeError"}, {"must be", "TypeError"},
        {"unhashable", "TypeError"}, {"object is not", "TypeError"}, {"not supported between", "TypeError"},
        {"bad operand", "TypeError"}, {"does not support", "TypeError"}, {"has no len", "TypeError"},
        {"takes", "TypeError"}, {"got an unexpected keyword", "TypeError"}, {"missing required", "TypeError"},
    };
    for (size_t i = 0; i < sizeof by_text / sizeof *by_text; i++)
        if (strstr(msg, by_text[i][0])) return by_text[i][1];
    return "RuntimeError";
}

/* The exception a failed `try` body raised, or NULL if it may not be caught. */
static Value *pending_exception(Elab *I, DiagCapture *cap)
{
    if (cap->n == 0) return NULL;   /* an error already reported elsewhere (a poisoned name) */
    if (I->raised && I->raised_capture == cap && I->raised_index == 0) return I->raised;
    const char *msg = cap->r[0].msg;
    /* a message that starts with a class name ("KeyError: 'x'") is that exception */
    const char *colon = strstr(msg, ": ");
    ClassObj *c = NULL;
    const char *text = msg;
    if (colon) {
        Value *named = env_get_local(I->builtins, arena_strndup(I->a, msg, (size_t)(colon - msg)));
        if (named && named->kind == V_CLASS && named->cls->tk == TK_EXCEPTION) {
            c = named->cls;
            text = colon + 2;
        }
    }
    if (!c) {
        const char *name = classify(msg);
        if (!name) return NULL;
        c = exception_class(I, name);
    }
    Value *obj = ARENA_NEW(I->a, Value);
    obj->kind = V_OBJECT;
    obj->obj = ARENA_NEW(I->a, ObjectObj);
    obj->obj->cls = c;
    obj->obj->message = arena_strdup(I->a, text);
    if (c == exception_class(I, "AssertionError") && !strncmp(text, "assertion failed", 16))
        obj->obj->message = arena_strdup(I->a, text[16] == ':' ? text + 18 : "");
    /* str(KeyError) is the key's repr, as in Python */
    size_t tl = strlen(text), sl = strlen(" not found in dict");
    if (c == exception_class(I, "KeyError") && !strncmp(text, "key ", 4) && tl > 4 + sl &&
        !strcmp(text + tl - sl, " not found in dict"))
        obj->obj->message = arena_strndup(I->a, text + 4, tl - 4 - sl);
    obj->obj->made_at = cap->r[0].loc;
    return obj;
}

/* Ends a capture whose exception was not caught here: its held errors go where they
 * would have gone, and a raised exception it holds keeps its place in the enclosing one. */
static void pass_on_capture(Elab *I, DiagCapture *cap)
{
    bool mine = I->raised && I->raised_capture == cap;
    int at = cap->up ? cap->up->n + I->raised_index : -1;
    diag_capture_end(I->d, cap, true);
    if (mine) {
        I->raised_capture = cap->up;
        I->raised_index = at;
    }
}

/* getattr(obj, name, default) / hasattr: the attribute, with an AttributeError raised
 * while looking it up (a property, __getattr__) caught as Python's do; *out NULL when
 * there is none. Any other error stays reported: false then. */
bool try_attr_catching(Elab *I, Value *obj, const char *name, Value **out)
{
    DiagCapture cap;
    Value *saved = I->raised;
    int before = I->d->n_errors;
    I->raised = NULL;
    diag_capture_begin(I->d, &cap);
    *out = try_attr(I, obj, name);
    if (I->d->n_errors == before) {
        diag_capture_end(I->d, &cap, true);
        I->raised = saved;
        return true;
    }
    *out = NULL;
    Value *exc = pending_exception(I, &cap);
    if (exc && class_is_sub(exc->obj->cls, exception_class(I, "AttributeError"))) {
        diag_capture_end(I->d, &cap, false);
        I->raised = saved;
        return true;
    }
    pass_on_capture(I, &cap);
    return false;
}

/* Whether handler h catches exc: 1 yes, 0 no, -1 the handler's type failed. */
static int handler_matches(Elab *I, Env *env, ExceptHandler *h, Value *exc)
{
    if (!h->type) return 1;
    Value *t = eval_expr(I, env, h->type);
    if (!t || t->kind == V_POISON) return -1;
    Seq one = {1, 1, &t};
    Seq *ts = t->kind == V_TUPLE ? t->seq : &one;
    for (int i = 0; i < ts->n; i++) {
        Value *c = ts->v[i];
        if (c->kind != V_CLASS || c->cls->tk != TK_EXCEPTION) {
            diag_error(I->d, h->type->loc, "TypeError: catching classes that do not inherit from BaseException is not allowed");
            return -1;
        }
        if (class_is_sub(exc->obj->cls, c->cls)) return 1;
    }
    return 0;
}

ExecStatus exec_try(Elab *I, Env *env, Stmt *s, Value **ret)
{
    ExecStatus st;
    if (s->try_.n_handlers == 0) {
        st = exec_block(I, env, &s->try_.body, ret);
    } else {
        DiagCapture cap;
        I->raised = NULL;
        diag_capture_begin(I->d, &cap);
        st = exec_block(I, env, &s->try_.body, ret);
        int caught = -1;
        Value *exc = NULL;
        if (st == EX_ERROR && (exc = pending_exception(I, &cap))) {
            /* the handlers' types are evaluated outside the capture: their errors are real */
            I->d->capture = cap.up;
            for (int i = 0; i < s->try_.n_handlers && caught < 0; i++) {
                int m = handler_matches(I, env, &s->try_.handlers[i], exc);
                if (m < 0) {
                    I->d->capture = &cap;
                    diag_capture_end(I->d, &cap, false);
                    return EX_ERROR;
                }
                if (m) caught = i;
            }
            I->d->capture = &cap;
        }
        if (caught >= 0) {
            diag_capture_end(I->d, &cap, false);
            I->raised = NULL;
            ExceptHandler *h = &s->try_.handlers[caught];
            if (h->name) bind_name(I, env, h->name, exc);
            Value *outer = I->handling;
            I->handling = exc;
            st = exec_block(I, env, &h->body, ret);
            I->handling = outer;
        } else {
            /* not caught here: the held errors go where they would have gone */
            pass_on_capture(I, &cap);
            if (st == EX_NORMAL) st = exec_block(I, env, &s->try_.orelse, ret);
        }
    }
    if (s->try_.finalbody.n) {
        Value *fret = NULL;
        ExecStatus fs = exec_block(I, env, &s->try_.finalbody, &fret);
        if (fs != EX_NORMAL) {   /* a return/break in `finally` wins, as in Python */
            if (fs == EX_RETURN) *ret = fret;
            return fs;
        }
    }
    return st;
}

/* ------------------------------------------------------------------ with */

static Value *method_of(Elab *I, Value *obj, const char *name)
{
    return obj->kind == V_OBJECT ? try_attr(I, obj, name) : NULL;
}

ExecStatus exec_with(Elab *I, Env *env, Stmt *s, Value **ret)
{
    Value **exits = ARENA_NEWN(I->a, Value *, s->with_.n + 1);
    int entered = 0;
    ExecStatus st = EX_NORMAL;
    for (int i = 0; i < s->with_.n && st == EX_NORMAL; i++) {
        WithItem *w = &s->with_.items[i];
        Value *ctx = eval_expr(I, env, w->ctx);
        if (!ctx || ctx->kind == V_POISON) { st = EX_ERROR; break; }
        Value *enter = method_of(I, ctx, "__enter__"), *exit = method_of(I, ctx, "__exit__");
        if (!enter || !exit) {
            diag_error(I->d, w->ctx->loc, "TypeError: '%s' object does not support the context manager protocol "
                       "(a class with __enter__ and __exit__ is needed)", v_type_name(ctx));
            st = EX_ERROR;
            break;
        }
        Value *v = call0(I, enter, w->ctx->loc);
        if (!v) { st = EX_ERROR; break; }
        exits[entered++] = exit;
        if (w->target && !assign_to(I, env, w->target, v, w->ctx->loc)) st = EX_ERROR;
    }
    if (st != EX_NORMAL) return st;   /* entering failed: nothing entered to leave but the
                                          earlier managers, whose errors stand */
    /* the body runs with its errors held, as a `try` does, so that __exit__ sees the
     * exception Python would have raised and may suppress it (a true result) */
    DiagCapture cap;
    I->raised = NULL;
    diag_capture_begin(I->d, &cap);
    st = exec_block(I, env, &s->with_.body, ret);
    Value *exc = st == EX_ERROR ? pending_exception(I, &cap) : NULL;
    bool suppressed = false, exit_failed = false;
    I->d->capture = cap.up;   /* errors of __exit__ itself are reported as they happen */
    for (int i = entered - 1; i >= 0; i--) {
        if (st == EX_ERROR && !exc) break;   /* a limit of the compiler, not an exception */
        CallArgs a;
        callargs_init(&a);
        if (exc) {
            Value *cls = ARENA_NEW(I->a, Value);
            cls->kind = V_CLASS;
            cls->cls = exc->obj->cls;
            callargs_pos(I, &a, cls, s->loc);
            callargs_pos(I, &a, exc, s->loc);
            callargs_pos(I, &a, V_NONE_, s->loc);
        } else {
            for (int k = 0; k < 3; k++) callargs_pos(I, &a, V_NONE_, s->loc);
        }
        Value *r = call_value(I, exits[i], &a, s->loc);
        if (!r) {
            exit_failed = true;
            break;
        }
        if (exc) {
            int t = truthy(I, r, s->loc);
            if (t < 0) {
                exit_failed = true;
                break;
            }
            if (t) {   /* __exit__ returned true: the exception is swallowed */
                suppressed = true;
                exc = NULL;
                st = EX_NORMAL;
            }
        }
    }
    I->d->capture = &cap;
    bool mine = I->raised && I->raised_capture == &cap;
    int at = cap.up ? cap.up->n + I->raised_index : -1;
    diag_capture_end(I->d, &cap, !suppressed);
    if (suppressed) {
        I->raised = NULL;
    } else if (mine) {
        I->raised_capture = cap.up;
        I->raised_index = at;
    }
    if (exit_failed) st = EX_ERROR;
    return st;
}
