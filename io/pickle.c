/* The restricted unpickler: a stack machine over the pickle opcodes that state dicts
 * use, with an allow-list of globals that build values instead of running code. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/io_util.h"
#include "support/oom.h"
#include "io/pickle.h"

/* A memo index beyond this is refused before the memo grows (a "memo bomb" asks for
 * billions of slots with one LONG_BINPUT). Real checkpoints use a few per tensor. */
#define PK_MAX_MEMO (1 << 22)
#define PK_MAX_STACK (1 << 24)

/* ---- the allow-list ---- */

typedef enum PkFn {
    FN_ORDERED_DICT, FN_NP_RECONSTRUCT, FN_NP_NDARRAY, FN_NP_DTYPE, FN_NP_FROMBUFFER,
    FN_NP_SCALAR, FN_CODECS_ENCODE, FN_TORCH_REBUILD_V2, FN_TORCH_REBUILD, FN_TORCH_PARAM,
    FN_TORCH_STORAGE, FN_MGE_TENSOR, FN_SET
} PkFn;

static const struct Allowed {
    const char *module, *name;
    PkFn fn;
    PkDtype dtype;   /* FN_TORCH_STORAGE: its element type */
} allowed[] = {
    {"collections", "OrderedDict", FN_ORDERED_DICT, 0},
    {"builtins", "set", FN_SET, 0},          /* protocols 2 and 3 pickle sets by REDUCE */
    {"builtins", "frozenset", FN_SET, 0},
    {"__builtin__", "set", FN_SET, 0},       /* protocol 2 writes Python 2's module name */
    {"__builtin__", "frozenset", FN_SET, 0},
    {"numpy.core.multiarray", "_reconstruct", FN_NP_RECONSTRUCT, 0},
    {"numpy._core.multiarray", "_reconstruct", FN_NP_RECONSTRUCT, 0},
    {"numpy.core.multiarray", "scalar", FN_NP_SCALAR, 0},
    {"numpy._core.multiarray", "scalar", FN_NP_SCALAR, 0},
    {"numpy.core.numeric", "_frombuffer", FN_NP_FROMBUFFER, 0},
    {"numpy._core.numeric", "_frombuffer", FN_NP_FROMBUFFER, 0},
    {"numpy", "ndarray", FN_NP_NDARRAY, 0},
    {"numpy", "dtype", FN_NP_DTYPE, 0},
    {"_codecs", "encode", FN_CODECS_ENCODE, 0},
    {"torch._utils", "_rebuild_tensor_v2", FN_TORCH_REBUILD_V2, 0},
    {"torch._utils", "_rebuild_tensor", FN_TORCH_REBUILD, 0},
    {"torch._utils", "_rebuild_parameter", FN_TORCH_PARAM, 0},
    {"torch._utils", "_rebuild_parameter_with_state", FN_TORCH_PARAM, 0},
    {"torch", "FloatStorage", FN_TORCH_STORAGE, PK_F32},
    {"torch", "DoubleStorage", FN_TORCH_STORAGE, PK_F64},
    {"torch", "HalfStorage", FN_TORCH_STORAGE, PK_F16},
    {"torch", "BFloat16Storage", FN_TORCH_STORAGE, PK_BF16},
    {"torch", "LongStorage", FN_TORCH_STORAGE, PK_I64},
    {"torch", "IntStorage", FN_TORCH_STORAGE, PK_I32},
    {"torch", "ShortStorage", FN_TORCH_STORAGE, PK_I16},
    {"torch", "CharStorage", FN_TORCH_STORAGE, PK_I8},
    {"torch", "ByteStorage", FN_TORCH_STORAGE, PK_U8},
    {"torch", "BoolStorage", FN_TORCH_STORAGE, PK_B1},
    {"megengine.tensor", "Tensor", FN_MGE_TENSOR, 0},
    {"megengine.tensor", "Parameter", FN_MGE_TENSOR, 0},
    {"megengine.tensor", "Buffer", FN_MGE_TENSOR, 0},
};
#define N_ALLOWED ((int)(sizeof allowed / sizeof allowed[0]))

static const char *const kind_names[] = {
    "None", "bool", "int", "int", "float", "str", "bytes", "tuple", "list", "dict", "set",
    "global", "numpy.dtype", "storage", "tensor", "object"};
const char *pk_kind_name(PkKind k) { return kind_names[k]; }

static const size_t itemsizes[PK_N_DTYPES] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};
static const char *const dtype_names[PK_N_DTYPES] = {
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"};
size_t pk_itemsize(PkDtype t) { return itemsizes[t]; }
const char *pk_dtype_name(PkDtype t) { return dtype_names[t]; }

/* ---- machine state ---- */

typedef struct Vm {
    Unpickler *u;
    size_t op_pos;               /* offset of the opcode being run, for messages */
    PkValue **stack;
    int sp, cap;
    int *marks;
    int n_marks, cap_marks;
    PkValue **memo;
    size_t cap_memo, n_memo;   /* n_memo: filled slots (MEMOIZE stores at that index) */
    int failed;
} Vm;

static int fail(Vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Vm *vm, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!vm->failed)
        diag_error_path(vm->u->d, vm->u->path, "pickle at byte %zu: %s", vm->op_pos, msg);
    vm->failed = 1;
    return -1;
}

static PkValue *new_value(Vm *vm, PkKind k)
{
    PkValue *v = ARENA_NEW(vm->u->arena, PkValue);
    v->kind = k;
    return v;
}

static int push(Vm *vm, PkValue *v)
{
    if (vm->sp == vm->cap) {
        if (vm->cap >= PK_MAX_STACK) return fail(vm, "the stack exceeds %d values", PK_MAX_STACK);
        int cap = vm->cap ? vm->cap * 2 : 64;
        PkValue **s = bcl_realloc(vm->stack, (size_t)cap * sizeof *s);
        if (!s) return fail(vm, "out of memory");
        vm->stack = s, vm->cap = cap;
    }
    vm->stack[vm->sp++] = v;
    return 0;
}

static PkValue *pop(Vm *vm)
{
    int floor = vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
    if (vm->sp <= floor) {
        fail(vm, "stack underflow");
        return NULL;
    }
    return vm->stack[--vm->sp];
}

static PkValue *top(Vm *vm)
{
    int floor = vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
    if (vm->sp <= floor) {
        fail(vm, "stack underflow");
        return NULL;
    }
    return vm->stack[vm->sp - 1];
}

/* Pops to the last MARK: *first is the index of the first item above it. */
static int pop_mark(Vm *vm, int *first)
{
    if (!vm->n_marks) return fail(vm, "no MARK on the stack");
    *first = vm->marks[--vm->n_marks];
    return 0;
}

static int add_item(Vm *vm, PkValue *c, PkValue *x)
{
    if (c->n_items == c->cap_items) {
        int cap = c->cap_items ? c->cap_items * 2 : 8;
        c->items = arena_grow(vm->u->arena, c->items, (size_t)c->n_items, (size_t)cap, sizeof *c->items);
        c->cap_items = cap;
    }
    c->items[c->n_items++] = x;
    return 0;
}

/* The stack from position i (NULL while the stack was never allocated: no pointer
 * arithmetic on NULL, which UBSan reports; found by tests/fuzz/fuzz_weights). */
static PkValue **stack_at(Vm *vm, int i) { return vm->stack ? vm->stack + i : NULL; }

static PkValue *make_seq(Vm *vm, PkKind k, PkValue **items, int n)
{
    PkValue *t = new_value(vm, k);
    t->items = ARENA_NEWN(vm->u->arena, PkValue *, n ? n : 1);
    if (n) memcpy(t->items, items, (size_t)n * sizeof *items);
    t->n_items = t->cap_items = n;
    return t;
}

static int memo_put(Vm *vm, size_t idx, PkValue *v)
{
    if (!v) return -1;
    if (idx >= PK_MAX_MEMO) return fail(vm, "memo index %zu exceeds the limit of %d", idx, PK_MAX_MEMO);
    if (idx >= vm->cap_memo) {
        size_t cap = vm->cap_memo ? vm->cap_memo : 64;
        while (cap <= idx) cap *= 2;
        PkValue **m = bcl_realloc(vm->memo, cap * sizeof *m);
        if (!m) return fail(vm, "out of memory");
        memset(m + vm->cap_memo, 0, (cap - vm->cap_memo) * sizeof *m);
        vm->memo = m, vm->cap_memo = cap;
    }
    if (!vm->memo[idx]) vm->n_memo++;
    vm->memo[idx] = v;
    return 0;
}

static int memo_get(Vm *vm, size_t idx)
{
    if (idx >= vm->cap_memo || !vm->memo[idx]) return fail(vm, "memo index %zu was never stored", idx);
    return push(vm, vm->memo[idx]);
}

/* ---- reading the stream ---- */

static const unsigned char *take(Vm *vm, size_t n)
{
    Unpickler *u = vm->u;
    if (n > u->len - u->pos) {
        fail(vm, "truncated: %zu more bytes needed, %zu left", n, u->len - u->pos);
        return NULL;
    }
    const unsigned char *p = u->buf + u->pos;
    u->pos += n;
    return p;
}

/* A text line (GLOBAL's module and name), without its newline. */
static const unsigned char *take_line(Vm *vm, size_t *n)
{
    Unpickler *u = vm->u;
    const unsigned char *p = u->buf + u->pos;
    const unsigned char *nl = memchr(p, '\n', u->len - u->pos);
    if (!nl) {
        fail(vm, "truncated: unterminated text line");
        return NULL;
    }
    *n = (size_t)(nl - p);
    u->pos += *n + 1;
    return p;
}

static bool str_is(const PkValue *v, const char *s)
{
    return v && v->kind == PK_STR && v->n == strlen(s) && !memcmp(v->s, s, v->n);
}

static bool seq_kind(const PkValue *v) { return v && (v->kind == PK_TUPLE || v->kind == PK_LIST); }

PkValue *pk_dict_get(const PkValue *dict, const char *key)
{
    if (!dict || dict->kind != PK_DICT) return NULL;
    PkValue *hit = NULL;   /* the last one wins, as in Python */
    for (int i = 0; i + 1 < dict->n_items; i += 2)
        if (str_is(dict->items[i], key)) hit = dict->items[i + 1];
    return hit;
}

/* A global on the allow-list becomes its entry; any other one a named placeholder
 * (i = -1, s: "module.name") that is never called: objects built from it are opaque
 * PK_OBJECTs, refused where a tensor is needed and ignored elsewhere (the training
 * arguments, configs and optimizer objects that whole checkpoints carry). */
static int push_global(Vm *vm, const unsigned char *mod, size_t nm, const unsigned char *name, size_t nn)
{
    PkValue *g = new_value(vm, PK_GLOBAL);
    g->i = -1;
    for (int i = 0; i < N_ALLOWED; i++)
        if (strlen(allowed[i].module) == nm && !memcmp(allowed[i].module, mod, nm) &&
            strlen(allowed[i].name) == nn && !memcmp(allowed[i].name, name, nn))
            g->i = i;
    if (g->i < 0) {
        char a[200], b[200], full[420];
        snprintf(full, sizeof full, "%s.%s", bcl_printable((const char *)mod, nm, a, sizeof a),
                 bcl_printable((const char *)name, nn, b, sizeof b));
        g->s = (const unsigned char *)arena_strndup(vm->u->arena, full, strlen(full));
        g->n = strlen(full);
        if (!vm->u->n_foreign++) vm->u->first_foreign = (const char *)g->s;
    }
    return push(vm, g);
}

static bool is_fn(const PkValue *v, PkFn fn) { return v && v->kind == PK_GLOBAL && v->i >= 0 && allowed[v->i].fn == fn; }

/* A placeholder or an object made from one: what calling it gives (still opaque). */
static bool is_foreign(const PkValue *v) { return v && ((v->kind == PK_GLOBAL && v->i < 0) || v->kind == PK_OBJECT); }

static PkValue *foreign_object(Vm *vm, const PkValue *from)
{
    PkValue *o = new_value(vm, PK_OBJECT);
    o->s = from->s, o->n = from->n;
    return o;
}

/* ---- numbers and shapes ---- */

static int int_of(Vm *vm, const PkValue *v, const char *what, int64_t *out)
{
    if (!v || (v->kind != PK_INT && v->kind != PK_BOOL))
        return fail(vm, "%s: expected an int, got %s", what, v ? pk_kind_name(v->kind) : "nothing");
    *out = v->i;
    return 0;
}

static int shape_of(Vm *vm, const PkValue *v, const char *what, int *rank, int64_t *d)
{
    if (!seq_kind(v)) return fail(vm, "%s: expected a tuple, got %s", what, v ? pk_kind_name(v->kind) : "nothing");
    if (v->n_items > BCL_MAX_RANK) return fail(vm, "%s: rank %d exceeds the limit of %d", what, v->n_items, BCL_MAX_RANK);
    *rank = v->n_items;
    for (int i = 0; i < v->n_items; i++) {
        if (int_of(vm, v->items[i], what, &d[i])) return -1;
        if (d[i] < 0) return fail(vm, "%s: negative size %lld", what, (long long)d[i]);
    }
    return 0;
}

/* numpy dtype strings: "f4", "<f4", "float32", ... */
static int dtype_from_str(Vm *vm, const PkValue *s, PkValue *dt)
{
    if (!s || s->kind != PK_STR) return fail(vm, "numpy.dtype: expected a str");
    static const struct { const char *code; PkDtype t; } codes[] = {
        {"f4", PK_F32}, {"f8", PK_F64}, {"f2", PK_F16}, {"i8", PK_I64}, {"i4", PK_I32},
        {"i2", PK_I16}, {"i1", PK_I8}, {"u1", PK_U8}, {"b1", PK_B1}, {"float32", PK_F32},
        {"float64", PK_F64}, {"float16", PK_F16}, {"int64", PK_I64}, {"int32", PK_I32},
        {"int16", PK_I16}, {"int8", PK_I8}, {"uint8", PK_U8}, {"bool", PK_B1}};
    const char *p = (const char *)s->s;
    size_t n = s->n;
    dt->byteorder = '=';
    if (n && (*p == '<' || *p == '>' || *p == '|' || *p == '=')) dt->byteorder = *p, p++, n--;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strlen(codes[i].code) == n && !memcmp(codes[i].code, p, n)) {
            dt->dtype = codes[i].t;
            return 0;
        }
    char b[64];
    return fail(vm, "numpy dtype '%s' is not supported (float, int, uint8 and bool are)",
                bcl_printable((const char *)s->s, s->n, b, sizeof b));
}

static int check_byteorder(Vm *vm, const PkValue *dt)
{
    if (dt->byteorder == '>' && pk_itemsize(dt->dtype) > 1)
        return fail(vm, "big-endian %s arrays are not supported", pk_dtype_name(dt->dtype));
    return 0;
}

/* A C-order (or Fortran-order) tensor over a whole buffer of exactly its size. */
static int array_over(Vm *vm, PkValue *t, PkDtype dt, int rank, const int64_t *shape, bool fortran,
                      const unsigned char *data, size_t nbytes)
{
    int64_t numel = 1, bytes = -1;
    for (int i = 0; i < rank; i++)
        if (!io_mul_ok(numel, shape[i], &numel)) return fail(vm, "array size overflows");
    if (!io_mul_ok(numel, (int64_t)pk_itemsize(dt), &bytes) || (uint64_t)bytes != nbytes)
        return fail(vm, "array data has %zu bytes, its shape and dtype need %lld", nbytes, (long long)bytes);
    PkStorage *s = ARENA_NEW(vm->u->arena, PkStorage);
    *s = (PkStorage){NULL, dt, numel, data, nbytes};
    t->kind = PK_TENSOR;
    t->pending = false;
    t->storage = s;
    t->dtype = dt;
    t->rank = rank;
    t->offset = 0;
    int64_t st = 1;
    for (int k = 0; k < rank; k++) {
        int i = fortran ? k : rank - 1 - k;
        t->shape[i] = shape[i];
        t->stride[i] = st;
        st *= shape[i] ? shape[i] : 1;
    }
    return 0;
}

/* ---- calls on allowed globals ---- */

static int latin1_encode(Vm *vm, const PkValue *s, PkValue *out)
{
    /* each code point <= 255 becomes one byte: numpy's protocol-2 array data */
    unsigned char *b = arena_alloc(vm->u->arena, s->n ? s->n : 1);
    size_t n = 0;
    for (size_t i = 0; i < s->n;) {
        unsigned c = s->s[i];
        if (c < 0x80) {
            b[n++] = (unsigned char)c, i++;
        } else if ((c & 0xe0) == 0xc0 && i + 1 < s->n && (s->s[i + 1] & 0xc0) == 0x80) {
            unsigned cp = (c & 0x1f) << 6 | (s->s[i + 1] & 0x3f);
            if (cp > 0xff) return fail(vm, "_codecs.encode: a character beyond latin-1");
            b[n++] = (unsigned char)cp, i += 2;
        } else {
            return fail(vm, "_codecs.encode: a character beyond latin-1 or invalid UTF-8");
        }
    }
    out->kind = PK_BYTES;
    out->s = b;
    out->n = n;
    return 0;
}

static int call(Vm *vm, PkValue *fn, PkValue *args, PkValue **out)
{
    if (is_foreign(fn)) {   /* never run: an opaque object of that class */
        *out = foreign_object(vm, fn);
        return 0;
    }
    if (!fn || fn->kind != PK_GLOBAL)
        return fail(vm, "REDUCE on a %s, which is not callable here", fn ? pk_kind_name(fn->kind) : "nothing");
    if (!args || args->kind != PK_TUPLE) return fail(vm, "REDUCE without an argument tuple");
    const struct Allowed *a = &allowed[fn->i];
    PkValue **x = args->items;
    int n = args->n_items;
    PkValue *r = new_value(vm, PK_NONE);
    *out = r;
    switch (a->fn) {
    case FN_ORDERED_DICT:
        r->kind = PK_DICT;
        if (n == 0) return 0;
        if (n == 1 && seq_kind(x[0])) {   /* OrderedDict([[k, v], ...]) */
            for (int i = 0; i < x[0]->n_items; i++) {
                PkValue *p = x[0]->items[i];
                if (!seq_kind(p) || p->n_items != 2) return fail(vm, "OrderedDict: expected (key, value) pairs");
                add_item(vm, r, p->items[0]), add_item(vm, r, p->items[1]);
            }
            return 0;
        }
        return fail(vm, "OrderedDict: unexpected arguments");
    case FN_SET:               /* set([items]) */
        r->kind = PK_SET;
        if (n == 0) return 0;
        if (n == 1 && seq_kind(x[0])) {
            for (int i = 0; i < x[0]->n_items; i++) add_item(vm, r, x[0]->items[i]);
            return 0;
        }
        return fail(vm, "set: unexpected arguments");
    case FN_NP_RECONSTRUCT:
        if (n != 3 || !is_fn(x[0], FN_NP_NDARRAY)) return fail(vm, "numpy _reconstruct: expected (numpy.ndarray, shape, dtype)");
        r->kind = PK_TENSOR;
        r->pending = true;
        return 0;
    case FN_NP_DTYPE:
        if (n < 1) return fail(vm, "numpy.dtype: no arguments");
        r->kind = PK_DTYPE;
        return dtype_from_str(vm, x[0], r);
    case FN_CODECS_ENCODE:
        if (n != 2 || !x[0] || x[0]->kind != PK_STR || !str_is(x[1], "latin1"))
            return fail(vm, "_codecs.encode: only (str, 'latin1') is accepted");
        return latin1_encode(vm, x[0], r);
    case FN_NP_FROMBUFFER: {   /* (buffer, dtype, shape, order) from protocol 5 */
        int rank;
        int64_t shape[BCL_MAX_RANK];
        if (n != 4 || !x[0] || x[0]->kind != PK_BYTES || !x[1] || x[1]->kind != PK_DTYPE)
            return fail(vm, "numpy _frombuffer: expected (bytes, dtype, shape, order)");
        if (check_byteorder(vm, x[1]) || shape_of(vm, x[2], "numpy _frombuffer shape", &rank, shape)) return -1;
        return array_over(vm, r, x[1]->dtype, rank, shape, str_is(x[3], "F"), x[0]->s, x[0]->n);
    }
    case FN_NP_SCALAR:         /* numpy scalars, e.g. np.float32(0.5) */
        if (n != 2 || !x[0] || x[0]->kind != PK_DTYPE || !x[1] || x[1]->kind != PK_BYTES)
            return fail(vm, "numpy scalar: expected (dtype, bytes)");
        if (check_byteorder(vm, x[0])) return -1;
        return array_over(vm, r, x[0]->dtype, 0, NULL, false, x[1]->s, x[1]->n);
    case FN_TORCH_REBUILD_V2:
    case FN_TORCH_REBUILD: {   /* (storage, offset, size, stride, ...) */
        if (n < 4 || !x[0] || x[0]->kind != PK_STORAGE)
            return fail(vm, "torch _rebuild_tensor: expected (storage, offset, size, stride, ...)");
        int rank, srank;
        r->kind = PK_TENSOR;
        r->storage = x[0]->storage;
        r->dtype = r->storage->dtype;
        if (int_of(vm, x[1], "tensor storage offset", &r->offset) || shape_of(vm, x[2], "tensor size", &rank, r->shape) ||
            shape_of(vm, x[3], "tensor stride", &srank, r->stride))
            return -1;
        if (r->offset < 0) return fail(vm, "negative tensor storage offset");
        if (rank != srank) return fail(vm, "tensor size has %d dims, its stride %d", rank, srank);
        r->rank = rank;
        return 0;
    }
    case FN_TORCH_PARAM:
        if (n < 1 || !x[0] || x[0]->kind != PK_TENSOR) return fail(vm, "torch _rebuild_parameter: expected a tensor");
        *out = x[0];
        return 0;
    case FN_MGE_TENSOR:        /* Tensor(ndarray, dtype, device) via NEWOBJ */
        if (n == 0) {          /* early MegEngine 1.x: the array comes in the state, "data" */
            r->kind = PK_TENSOR;
            r->pending = true;
            return 0;
        }
        if (!x[0] || x[0]->kind != PK_TENSOR) return fail(vm, "megengine %s: expected a numpy array as its first argument", a->name);
        *out = x[0];
        return 0;
    case FN_NP_NDARRAY:
    case FN_TORCH_STORAGE:
        break;
    }
    return fail(vm, "'%s.%s' cannot be called", a->module, a->name);
}

/* BUILD: __setstate__ of the few objects that have one. */
static int build(Vm *vm, PkValue *obj, PkValue *state)
{
    if (!obj || !state) return -1;
    if (obj->kind == PK_TENSOR && obj->pending && state->kind == PK_DICT) {   /* {"data": array, ...} */
        PkValue *data = pk_dict_get(state, "data");
        if (!data || data->kind != PK_TENSOR || data->pending)
            return fail(vm, "megengine tensor state: no \"data\" array");
        *obj = *data;
        return 0;
    }
    if (obj->kind == PK_TENSOR && obj->pending) {
        /* numpy: (version, shape, dtype, is_fortran, raw bytes) */
        int rank;
        int64_t shape[BCL_MAX_RANK];
        if (state->kind != PK_TUPLE || state->n_items != 5) return fail(vm, "numpy array state: expected a 5-tuple");
        PkValue **s = state->items;
        if (shape_of(vm, s[1], "numpy array shape", &rank, shape)) return -1;
        if (!s[2] || s[2]->kind != PK_DTYPE) return fail(vm, "numpy array state: no dtype");
        if (check_byteorder(vm, s[2])) return -1;
        if (!s[4] || s[4]->kind != PK_BYTES)
            return fail(vm, "numpy array data is a %s, not bytes (object arrays are not supported)",
                        s[4] ? pk_kind_name(s[4]->kind) : "nothing");
        bool fortran = s[3] && (s[3]->kind == PK_BOOL || s[3]->kind == PK_INT) && s[3]->i;
        return array_over(vm, obj, s[2]->dtype, rank, shape, fortran, s[4]->s, s[4]->n);
    }
    if (obj->kind == PK_DTYPE) {
        /* (version, byteorder, ...) */
        if (state->kind != PK_TUPLE || state->n_items < 2 || !state->items[1] || state->items[1]->kind != PK_STR ||
            state->items[1]->n != 1)
            return fail(vm, "numpy dtype state: expected (version, byteorder, ...)");
        obj->byteorder = (char)state->items[1]->s[0];
        return 0;
    }
    /* attributes of an OrderedDict (_metadata), a MegEngine tensor (qdict) or an opaque
     * object: not weights */
    if (obj->kind == PK_OBJECT) {   /* kept: a pickled torch module's __dict__ holds its weights */
        if (state->kind == PK_DICT && !obj->n_items) add_item(vm, obj, state);
        return 0;
    }
    if (obj->kind == PK_DICT || obj->kind == PK_TENSOR) return 0;
    return fail(vm, "BUILD on a %s is not supported", pk_kind_name(obj->kind));
}

/* BINPERSID: torch's ('storage', storage type, key, location, numel[, view]). */
static int persistent_load(Vm *vm, PkValue *pid)
{
    /* legacy torch.save(model): ('module', class, source file, source) stands for the
     * class (its source is never looked at) */
    if (pid && pid->kind == PK_TUPLE && pid->n_items >= 2 && str_is(pid->items[0], "module") && is_foreign(pid->items[1]))
        return push(vm, pid->items[1]);
    if (!pid || pid->kind != PK_TUPLE || pid->n_items < 5 || !str_is(pid->items[0], "storage"))
        return fail(vm, "persistent id: only torch storages ('storage', type, key, location, size) are accepted");
    PkValue **x = pid->items;
    if (!is_fn(x[1], FN_TORCH_STORAGE)) return fail(vm, "persistent id: the storage type is not a torch *Storage class");
    if (!x[2] || x[2]->kind != PK_STR) return fail(vm, "persistent id: the storage key is not a str");
    if (pid->n_items > 5 && x[5] && x[5]->kind != PK_NONE) return fail(vm, "storage views (old torch files) are not supported");
    PkStorage *s = ARENA_NEW(vm->u->arena, PkStorage);
    s->key = arena_strndup(vm->u->arena, (const char *)x[2]->s, x[2]->n);
    s->dtype = allowed[x[1]->i].dtype;
    if (int_of(vm, x[4], "storage size", &s->numel)) return -1;
    if (s->numel < 0) return fail(vm, "negative storage size");
    ptrvec_push(vm->u->arena, &vm->u->storages, s);
    PkValue *v = new_value(vm, PK_STORAGE);
    v->storage = s;
    return push(vm, v);
}

/* ---- the opcode loop ---- */

static const char *opcode_name(int op)
{
    switch (op) {
    case '(': return "MARK"; case '.': return "STOP"; case '0': return "POP"; case '1': return "POP_MARK";
    case '2': return "DUP"; case 'F': return "FLOAT"; case 'I': return "INT"; case 'L': return "LONG";
    case 'P': return "PERSID"; case 'S': return "STRING"; case 'V': return "UNICODE"; case 'a': return "APPEND";
    case 'g': return "GET"; case 'i': return "INST"; case 'o': return "OBJ"; case 'p': return "PUT";
    case 0x82: return "EXT1"; case 0x83: return "EXT2"; case 0x84: return "EXT4";
    case 0x97: return "NEXT_BUFFER"; case 0x98: return "READONLY_BUFFER";
    default: return NULL;
    }
}

static PkValue *str_value(Vm *vm, PkKind k, const unsigned char *p, size_t n)
{
    PkValue *v = new_value(vm, k);
    v->s = p;
    v->n = n;
    return v;
}

static int long_value(Vm *vm, const unsigned char *p, size_t n)
{
    PkValue *v = new_value(vm, PK_INT);
    if (n <= 8) {
        uint64_t x = 0;
        for (size_t i = 0; i < n; i++) x |= (uint64_t)p[i] << (8 * i);
        if (n && n < 8 && (p[n - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * n);   /* sign-extend */
        v->i = (int64_t)x;
    } else {
        v->kind = PK_BIGINT;
        v->s = p;
        v->n = n;
    }
    return push(vm, v);
}

/* The machine's stacks and memo, freed on every way out (the values live in the
 * unpickler's arena, which jumps when it cannot grow: support/oom.h). */
static void vm_free(void *arg)
{
    Vm *vm = arg;
    free(vm->stack);
    free(vm->marks);
    free(vm->memo);
    vm->stack = NULL, vm->marks = NULL, vm->memo = NULL;
}

int pk_load(Unpickler *u, PkValue **out)
{
    Vm vm = {.u = u};
    int rc = -1;
    *out = NULL;
    if (u->pos >= u->len) {
        vm.op_pos = u->pos;
        fail(&vm, "empty or truncated: no pickle data");
        return -1;
    }
    BclOomGuard guard;
    bcl_oom_guard(&guard, vm_free, &vm);
    for (;;) {
        vm.op_pos = u->pos;
        const unsigned char *p = take(&vm, 1);
        if (!p) break;
        int op = *p;
        PkValue *v = NULL, *k = NULL, *w = NULL;
        int first = 0;
        size_t n;
        int r = 0;
        switch (op) {
        case 0x80:                                        /* PROTO */
            if (!(p = take(&vm, 1))) goto done;
            if (*p < 2 || *p > 5) { fail(&vm, "pickle protocol %d is not supported (2 to 5 are)", *p); goto done; }
            break;
        case 0x95:                                        /* FRAME: a length hint */
            if (!take(&vm, 8)) goto done;
            break;
        case '.':                                         /* STOP */
            if (!(v = pop(&vm))) goto done;
            *out = v;
            rc = 0;
            goto done;
        case '(':                                         /* MARK */
            if (vm.n_marks == vm.cap_marks) {
                int cap = vm.cap_marks ? vm.cap_marks * 2 : 16;
                if (cap > PK_MAX_STACK) { fail(&vm, "too many MARKs"); goto done; }
                int *m = bcl_realloc(vm.marks, (size_t)cap * sizeof *m);
                if (!m) { fail(&vm, "out of memory"); goto done; }
                vm.marks = m, vm.cap_marks = cap;
            }
            vm.marks[vm.n_marks++] = vm.sp;
            break;
        case '0': r = pop(&vm) ? 0 : -1; break;           /* POP */
        case '1': r = pop_mark(&vm, &first); if (!r) vm.sp = first; break;   /* POP_MARK */
        case '2': r = (v = top(&vm)) ? push(&vm, v) : -1; break;             /* DUP */
        case 'N': r = push(&vm, new_value(&vm, PK_NONE)); break;
        case 0x88: case 0x89:                             /* NEWTRUE, NEWFALSE */
            v = new_value(&vm, PK_BOOL);
            v->i = op == 0x88;
            r = push(&vm, v);
            break;
        case 'J': case 'K': case 'M': {                   /* BININT, BININT1, BININT2 */
            size_t len = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (!(p = take(&vm, len))) goto done;
            v = new_value(&vm, PK_INT);
            v->i = op == 'J' ? (int32_t)io_le32(p) : op == 'K' ? p[0] : io_le16(p);
            r = push(&vm, v);
            break;
        }
        case 0x8a:                                        /* LONG1 */
            if (!(p = take(&vm, 1))) goto done;
            n = *p;
            if (!(p = take(&vm, n))) goto done;
            r = long_value(&vm, p, n);
            break;
        case 0x8b:                                        /* LONG4 */
            if (!(p = take(&vm, 4))) goto done;
            n = io_le32(p);
            if (!(p = take(&vm, n))) goto done;
            r = long_value(&vm, p, n);
            break;
        case 'G': {                                       /* BINFLOAT, big-endian */
            if (!(p = take(&vm, 8))) goto done;
            uint64_t x = 0;
            for (int i = 0; i < 8; i++) x = x << 8 | p[i];
            v = new_value(&vm, PK_FLOAT);
            v->f = io_bits_f64(x);
            r = push(&vm, v);
            break;
        }
        case 'X': case 0x8c: case 0x8d:                   /* BINUNICODE, SHORT_, 8 */
        case 'T': case 'U':                               /* BINSTRING, SHORT_BINSTRING */
        case 'B': case 'C': case 0x8e: case 0x96: {       /* BINBYTES, SHORT_, 8, BYTEARRAY8 */
            size_t lenlen = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e || op == 0x96) ? 8 : 4;
            if (!(p = take(&vm, lenlen))) goto done;
            uint64_t len = lenlen == 1 ? p[0] : lenlen == 4 ? io_le32(p) : io_le64(p);
            if (len > u->len - u->pos) {
                fail(&vm, "truncated: a string of %llu bytes, %zu left", (unsigned long long)len, u->len - u->pos);
                goto done;
            }
            p = take(&vm, (size_t)len);
            bool text = op == 'X' || op == 0x8c || op == 0x8d || op == 'T' || op == 'U';
            r = push(&vm, str_value(&vm, text ? PK_STR : PK_BYTES, p, (size_t)len));
            break;
        }
        case ')': r = push(&vm, make_seq(&vm, PK_TUPLE, NULL, 0)); break;    /* EMPTY_TUPLE */
        case ']': r = push(&vm, make_seq(&vm, PK_LIST, NULL, 0)); break;     /* EMPTY_LIST */
        case '}': r = push(&vm, make_seq(&vm, PK_DICT, NULL, 0)); break;     /* EMPTY_DICT */
        case 0x8f: r = push(&vm, make_seq(&vm, PK_SET, NULL, 0)); break;     /* EMPTY_SET */
        case 't': case 'l': case 0x91:                    /* TUPLE, LIST, FROZENSET */
            if (pop_mark(&vm, &first)) goto done;
            v = make_seq(&vm, op == 't' ? PK_TUPLE : op == 'l' ? PK_LIST : PK_SET, stack_at(&vm, first), vm.sp - first);
            vm.sp = first;
            r = push(&vm, v);
            break;
        case 0x85: case 0x86: case 0x87: {                /* TUPLE1..3 */
            int cnt = op - 0x84;
            int floor = vm.n_marks ? vm.marks[vm.n_marks - 1] : 0;
            if (vm.sp - floor < cnt) { fail(&vm, "stack underflow"); goto done; }
            v = make_seq(&vm, PK_TUPLE, vm.stack + vm.sp - cnt, cnt);
            vm.sp -= cnt;
            r = push(&vm, v);
            break;
        }
        case 'd':                                         /* DICT */
            if (pop_mark(&vm, &first)) goto done;
            if ((vm.sp - first) % 2) { fail(&vm, "DICT with an odd number of items"); goto done; }
            v = make_seq(&vm, PK_DICT, stack_at(&vm, first), vm.sp - first);
            vm.sp = first;
            r = push(&vm, v);
            break;
        case 'a':                                         /* APPEND */
            if (!(w = pop(&vm)) || !(v = top(&vm))) goto done;
            if (v->kind != PK_LIST && v->kind != PK_OBJECT) { fail(&vm, "APPEND to a %s", pk_kind_name(v->kind)); goto done; }
            if (v->kind == PK_LIST) add_item(&vm, v, w);   /* an opaque object keeps only its BUILD state */
            break;
        case 'e': case 0x90:                              /* APPENDS, ADDITEMS */
            if (pop_mark(&vm, &first)) goto done;
            if (first == 0 || (first <= (vm.n_marks ? vm.marks[vm.n_marks - 1] : 0))) { fail(&vm, "stack underflow"); goto done; }
            v = vm.stack[first - 1];
            if (v->kind != (op == 'e' ? PK_LIST : PK_SET) && v->kind != PK_OBJECT) { fail(&vm, "%s to a %s", op == 'e' ? "APPENDS" : "ADDITEMS", pk_kind_name(v->kind)); goto done; }
            for (int i = first; i < vm.sp && v->kind != PK_OBJECT; i++) add_item(&vm, v, vm.stack[i]);
            vm.sp = first;
            break;
        case 's':                                         /* SETITEM */
            if (!(w = pop(&vm)) || !(k = pop(&vm)) || !(v = top(&vm))) goto done;
            if (v->kind != PK_DICT && v->kind != PK_OBJECT) { fail(&vm, "SETITEM on a %s", pk_kind_name(v->kind)); goto done; }
            if (v->kind == PK_DICT) add_item(&vm, v, k), add_item(&vm, v, w);
            break;
        case 'u':                                         /* SETITEMS */
            if (pop_mark(&vm, &first)) goto done;
            if (first == 0 || (first <= (vm.n_marks ? vm.marks[vm.n_marks - 1] : 0))) { fail(&vm, "stack underflow"); goto done; }
            v = vm.stack[first - 1];
            if (v->kind != PK_DICT && v->kind != PK_OBJECT) { fail(&vm, "SETITEMS on a %s", pk_kind_name(v->kind)); goto done; }
            if ((vm.sp - first) % 2) { fail(&vm, "SETITEMS with an odd number of items"); goto done; }
            for (int i = first; i < vm.sp && v->kind == PK_DICT; i++) add_item(&vm, v, vm.stack[i]);
            vm.sp = first;
            break;
        case 'c': {                                       /* GLOBAL "module\nname\n" */
            size_t nm, nn;
            const unsigned char *mod = take_line(&vm, &nm), *name = mod ? take_line(&vm, &nn) : NULL;
            if (!name) goto done;
            r = push_global(&vm, mod, nm, name, nn);
            break;
        }
        case 0x93:                                        /* STACK_GLOBAL */
            if (!(w = pop(&vm)) || !(v = pop(&vm))) goto done;
            if (v->kind != PK_STR || w->kind != PK_STR) { fail(&vm, "STACK_GLOBAL needs two str"); goto done; }
            r = push_global(&vm, v->s, v->n, w->s, w->n);
            break;
        case 0x92:                                        /* NEWOBJ_EX: cls(*args, **kwargs) */
            if (!(k = pop(&vm)) || !(w = pop(&vm)) || !(v = pop(&vm))) goto done;
            if (!is_foreign(v)) { fail(&vm, "NEWOBJ_EX of a %s is not supported", pk_kind_name(v->kind)); goto done; }
            r = push(&vm, foreign_object(&vm, v));
            break;
        case 'R':                                         /* REDUCE */
        case 0x81:                                        /* NEWOBJ: cls(*args) */
            if (!(w = pop(&vm)) || !(v = pop(&vm))) goto done;
            if (op == 0x81 && !is_fn(v, FN_MGE_TENSOR) && !is_foreign(v)) {
                char b[200];
                if (v->kind == PK_GLOBAL)
                    snprintf(b, sizeof b, "'%s.%s'", allowed[v->i].module, allowed[v->i].name);
                else
                    snprintf(b, sizeof b, "a %s", pk_kind_name(v->kind));
                fail(&vm, "NEWOBJ of %s is not supported", b);
                goto done;
            }
            if (call(&vm, v, w, &k)) goto done;
            r = push(&vm, k);
            break;
        case 'b':                                         /* BUILD */
            if (!(w = pop(&vm)) || !(v = top(&vm))) goto done;
            r = build(&vm, v, w);
            break;
        case 'Q':                                         /* BINPERSID */
            if (!(v = pop(&vm))) goto done;
            r = persistent_load(&vm, v);
            break;
        case 'q':                                         /* BINPUT */
            if (!(p = take(&vm, 1))) goto done;
            r = memo_put(&vm, *p, top(&vm));
            break;
        case 'r':                                         /* LONG_BINPUT */
            if (!(p = take(&vm, 4))) goto done;
            r = memo_put(&vm, io_le32(p), top(&vm));
            break;
        case 0x94:                                        /* MEMOIZE */
            if (!(v = top(&vm))) goto done;
            r = memo_put(&vm, vm.n_memo, v);
            break;
        case 'h':                                         /* BINGET */
            if (!(p = take(&vm, 1))) goto done;
            r = memo_get(&vm, *p);
            break;
        case 'j':                                         /* LONG_BINGET */
            if (!(p = take(&vm, 4))) goto done;
            r = memo_get(&vm, io_le32(p));
            break;
        default: {
            const char *name = opcode_name(op);
            if (op == 0x97 || op == 0x98)
                fail(&vm, "opcode %s (0x%02x): the pickle's arrays were written out of band (protocol 5 with a "
                          "buffer_callback), so their data is not in this file", name, op);
            else if (name)
                fail(&vm, "opcode %s (0x%02x) is not supported in a weights file", name, op);
            else
                fail(&vm, "unknown opcode 0x%02x (not a pickle, or a corrupt one)", op);
            goto done;
        }
        }
        if (r || vm.failed) goto done;
    }
done:
    bcl_oom_unguard(&guard);
    vm_free(&vm);
    return rc;
}

/* ---- tensors to float32 ---- */

static float elem_f32(PkDtype t, const unsigned char *p)
{
    switch (t) {
    case PK_F32: return io_bits_f32(io_le32(p));
    case PK_F64: return (float)io_bits_f64(io_le64(p));
    case PK_F16: return io_f16_to_f32(io_le16(p));
    case PK_BF16: return io_bf16_to_f32(io_le16(p));
    case PK_I64: return (float)(int64_t)io_le64(p);
    case PK_I32: return (float)(int32_t)io_le32(p);
    case PK_I16: return (float)(int16_t)io_le16(p);
    case PK_I8: return (float)(int8_t)p[0];
    case PK_U8: return (float)p[0];
    case PK_B1: return p[0] ? 1.0f : 0.0f;
    default: return 0.0f;
    }
}

int pk_tensor_to_f32(const Unpickler *u, const char *name, const PkValue *t, Shape *shape, float **data)
{
    char nb[256];
    const char *pn = bcl_printable(name, strlen(name), nb, sizeof nb);
    *data = NULL;
    const PkStorage *s = t->storage;
    if (t->pending || !s) {
        diag_error_path(u->d, u->path, "tensor '%s': a numpy array without its data", pn);
        return -1;
    }
    if (!s->data) {
        diag_error_path(u->d, u->path, "tensor '%s': its storage '%s' is missing from the file", pn, s->key ? s->key : "?");
        return -1;
    }
    size_t isz = pk_itemsize(s->dtype);
    int64_t avail = (int64_t)(s->nbytes / isz);
    if (s->numel < avail) avail = s->numel;
    /* the lowest and highest elements the view reaches must lie in the storage (a
     * negative stride reaches below the offset) */
    int64_t numel = 1, first = t->offset, last = t->offset;
    for (int i = 0; i < t->rank; i++) {
        if (!io_mul_ok(numel, t->shape[i], &numel)) numel = -1;
        if (numel < 0) break;
        int64_t ext;
        if (t->shape[i] > 0 && !io_mul_ok(t->shape[i] - 1, t->stride[i], &ext)) numel = -1;
        else if (t->shape[i] > 0 && ext < 0 && (first += ext) < 0) numel = -1;
        else if (t->shape[i] > 0 && ext > 0 && (last > INT64_MAX - ext || (last += ext) < 0)) numel = -1;
    }
    if (numel < 0 || (numel > 0 && first < 0)) {
        diag_error_path(u->d, u->path, "tensor '%s': its size overflows or it reaches before its storage", pn);
        return -1;
    }
    if (numel > 0 && last >= avail) {
        diag_error_path(u->d, u->path, "tensor '%s': it reaches element %lld of a storage of %lld %s elements",
                        pn, (long long)last, (long long)avail, pk_dtype_name(s->dtype));
        return -1;
    }
    shape->rank = t->rank;
    for (int i = 0; i < t->rank; i++) shape->d[i] = t->shape[i];
    float *f = bcl_malloc((size_t)(numel ? numel : 1) * sizeof *f);
    if (!f) {
        diag_error_path(u->d, u->path, "tensor '%s': out of memory for %lld floats", pn, (long long)numel);
        return -1;
    }
    int64_t idx[BCL_MAX_RANK] = {0};
    int64_t at = t->offset;
    for (int64_t k = 0; k < numel; k++) {
        f[k] = elem_f32(s->dtype, s->data + (size_t)at * isz);
        for (int i = t->rank - 1; i >= 0; i--) {   /* odometer over the view */
            at += t->stride[i];
            if (++idx[i] < t->shape[i]) break;
            at -= t->stride[i] * t->shape[i];
            idx[i] = 0;
        }
    }
    *data = f;
    return 0;
}
