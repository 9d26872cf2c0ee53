/* A restricted Python unpickler (protocols 2 to 5) for weight checkpoints: it builds
 * plain values (None, bool, int, float, str, bytes, tuple, list, dict) and tensors, and
 * calls nothing. Only a fixed allow-list of globals builds values (OrderedDict, numpy's
 * array and dtype reconstruction, _codecs.encode, torch's tensor and storage rebuild
 * functions, MegEngine's Tensor classes); any other global stays a named placeholder
 * whose "calls" give opaque PK_OBJECTs (whole checkpoints carry training arguments and
 * configs: ignored outside the state dict, an error that names the class inside it).
 * Unknown opcodes are errors. Sizes are checked against the input before anything is
 * allocated. */
#ifndef BCL_PICKLE_H
#define BCL_PICKLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "support/arena.h"

typedef enum PkDtype {
    PK_F32, PK_F64, PK_F16, PK_BF16, PK_I64, PK_I32, PK_I16, PK_I8, PK_U8, PK_B1, PK_N_DTYPES
} PkDtype;

typedef enum PkKind {
    PK_NONE, PK_BOOL, PK_INT, PK_BIGINT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST,
    PK_DICT, PK_SET, PK_GLOBAL, PK_DTYPE, PK_STORAGE, PK_TENSOR, PK_OBJECT
} PkKind;

/* A block of elements: a torch storage (its bytes found by key once the container is
 * read) or the buffer of a numpy array. */
typedef struct PkStorage {
    const char *key;             /* torch: the storage's name in the archive; NULL for numpy */
    PkDtype dtype;
    int64_t numel;               /* declared element count */
    const unsigned char *data;   /* NULL until resolved */
    size_t nbytes;               /* bytes available at data */
} PkStorage;

typedef struct PkValue PkValue;
struct PkValue {
    PkKind kind;
    int64_t i;                   /* INT, BOOL; GLOBAL: the allow-list entry */
    double f;
    const unsigned char *s;      /* STR (UTF-8), BYTES, BIGINT (little-endian two's complement) */
    size_t n;                    /* their length in bytes */
    /* GLOBAL not on the allow-list (i = -1) and OBJECT: s is "module.name"; an OBJECT's
     * items[0] is the dict its BUILD gave (its __dict__), if any */
    PkValue **items;             /* TUPLE, LIST, SET; DICT: keys and values interleaved */
    int n_items, cap_items;
    /* DTYPE, TENSOR */
    PkDtype dtype;
    char byteorder;              /* '<', '>', '|' or '=' */
    /* TENSOR: a strided view of a storage (numpy arrays too, with C or F strides) */
    PkStorage *storage;
    int rank;
    int64_t shape[BCL_MAX_RANK], stride[BCL_MAX_RANK], offset;
    bool pending;                /* numpy _reconstruct before its BUILD */
};

typedef struct Unpickler {
    const char *path;
    Diag *d;
    Arena *arena;
    const unsigned char *buf;
    size_t len, pos;             /* pos: where the next pickle starts */
    PtrVec storages;             /* every PkStorage created by a persistent id */
    int n_foreign;               /* globals outside the allow-list seen (placeholders) */
    const char *first_foreign;   /* the first one's "module.name" */
} Unpickler;

/* Runs one pickle starting at u->pos (leaving u->pos just after its STOP). Values live
 * in u->arena and point into u->buf. 0 on success; errors name u->path and the offset. */
int pk_load(Unpickler *u, PkValue **out);

/* The value of key (a str) in a DICT, or NULL. */
PkValue *pk_dict_get(const PkValue *dict, const char *key);
const char *pk_kind_name(PkKind k);
size_t pk_itemsize(PkDtype t);
const char *pk_dtype_name(PkDtype t);

/* Converts a TENSOR to float32: checks its rank, that every element it views lies in
 * its storage, and widens each element. *data is malloc'ed. 0 on success. */
int pk_tensor_to_f32(const Unpickler *u, const char *name, const PkValue *t, Shape *shape, float **data);

#endif
