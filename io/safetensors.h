/* safetensors weight files: F32, F16 and BF16 (widened to F32). Hostile input is an
 * error, never a crash: header length, JSON, offsets, overlaps, dtypes and shapes are
 * all checked. */
#ifndef BCL_SAFETENSORS_H
#define BCL_SAFETENSORS_H
#include "io/file_map.h"
#include "ir/ir.h"

typedef struct StTensor {
    char *name;
    Shape shape;
    float *data;         /* widened to float32, owned by the StFile */
} StTensor;

typedef struct StFile {
    int n;
    StTensor *t;         /* in file order */
} StFile;

int st_read(const char *path, StFile *out, Diag *d);
int st_read_mem(const char *name, const void *buf, size_t len, StFile *out, Diag *d);
/* The same from a mapped file (file_map.h), whose pages it releases as it goes. */
int st_read_mapped(const char *path, const IoFileMap *map, StFile *out, Diag *d);
void st_free(StFile *f);
/* Writes F32 tensors (used by tools and tests). 0 on success. */
int st_write(const char *path, const StTensor *t, int n, Diag *d);

#endif
