/* Read-only mappings of weight files (file_map.h). */
#include "io/file_map.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/file.h"

int io_map_file(const char *path, IoFileMap *m, Diag *d)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diag_error_path(d, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (regular && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p != MAP_FAILED) {
            /* the readers go through the file front to back once */
            madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
            m->mapped = p;
            m->data = p;
            m->len = (size_t)st.st_size;
            return 0;
        }
    } else {
        close(fd);
    }
    /* not mappable: the ordinary read, with its diagnostics */
    unsigned char *buf;
    size_t len;
    if (bcl_read_file(path, &buf, &len, d) != 0) return -1;
    m->heap = buf;
    m->data = buf;
    m->len = len;
    return 0;
}

void io_unmap_file(IoFileMap *m)
{
    if (m->mapped) munmap(m->mapped, m->len);
    free(m->heap);
    memset(m, 0, sizeof *m);
}

void io_release_mapped(const IoFileMap *m, const void *p, size_t n)
{
    if (!m->mapped || n == 0) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
