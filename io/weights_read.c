/* Weight files by content: a zip archive is a PyTorch checkpoint (with data.pkl) or a
 * NumPy .npz; a pickle is a MegEngine/BaseCls .pkl or a legacy PyTorch file; anything
 * else safetensors. The file is memory-mapped (io/file_map.h), so a large checkpoint
 * costs its float32 copy plus page cache. */
#include <stdlib.h>

#include "io/checkpoint.h"
#include "io/file_map.h"
#include "io/foreign_formats.h"
#include "io/io_util.h"
#include "io/npy.h"
#include "io/weights.h"
#include "support/oom.h"

static bool is_zip(const unsigned char *buf, size_t len)
{
    return len >= 4 && buf[0] == 'P' && buf[1] == 'K' && ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6));
}

static bool is_pickle(const unsigned char *buf, size_t len)
{
    return len >= 2 && buf[0] == 0x80 && buf[1] >= 2 && buf[1] <= 5;   /* PROTO 2-5 */
}

int bcl_read_weights_mem(const char *name, const unsigned char *buf, size_t len, StFile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    if (bcl_foreign_weights(name, buf, len, d)) return -1;   /* ONNX, TorchScript, ... named */
    if (is_zip(buf, len)) {
        int rc = ckpt_read_torch_zip(name, buf, len, out, d);
        return rc == 1 ? npz_read_mem(name, buf, len, out, d) : rc;   /* no data.pkl: an .npz */
    }
    if (is_pickle(buf, len)) return ckpt_read_pickle(name, buf, len, out, d);
    return st_read_mem(name, buf, len, out, d);
}

static void unmap_guarded(void *arg) { io_unmap_file(arg); }

int bcl_read_weights(const char *path, StFile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    IoFileMap map;
    if (io_map_file(path, &map, d) != 0) return -1;
    BclOomGuard g_map;   /* unmapped if an allocation below fails (support/oom.h) */
    bcl_oom_guard(&g_map, unmap_guarded, &map);
    int rc;
    if (is_zip(map.data, map.len) || is_pickle(map.data, map.len))
        rc = bcl_read_weights_mem(path, map.data, map.len, out, d);   /* names foreign zips too */
    else if (bcl_foreign_weights(path, map.data, map.len, d))
        rc = -1;
    else
        rc = st_read_mapped(path, &map, out, d);
    bcl_oom_unguard(&g_map);
    io_unmap_file(&map);
    return rc;
}
