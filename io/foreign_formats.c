/* Recognising model files bclc does not read (foreign_formats.h). */
#include "io/foreign_formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/zip.h"

static const char export_hint[] =
    "; export the weights instead: torch.save(model.state_dict(), 'w.pth') or "
    "safetensors.torch.save_file(model.state_dict(), 'w.safetensors')";

/* ONNX: a protobuf ModelProto, whose first field is ir_version (field 1, varint: tag
 * 0x08), then usually producer_name (0x12), or another field of the message. A
 * safetensors file starts with its header length, little endian, under 100 MB: its
 * bytes 5..7 are zero, where ONNX has the producer's name. */
static bool is_onnx(const unsigned char *b, size_t len)
{
    if (len < 16 || b[0] != 0x08 || b[1] == 0 || b[1] > 0x7f) return false;
    static const unsigned char next_tags[] = {0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x40, 0x42, 0x72};
    if (!memchr(next_tags, b[2], sizeof next_tags)) return false;
    return b[5] || b[6] || b[7];
}

/* TorchScript (torch.jit.save): a zip whose entries hold the program's code. */
static bool is_torchscript(const char *name, const unsigned char *b, size_t len)
{
    if (len < 4 || b[0] != 'P' || b[1] != 'K') return false;
    ZipEntry *e;
    int n;
    char *text = NULL;
    size_t text_len = 0;
    FILE *sink = open_memstream(&text, &text_len);   /* a broken zip: the zip reader will say why */
    if (!sink) return false;
    Diag quiet;
    diag_init(&quiet, sink);
    int rc = zip_entries(name, b, len, &e, &n, &quiet);
    fclose(sink);
    free(text);
    if (rc) return false;
    bool ts = false;
    for (int i = 0; i < n && !ts; i++) {
        const char *slash = strchr(e[i].name, '/');
        const char *rest = slash ? slash + 1 : e[i].name;
        ts = !strncmp(rest, "code/", 5) || !strcmp(rest, "constants.pkl") || !strcmp(rest, "bytecode.pkl");
    }
    zip_entries_free(e, n);
    return ts;
}

bool bcl_foreign_weights(const char *name, const unsigned char *b, size_t len, Diag *d)
{
    if (is_onnx(b, len)) {
        diag_error_path(d, name, "this is an ONNX model (a graph with its weights), not a weights file: bclc reads "
                        "safetensors, .npz, PyTorch .pth and MegEngine .pkl state dicts%s", export_hint);
        return true;
    }
    if (is_torchscript(name, b, len)) {
        diag_error_path(d, name, "this is a TorchScript program (torch.jit.save), not a weights file%s", export_hint);
        return true;
    }
    if (len >= 8 && !memcmp(b, "\x89HDF\r\n\x1a\n", 8)) {
        diag_error_path(d, name, "this is an HDF5 file (Keras .h5?), which bclc does not read%s", export_hint);
        return true;
    }
    if (len >= 4 && !memcmp(b, "GGUF", 4)) {
        diag_error_path(d, name, "this is a GGUF file (llama.cpp), which bclc does not read%s", export_hint);
        return true;
    }
    return false;
}
