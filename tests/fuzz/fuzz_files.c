/* The file readers, one target each (FUZZ_READER picks which at compile time):
 * safetensors, .npy, .npz, JSON, the weights dispatcher (safetensors, .npz, pickle
 * .pkl, torch .pth zip, by content) and images (JPEG, PNG). Any bytes must give a
 * value or an error, never a crash or a sanitizer report. */
#include <stdint.h>
#include <string.h>

#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    fuzz_diag(&d);
#if FUZZ_READER == 1
    StFile f;
    if (st_read_mem("fuzz.safetensors", data, size, &f, &d) == 0) st_free(&f);
#elif FUZZ_READER == 2
    Shape s;
    float *x = NULL;
    if (npy_read_mem("fuzz.npy", data, size, &s, &x, &d) == 0) free(x);
#elif FUZZ_READER == 3
    StFile f;
    if (npz_read_mem("fuzz.npz", data, size, &f, &d) == 0) st_free(&f);
#elif FUZZ_READER == 4
    Arena a;
    arena_init(&a);
    char err[128];
    json_parse(&a, (const char *)data, size, err, sizeof err);
    arena_free(&a);
#elif FUZZ_READER == 5
    StFile f;
    if (bcl_read_weights_mem("fuzz.pth", data, size, &f, &d) == 0) st_free(&f);
#elif FUZZ_READER == 6
    Image img;
    if (image_decode("fuzz.img", data, size, &img, &d) == 0) image_free(&img);
#else
#error "FUZZ_READER: 1..6"
#endif
    return 0;
}
