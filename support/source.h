/* Source texts: what diagnostics point into. A file is read whole (or a string
 * taken), line ends normalised to '\n' as Python reads source. */
#ifndef BCL_SUPPORT_SOURCE_H
#define BCL_SUPPORT_SOURCE_H
#include "support/arena.h"
#include "support/diag.h"

/* Reads a file into a Source allocated in a; NULL (and an error) if it can't be read. */
Source *bcl_read_source(Arena *a, Diag *d, const char *path);
Source *bcl_source_from_string(Arena *a, const char *path, const char *text);

#endif
