/* NumPy .npz archives: a zip of .npy files, one per key, read into an StFile. */
#include <stdio.h>
#include <stdlib.h>

#include "io/io_util.h"
#include "support/oom.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/zip.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry must be KEY.npy with a distinct KEY. */
static int check_names(const char *path, const ZipEntry *e, int n, Diag *d)
{
    char nb[256];
    for (int i = 0; i < n; i++) {
        size_t l = strlen(e[i].name);
        if (l >= 8 && !strcmp(e[i].name + l - 8, "data.pkl")) {
            diag_error_path(d, path, "this is a PyTorch checkpoint (a zip with '%s'), which is not "
                            "supported; save the state dict as .safetensors or .npz",
                            bcl_printable(e[i].name, l, nb, sizeof nb));
            return -1;
        }
        if (l < 4 || strcmp(e[i].name + l - 4, ".npy") != 0) {
            diag_error_path(d, path, "entry '%s' is not a .npy file",
                            bcl_printable(e[i].name, l, nb, sizeof nb));
            return -1;
        }
    }
    char **names = bcl_malloc((n > 0 ? (size_t)n : 1) * sizeof *names);
    if (!names) {
        diag_error_path(d, path, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) names[i] = e[i].name;
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (!strcmp(names[i - 1], names[i])) {
            diag_error_path(d, path, "duplicate entry '%s'", bcl_printable(names[i], strlen(names[i]), nb, sizeof nb));
            rc = -1;
        }
    free(names);
    return rc;
}

int npz_read_mem(const char *name, const void *buf, size_t len, StFile *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    ZipEntry *e;
    int n;
    if (zip_entries(name, buf, len, &e, &n, d) != 0) return -1;
    int rc = check_names(name, e, n, d);
    if (rc == 0) {
        out->t = bcl_calloc(n > 0 ? (size_t)n : 1, sizeof *out->t);
        if (!out->t) {
            diag_error_path(d, name, "out of memory");
            rc = -1;
        }
    }
    for (int i = 0; i < n && rc == 0; i++) {
        unsigned char *raw;
        if (zip_extract(name, &e[i], &raw, d) != 0) {
            rc = -1;
            break;
        }
        size_t nl = strlen(e[i].name);
        char *label = bcl_malloc(strlen(name) + nl + 3);
        StTensor *t = &out->t[i];
        t->name = bcl_malloc(nl - 3);
        out->n = i + 1;   /* so st_free releases what this entry allocated */
        if (!label || !t->name) {
            diag_error_path(d, name, "out of memory");
            rc = -1;
        } else {
            sprintf(label, "%s[%s]", name, e[i].name);
            memcpy(t->name, e[i].name, nl - 4);
            t->name[nl - 4] = 0;
            int dtype;
            rc = npy_read_mem_typed(label, raw, (size_t)e[i].usize, &t->shape, &t->data, &dtype, d);
            if (!rc) {
                t->dtype = (StDtype)dtype;
                st_note_int_range(t);
            }
        }
        free(label);
        free(raw);
    }
    zip_entries_free(e, n);
    if (rc != 0) st_free(out);
    return rc;
}

int npz_read(const char *path, StFile *out, Diag *d)
{
    unsigned char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (bcl_read_file(path, &buf, &len, d) != 0) return -1;
    int rc = npz_read_mem(path, buf, len, out, d);
    free(buf);
    return rc;
}
