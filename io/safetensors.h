/* safetensors weight files: F32, F16, BF16, F64 and the integer and bool dtypes (all
 * widened to F32, the file's dtype kept). Hostile input is an error, never a crash:
 * header length, JSON, offsets, overlaps, dtypes and shapes are all checked. */
#ifndef BCL_SAFETENSORS_H
#define BCL_SAFETENSORS_H
#include "io/file_map.h"
#include "ir/ir.h"

/* The element type a tensor has in its file (every reader of io/ sets it), in the
 * order of io/pickle.h's PkDtype. Binding checks it against the model's dtype. */
typedef enum StDtype {
    ST_F32, ST_F64, ST_F16, ST_BF16, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL, ST_N_DTYPES
} StDtype;

/* numpy's name of a dtype ("float32", "int64", "bool"). */
const char *st_dtype_name(StDtype t);
static inline bool st_dtype_is_int(StDtype t) { return t >= ST_I64 && t <= ST_U8; }

typedef struct StTensor {
    char *name;
    Shape shape;
    float *data;         /* widened to float32, owned by the StFile */
    StDtype dtype;       /* the file's element type (ST_F32 = 0 for writers that leave it) */
    bool int_inexact;    /* an integer beyond +-2^24, which float32 may not hold exactly */
} StTensor;

typedef struct StFile {
    int n;
    StTensor *t;         /* in file order */
    /* One buffer holding every tensor's data, where the reader made one (st_read):
     * a tensor whose data lies in it is not freed alone (st_in_slab). */
    float *slab;
    size_t slab_floats;
    bool slab_moved;     /* bcl_bind_weights gave the slab to a graph: not freed here */
} StFile;

int st_read(const char *path, StFile *out, Diag *d);
int st_read_mem(const char *name, const void *buf, size_t len, StFile *out, Diag *d);
/* The same from a mapped file (file_map.h), whose pages it releases as it goes. */
int st_read_mapped(const char *path, const IoFileMap *map, StFile *out, Diag *d);
void st_free(StFile *f);
/* Whether p points into f's slab. */
bool st_in_slab(const StFile *f, const float *p);
/* Sets t->int_inexact for an integer or bool tensor from its widened data. */
void st_note_int_range(StTensor *t);
/* Writes tensors in their dtype (F32 unless t->dtype says an integer type, F64 or bool;
 * integer values are rounded toward zero; used by tools and tests). 0 on success. */
int st_write(const char *path, const StTensor *t, int n, Diag *d);

#endif
