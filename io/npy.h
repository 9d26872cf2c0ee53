/* NumPy .npy files: float32 C-order tensors in, float32 out. */
#ifndef BCL_NPY_H
#define BCL_NPY_H
#include "ir/ir.h"

/* Reads a .npy file. Accepts little-endian float32, float64 and integer dtypes
 * (converted to float32), C order. Fortran order, big-endian, other dtypes, bad or
 * truncated headers: a clear error naming the file. *data is malloc'ed (caller frees). */
int npy_read(const char *path, Shape *shape, float **data, Diag *d);
int npy_read_mem(const char *name, const void *buf, size_t len, Shape *shape, float **data, Diag *d);
/* The same, also giving the array's dtype as io/safetensors.h's StDtype (uint16/32/64
 * count as int64, which holds their values). */
int npy_read_mem_typed(const char *name, const void *buf, size_t len, Shape *shape, float **data, int *dtype,
                       Diag *d);
/* Reads a NumPy .npz archive (np.savez, stored, or np.savez_compressed, deflated):
 * each "KEY.npy" entry becomes tensor KEY, in archive order. Errors inside an entry
 * name it as "path[KEY.npy]". Returns 0 on success; on failure *out is empty. */
struct StFile;
int npz_read(const char *path, struct StFile *out, Diag *d);
int npz_read_mem(const char *name, const void *buf, size_t len, struct StFile *out, Diag *d);

/* Writes a little-endian float32 C-order .npy file. 0 on success. */
int npy_write(const char *path, const Shape *shape, const float *data, Diag *d);

#endif
