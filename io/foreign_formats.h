/* Files that are models or containers bclc does not read, recognised by content so
 * the message names what the file is (an ONNX graph, a TorchScript program, ...)
 * instead of reporting it as a broken safetensors header. */
#ifndef BCL_IO_FOREIGN_FORMATS_H
#define BCL_IO_FOREIGN_FORMATS_H
#include <stdbool.h>
#include <stddef.h>

#include "support/diag.h"

/* If buf (the bytes of the file name) is such a format: reports
 * "name: error: this is ..." with what to use instead, and returns true. */
bool bcl_foreign_weights(const char *name, const unsigned char *buf, size_t len, Diag *d);

#endif
