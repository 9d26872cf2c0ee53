/* Weight files by content: .npz (a zip archive) or safetensors. */
#include <stdlib.h>

#include "io/io_util.h"
#include "io/npy.h"
#include "io/weights.h"

int bcl_read_weights(const char *path, StFile *out, Diag *d)
{
    unsigned char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (bcl_read_file(path, &buf, &len, d) != 0) return -1;
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
        rc = st_read_mem(path, buf, len, out, d);
    }
    free(buf);
    return rc;
}
