/* Python checkpoints read by content, never by running code: MegEngine/BaseCls .pkl
 * (a pickled dict of numpy arrays or MegEngine tensors) and PyTorch .pth/.pt (the zip
 * format and the legacy one). See io/pickle.h for what the unpickler accepts. */
#ifndef BCL_CHECKPOINT_H
#define BCL_CHECKPOINT_H
#include <stdbool.h>

#include "io/safetensors.h"
#include "io/zip.h"

/* A pickle stream: a plain pickle, or a legacy torch.save file. 0 on success. */
int ckpt_read_pickle(const char *path, const unsigned char *buf, size_t len, StFile *out, Diag *d);
/* A zip archive with "<top>/data.pkl": 0 on success, -1 after an error, 1 (nothing
 * reported) when the archive has no data.pkl, i.e. is not a PyTorch checkpoint. */
int ckpt_read_torch_zip(const char *path, const unsigned char *buf, size_t len, StFile *out, Diag *d);

#endif
