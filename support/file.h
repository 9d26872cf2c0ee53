/* Whole-file reading and writing with diagnostics, and printable names for
 * messages: what every stage that touches user files shares. */
#ifndef BCL_SUPPORT_FILE_H
#define BCL_SUPPORT_FILE_H
#include <stddef.h>

#include "support/diag.h"

/* Reads a whole regular file into a malloc'ed buffer (one extra NUL byte after the
 * data). On failure reports "path: error: ..." and returns -1. */
int bcl_read_file(const char *path, unsigned char **buf, size_t *len, Diag *d);

/* Writes len bytes to path (created or truncated); on failure reports, removes the
 * partial file and returns -1. */
int bcl_write_file(const char *path, const void *buf, size_t len, Diag *d);

/* Copies name into buf for a diagnostic: control and non-ASCII bytes become \xNN,
 * and very long names are cut with "...". Returns buf. */
char *bcl_printable(const char *name, size_t len, char *buf, size_t n);

#endif
