/* Checkpoints written by Python: a pickle (MegEngine/BaseCls .pkl, numpy arrays), a
 * PyTorch zip archive (data.pkl + one entry per storage) or a legacy PyTorch file (a
 * series of pickles followed by the raw storages). The state dict is found as BaseCls's
 * load_model finds it (a "model" key, then a "state_dict" key) and each tensor is widened
 * to float32. */
#include <stdio.h>
#include <stdlib.h>

#include "io/checkpoint.h"
#include "support/oom.h"
#include "io/io_util.h"
#include "io/pickle.h"

_Static_assert((int)PK_N_DTYPES == (int)ST_N_DTYPES && (int)PK_B1 == (int)ST_BOOL && (int)PK_I64 == (int)ST_I64,
               "PkDtype and StDtype must list the same types in the same order");

/* torch.save's legacy header: this number, then the format version 1001 */
static const unsigned char legacy_magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

typedef struct Named {
    const char *name;
    int order;
    PkValue *v;
} Named;

static int cmp_named(const void *a, const void *b)
{
    const Named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_order(const void *a, const void *b)
{
    const Named *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

static void append(Arena *a, PkValue *c, PkValue *x)
{
    if (c->n_items == c->cap_items) {
        int cap = c->cap_items ? c->cap_items * 2 : 16;
        c->items = arena_grow(a, c->items, (size_t)c->n_items, (size_t)cap, sizeof *c->items);
        c->cap_items = cap;
    }
    c->items[c->n_items++] = x;
}

static bool in_str_set(const PkValue *set, const PkValue *name)
{
    for (int i = 0; set && (set->kind == PK_SET || set->kind == PK_LIST) && i < set->n_items; i++)
        if (set->items[i]->kind == PK_STR && set->items[i]->n == name->n && !memcmp(set->items[i]->s, name->s, name->n))
            return true;
    return false;
}

/* A pickled torch.nn.Module (torch.save(model)): an object whose __dict__ holds
 * _parameters, _buffers (less _non_persistent_buffers_set) and _modules. Adds its
 * tensors to out under the names state_dict() gives; false if obj is not one. */
static bool module_state(Arena *a, const PkValue *obj, const char *prefix, PkValue *out, int depth)
{
    const PkValue *st = obj && obj->kind == PK_OBJECT && obj->n_items ? obj->items[0] : NULL;
    PkValue *params = pk_dict_get(st, "_parameters"), *mods = pk_dict_get(st, "_modules");
    if (!params || params->kind != PK_DICT || !mods || mods->kind != PK_DICT || depth > 64) return false;
    PkValue *bufs = pk_dict_get(st, "_buffers"), *skip = pk_dict_get(st, "_non_persistent_buffers_set");
    const PkValue *groups[2] = {params, bufs};
    for (int g = 0; g < 2; g++)
        for (int i = 0; groups[g] && groups[g]->kind == PK_DICT && i + 1 < groups[g]->n_items; i += 2) {
            PkValue *k = groups[g]->items[i], *v = groups[g]->items[i + 1];
            if (k->kind != PK_STR || v->kind != PK_TENSOR || (g == 1 && in_str_set(skip, k))) continue;
            size_t n = strlen(prefix) + k->n + 1;
            char *name = arena_alloc(a, n);
            snprintf(name, n, "%s%.*s", prefix, (int)k->n, (const char *)k->s);
            PkValue *key = ARENA_NEW(a, PkValue);
            key->kind = PK_STR, key->s = (const unsigned char *)name, key->n = strlen(name);
            append(a, out, key), append(a, out, v);
        }
    for (int i = 0; i + 1 < mods->n_items; i += 2) {
        PkValue *k = mods->items[i];
        if (k->kind != PK_STR) continue;
        size_t n = strlen(prefix) + k->n + 2;
        char *sub = arena_alloc(a, n);
        snprintf(sub, n, "%s%.*s.", prefix, (int)k->n, (const char *)k->s);
        module_state(a, mods->items[i + 1], sub, out, depth + 1);
    }
    return true;
}

static int count_tensors(const PkValue *dict)
{
    int k = 0;
    for (int i = 1; dict && dict->kind == PK_DICT && i < dict->n_items; i += 2) k += dict->items[i]->kind == PK_TENSOR;
    return k;
}

/* The state dict inside the unpickled value, as tensors: unwraps "model" then
 * "state_dict" (BaseCls's load_model; a trainer's checkpoint keeps "ema", "optimizer"
 * and "progress" beside "model"); failing those, a dict without tensors whose one
 * dict-valued entry holds them is unwrapped with a note. Non-tensor entries are
 * skipped with a warning; an object of a class outside the allow-list is an error. */
static int to_stfile(Unpickler *u, PkValue *root, StFile *out)
{
    Diag *d = u->d;
    PkValue *sd = root, *inner;
    if ((inner = pk_dict_get(sd, "model"))) sd = inner;
    if ((inner = pk_dict_get(sd, "state_dict"))) sd = inner;
    PkValue *flat = ARENA_NEW(u->arena, PkValue);
    flat->kind = PK_DICT;
    if (module_state(u->arena, sd, "", flat, 0)) {
        diag_note(d, NO_LOC, "%s: a pickled '%.*s' module (torch.save(model)): reading its weights as its state_dict() "
                  "names them; nothing of it is run", u->path, (int)sd->n, sd->s);
        sd = flat;
        u->n_foreign = 0;   /* the module's classes, not stray objects */
    }
    if (sd && sd->kind == PK_DICT && !count_tensors(sd)) {
        int hits = 0, at = -1;
        for (int i = 1; i < sd->n_items; i += 2)
            if (count_tensors(sd->items[i]) && sd->items[i - 1]->kind == PK_STR) hits++, at = i;
        if (hits == 1) {
            char kb[128];
            const PkValue *k = sd->items[at - 1];
            diag_note(d, NO_LOC, "%s: reading the tensors under the key '%s'", u->path,
                      bcl_printable((const char *)k->s, k->n, kb, sizeof kb));
            sd = sd->items[at];
        }
    }
    if (sd && (sd->kind == PK_OBJECT || (sd->kind == PK_GLOBAL && sd->i < 0))) {
        diag_error_path(d, u->path, "the checkpoint holds a '%.*s' object: global '%.*s' is not allowed in a weights file "
                        "(a checkpoint holds tensors, not code: save model.state_dict())", (int)sd->n, sd->s, (int)sd->n, sd->s);
        return -1;
    }
    if (!sd || sd->kind != PK_DICT) {
        diag_error_path(d, u->path, "the checkpoint holds a %s, not a state dict (a dict of tensors)",
                        sd ? pk_kind_name(sd->kind) : "nothing");
        return -1;
    }
    int n = sd->n_items / 2;
    Named *e = bcl_malloc((size_t)(n ? n : 1) * sizeof *e);
    if (!e) {
        diag_error_path(d, u->path, "out of memory");
        return -1;
    }
    int ne = 0, skipped = 0;
    char first_skipped[128] = "";
    for (int i = 0; i < n; i++) {
        PkValue *k = sd->items[2 * i], *v = sd->items[2 * i + 1];
        if (k->kind != PK_STR || memchr(k->s, 0, k->n)) {
            diag_error_path(d, u->path, "a state dict key is a %s, not a str", pk_kind_name(k->kind));
            free(e);
            return -1;
        }
        const char *name = arena_strndup(u->arena, (const char *)k->s, k->n);
        if (v->kind == PK_OBJECT) {
            char nb[128];
            diag_error_path(d, u->path, "state-dict entry '%s' is a '%.*s' object: global '%.*s' is not allowed in a "
                            "weights file (a checkpoint holds tensors, not code)",
                            bcl_printable(name, k->n, nb, sizeof nb), (int)v->n, v->s, (int)v->n, v->s);
            free(e);
            return -1;
        }
        if (v->kind != PK_TENSOR) {
            if (!skipped++) bcl_printable(name, k->n, first_skipped, sizeof first_skipped);
            continue;
        }
        e[ne] = (Named){name, i, v};
        ne++;
    }
    if (u->n_foreign)
        diag_note(d, NO_LOC, "%s: ignored %d object%s of classes that are not tensors, outside the state dict (first: '%s'; "
                  "never run)", u->path, u->n_foreign, u->n_foreign == 1 ? "" : "s", u->first_foreign);
    if (skipped)
        diag_warning_path(d, u->path, "skipped %d state-dict entr%s that %s not a tensor%s (first: '%s')",
                          skipped, skipped == 1 ? "y" : "ies", skipped == 1 ? "is" : "are",
                          skipped == 1 ? "" : "s", first_skipped);
    /* a key given twice: the last value wins, as in a Python dict */
    qsort(e, (size_t)ne, sizeof *e, cmp_named);
    int m = 0;
    for (int i = 0; i < ne; i++) {
        if (m && !strcmp(e[m - 1].name, e[i].name)) m--;
        e[m++] = e[i];
    }
    qsort(e, (size_t)m, sizeof *e, cmp_order);
    if (m == 0) {
        diag_error_path(d, u->path, "the checkpoint's state dict holds no tensors");
        free(e);
        return -1;
    }
    out->t = bcl_calloc((size_t)m, sizeof *out->t);
    if (!out->t) {
        diag_error_path(d, u->path, "out of memory");
        free(e);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < m && !rc; i++) {
        StTensor *t = &out->t[i];
        out->n = i + 1;
        t->name = bcl_strdup(e[i].name);
        if (!t->name) {
            diag_error_path(d, u->path, "out of memory");
            rc = -1;
            break;
        }
        rc = pk_tensor_to_f32(u, e[i].name, e[i].v, &t->shape, &t->data);
        if (!rc) {   /* PkDtype and StDtype list the same types in the same order */
            t->dtype = (StDtype)e[i].v->storage->dtype;
            st_note_int_range(t);
        }
    }
    free(e);
    if (rc) st_free(out);
    return rc;
}

/* Legacy torch files: magic, version, sys info, the object, the storage keys, then per
 * key an int64 element count and the elements. */
static int read_legacy(Unpickler *u, StFile *out)
{
    PkValue *v;
    Diag *d = u->d;
    if (pk_load(u, &v)) return -1;   /* the version */
    if (v->kind != PK_INT || v->i != 1001) {
        diag_error_path(d, u->path, "legacy PyTorch file: format version is not 1001");
        return -1;
    }
    PkValue *info;
    if (pk_load(u, &info)) return -1;
    PkValue *le = pk_dict_get(info, "little_endian");
    if (!le || le->kind != PK_BOOL || !le->i) {
        diag_error_path(d, u->path, "legacy PyTorch file written on a big-endian machine: not supported");
        return -1;
    }
    PkValue *root, *keys;
    if (pk_load(u, &root) || pk_load(u, &keys)) return -1;
    if (keys->kind != PK_LIST) {
        diag_error_path(d, u->path, "legacy PyTorch file: the storage key list is missing");
        return -1;
    }
    for (int i = 0; i < keys->n_items; i++) {
        PkValue *k = keys->items[i];
        if (k->kind != PK_STR) {
            diag_error_path(d, u->path, "legacy PyTorch file: a storage key is not a str");
            return -1;
        }
        /* every storage object of this key: they share one dtype */
        PkStorage *first = NULL;
        for (int j = 0; j < u->storages.n; j++) {
            PkStorage *s = u->storages.v[j];
            if (strlen(s->key) == k->n && !memcmp(s->key, k->s, k->n) && !first) first = s;
        }
        if (!first) {
            diag_error_path(d, u->path, "legacy PyTorch file: storage '%.*s' is not used by any tensor", (int)k->n, k->s);
            return -1;
        }
        if (u->len - u->pos < 8) goto truncated;
        uint64_t count = io_le64(u->buf + u->pos);
        u->pos += 8;
        size_t isz = pk_itemsize(first->dtype);
        if (count > (u->len - u->pos) / isz) goto truncated;
        const unsigned char *data = u->buf + u->pos;
        u->pos += (size_t)count * isz;
        for (int j = 0; j < u->storages.n; j++) {
            PkStorage *s = u->storages.v[j];
            if (strlen(s->key) != k->n || memcmp(s->key, k->s, k->n)) continue;
            if (s->dtype != first->dtype) {
                diag_error_path(d, u->path, "storage '%s' is used with two element types", s->key);
                return -1;
            }
            s->data = data;
            s->nbytes = (size_t)count * isz;
        }
    }
    return to_stfile(u, root, out);
truncated:
    diag_error_path(d, u->path, "legacy PyTorch file is truncated: the storage data ends early");
    return -1;
}

static void arena_free_guarded(void *arg) { arena_free(arg); }

int ckpt_read_pickle(const char *path, const unsigned char *buf, size_t len, StFile *out, Diag *d)
{
    Arena a;
    arena_init(&a);
    BclOomGuard g_a;   /* freed if the arena cannot grow (support/oom.h) */
    bcl_oom_guard(&g_a, arena_free_guarded, &a);
    Unpickler u = {.path = path, .d = d, .arena = &a, .buf = buf, .len = len};
    memset(out, 0, sizeof *out);
    PkValue *v;
    int rc = pk_load(&u, &v);
    if (!rc) {
        if (v->kind == PK_BIGINT && v->n == sizeof legacy_magic && !memcmp(v->s, legacy_magic, v->n))
            rc = read_legacy(&u, out);
        else if (u.storages.n)
            diag_error_path(d, path, "a pickle with torch storages but no storage data (a PyTorch file that is not a zip archive, nor the legacy format)"), rc = -1;
        else
            rc = to_stfile(&u, v, out);
    }
    bcl_oom_unguard(&g_a);
    arena_free(&a);
    return rc;
}

/* The archive's top folder: entries are "<top>/data.pkl", "<top>/data/<key>". */
static const ZipEntry *find_data_pkl(const ZipEntry *e, int n, size_t *prefix_len)
{
    for (int i = 0; i < n; i++) {
        const char *slash = strchr(e[i].name, '/');
        if (slash && !strcmp(slash + 1, "data.pkl")) {
            *prefix_len = (size_t)(slash - e[i].name) + 1;
            return &e[i];
        }
    }
    return NULL;
}

typedef struct ZipTemps {
    Arena *a;
    unsigned char **pkl_data, ***extracted;
    ZipEntry **e;
    int n;
} ZipTemps;

static void zip_temps_free(void *arg)
{
    ZipTemps *t = arg;
    if (*t->extracted)
        for (int i = 0; i < t->n; i++) free((*t->extracted)[i]);
    free(*t->extracted);
    *t->extracted = NULL;
    free(*t->pkl_data);
    *t->pkl_data = NULL;
    zip_entries_free(*t->e, t->n);
    *t->e = NULL;
    arena_free(t->a);
}

int ckpt_read_torch_zip(const char *path, const unsigned char *buf, size_t len, StFile *out, Diag *d)
{
    ZipEntry *e;
    int n;
    memset(out, 0, sizeof *out);
    if (zip_entries(path, buf, len, &e, &n, d)) return -1;
    size_t pl;
    const ZipEntry *pkl = find_data_pkl(e, n, &pl);
    if (!pkl) {
        zip_entries_free(e, n);
        return 1;
    }
    Arena a;
    arena_init(&a);
    unsigned char *pkl_data = NULL;
    unsigned char **extracted = bcl_calloc((size_t)(n ? n : 1), sizeof *extracted);
    /* freed the same way if the unpickler's arena cannot grow (support/oom.h) */
    ZipTemps tmp = {&a, &pkl_data, &extracted, &e, n};
    BclOomGuard guard;
    bcl_oom_guard(&guard, zip_temps_free, &tmp);
    int rc = -1;
    if (!extracted || zip_extract(path, pkl, &pkl_data, d)) goto done;
    for (int i = 0; i < n; i++)
        if (!strncmp(e[i].name, pkl->name, pl) && !strcmp(e[i].name + pl, "byteorder") && e[i].usize >= 3) {
            unsigned char *bo = NULL;
            if (zip_extract(path, &e[i], &bo, d)) goto done;
            int big = !memcmp(bo, "big", 3);
            free(bo);
            if (big) {
                diag_error_path(d, path, "a PyTorch file written in big-endian byte order: not supported");
                goto done;
            }
        }
    Unpickler u = {.path = path, .d = d, .arena = &a, .buf = pkl_data, .len = pkl->usize};
    PkValue *root;
    if (pk_load(&u, &root)) goto done;
    /* each storage: "<top>/data/<key>", used in place when stored uncompressed */
    for (int j = 0; j < u.storages.n; j++) {
        PkStorage *s = u.storages.v[j];
        for (int i = 0; i < n; i++) {
            if (strncmp(e[i].name, pkl->name, pl) || strncmp(e[i].name + pl, "data/", 5) ||
                strcmp(e[i].name + pl + 5, s->key))
                continue;
            if (e[i].method == 0 && e[i].csize == e[i].usize) {
                s->data = e[i].data;
            } else {
                if (!extracted[i] && zip_extract(path, &e[i], &extracted[i], d)) goto done;
                s->data = extracted[i];
            }
            s->nbytes = (size_t)e[i].usize;
            break;
        }
    }
    rc = to_stfile(&u, root, out);
done:
    bcl_oom_unguard(&guard);
    zip_temps_free(&tmp);
    return rc;
}
