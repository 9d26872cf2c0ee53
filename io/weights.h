/* Binding weights to a graph's parameters by state-dict key, with the MegEngine /
 * PyTorch shape equivalences of docs/language.md#weights. */
#ifndef BCL_WEIGHTS_H
#define BCL_WEIGHTS_H
#include <stdio.h>

#include "io/safetensors.h"

/* Reads a weight file, recognised by its content: safetensors, NumPy .npz, a pickle
 * (MegEngine/BaseCls .pkl, numpy arrays or MegEngine tensors; unwrapping "model" then
 * "state_dict" as BaseCls's load_model does) or a PyTorch .pth/.pt (zip or legacy).
 * Pickles are read by a restricted unpickler that runs no code (io/pickle.h). The file
 * is memory-mapped. 0 on success; free with st_free. */
int bcl_read_weights(const char *path, StFile *out, Diag *d);
/* The same for bytes in memory (name is used in messages). */
int bcl_read_weights_mem(const char *name, const unsigned char *buf, size_t len, StFile *out, Diag *d);

/* Moves each tensor of f into the matching parameter's data: the buffer joins g's arena
 * (arena_adopt) and f's pointer becomes NULL, so f is only good for st_free afterwards.
 * Strict: missing keys, unexpected keys and shape mismatches are errors listing the keys
 * (and both shapes); non-strict: warnings, and missing parameters keep their values.
 * Keys that are known non-parameters (BatchNorm's num_batches_tracked) are ignored.
 * Returns 0 on success (no errors). */
int bcl_bind_weights(IrGraph *g, StFile *f, const char *path, int strict, Diag *d);

/* --strip-prefix P: removes P from the start of every key that has it; returns how
 * many keys had it. (Without it, binding strips a prefix that every key of the file
 * shares when that makes keys match, with a note.) */
int bcl_weights_strip_prefix(StFile *f, const char *prefix);

/* The layout equivalence used by binding: equal shapes; or the same element count and
 * the same dims once all 1-dims are dropped ((O,) ~ (1,O,1,1)); or a 4-d conv weight
 * against a 5-d one whose first two dims, merged, give it (grouped conv
 * (O,I/G,kh,kw) ~ (G,O/G,I/G,kh,kw)). */
bool bcl_weight_shape_compatible(const Shape *model, const Shape *file);

/* Fills every parameter that has no data with deterministic pseudo-random values
 * (by its IrInit) from seed. */
void bcl_random_weights(IrGraph *g, uint64_t seed);

/* For `bclc params --weights`: one line per key: "key [shape]" plus " ok", " missing",
 * " shape mismatch (file [..])"; then the unexpected keys of the file. */
void bcl_print_weight_match(FILE *out, const IrGraph *g, const StFile *f);

#endif
