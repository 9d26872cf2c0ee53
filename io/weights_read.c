/* Weight files by content: .npz (a zip archive) or safetensors. */
#include <stdlib.h>

#include "io/file_map.h"
#include "io/io_util.h"
#include "io/npy.h"
#include "io/weights.h"

int bcl_read_weights(const char *path, StFile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    IoFileMap map;
    if (io_map_file(path, &map, d) != 0) return -1;
    const unsigned char *buf = map.data;
    size_t len = map.len;
    int rc;
    if (len >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
        ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6))) {
        rc = npz_read_mem(path, buf, len, out, d);
    } else if (len >= 2 && buf[0] == 0x80 && buf[1] >= 2 && buf[1] <= 5) {
        /* pickle protocol 2-5: a MegEngine .pkl or a legacy PyTorch .pth */
        diag_error_path(d, path, "this is a Python pickle (.pkl/.pth), which is not supported; "
                        "save the state dict as .safetensors or .npz");
        rc = -1;
    } else {
        rc = st_read_mapped(path, &map, out, d);
    }
    io_unmap_file(&map);
    return rc;
}
