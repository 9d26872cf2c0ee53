/* Classifies one image with the bclc C API (include/bcl/bcl.h), and nothing else
 * of the library:
 *
 *   bcl_classify MODEL.bcl WEIGHTS.safetensors INPUT.npy [LABELS.txt] [ENGINE]
 *
 * e.g. bcl_classify examples/digits/digits.bcl examples/digits/digits.safetensors \
 *                   examples/digits/sample_3.npy examples/digits/labels.txt
 * prints "predicted class 3 (3), probability 0.99...". INPUT.npy is a float32,
 * C-order NumPy array whose shape is the model's input shape; ENGINE is "interp"
 * (the default) or "jit". */
#include <bcl/bcl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A minimal .npy reader: version 1-3 headers, little-endian float32, C order. Returns
 * the data (malloc'ed) and its shape, or NULL with a message on stderr. */
static float *read_npy(const char *path, int64_t *dims, int *rank)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    unsigned char pre[10];
    float *data = NULL;
    char *hdr = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) goto bad;
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {   /* versions 2 and 3 have a 4-byte header length */
        unsigned char more[2];
        if (fread(more, 1, 2, f) != 2) goto bad;
        hlen |= (size_t)more[0] << 16 | (size_t)more[1] << 24;
    }
    hdr = calloc(1, hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen) goto bad;
    if (!strstr(hdr, "'descr': '<f4'") || !strstr(hdr, "'fortran_order': False")) {
        fprintf(stderr, "%s: only little-endian float32 arrays in C order are supported\n", path);
        goto fail;
    }
    const char *p = strstr(hdr, "'shape': (");
    if (!p) goto bad;
    p += strlen("'shape': (");
    int64_t n = 1;
    *rank = 0;
    while (*p && *p != ')') {
        char *end;
        long long d = strtoll(p, &end, 10);
        if (end == p || d < 0 || *rank == BCL_MAX_DIMS) goto bad;
        dims[(*rank)++] = d;
        n *= d;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!data || fread(data, sizeof(float), (size_t)n, f) != (size_t)n) goto bad;
    free(hdr);
    fclose(f);
    return data;   /* float32 little-endian is the host's layout on x86-64 and aarch64 */
bad:
    fprintf(stderr, "%s: not a readable .npy file\n", path);
fail:
    free(hdr);
    free(data);
    fclose(f);
    return NULL;
}

/* Line i of a labels file (one label per line), or NULL. */
static char *label(const char *path, int64_t i)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return NULL;
    char line[256];
    char *r = NULL;
    for (int64_t k = 0; fgets(line, sizeof line, f); k++)
        if (k == i) {
            line[strcspn(line, "\r\n")] = 0;
            r = strdup(line);
            break;
        }
    fclose(f);
    return r;
}

/* On failure: the call, its status and the handle's diagnostics, then the cleanup
 * at the end of main (a library in a long-lived program must not leak on errors).
 * The diagnostics are fetched after the call has returned. */
#define CHECK(call, error_of, handle)                                                          \
    do {                                                                                       \
        BclStatus s_ = (call);                                                                 \
        if (s_ != BCL_OK) {                                                                    \
            fprintf(stderr, "%s failed (%s):\n%s", #call, bcl_status_name(s_), error_of(handle)); \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.bcl WEIGHTS INPUT.npy [LABELS.txt] [ENGINE]\n", argv[0]);
        return 2;
    }
    if (bcl_version() != BCL_VERSION) {
        fprintf(stderr, "library version %s does not match the header\n", bcl_version_string());
        return 1;
    }
    int64_t dims[BCL_MAX_DIMS];
    int rank, rc = 1;
    float *x = read_npy(argv[3], dims, &rank), *y = NULL;
    if (!x) return 1;
    BclCompiler *c = NULL;
    BclModel *m = NULL;
    BclContext *ctx = NULL;

    /* options, then compile; the input shape comes from the .npy file */
    BclStatus s = bcl_compiler_create(&c);
    if (s != BCL_OK) {
        fprintf(stderr, "bcl_compiler_create(&c) failed (%s)\n", bcl_status_name(s));
        goto done;
    }
    CHECK(bcl_compiler_set_input_shape(c, dims, rank), bcl_compiler_error, c);
    if (argc > 5) CHECK(bcl_compiler_set_engine(c, argv[5]), bcl_compiler_error, c);
    CHECK(bcl_compile_file(c, argv[1], &m), bcl_compiler_error, c);

    /* weights, then a context (which prepares the model) */
    CHECK(bcl_model_load_weights_file(m, argv[2]), bcl_model_error, m);
    CHECK(bcl_context_create(m, &ctx), bcl_model_error, m);

    int64_t out_dims[BCL_MAX_DIMS];
    int out_rank;
    if (bcl_model_output_shape(m, 0, out_dims, BCL_MAX_DIMS, &out_rank) != BCL_OK || out_rank != 2 ||
        out_dims[0] != 1) {
        fprintf(stderr, "expected one image in and [1, classes] out\n");
        goto done;
    }
    size_t n_in = (size_t)bcl_model_input_numel(m, 0), n_out = (size_t)bcl_model_output_numel(m, 0);
    y = malloc(sizeof(float) * n_out);
    if (!y) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    CHECK(bcl_context_run1(ctx, x, n_in, y, n_out), bcl_context_error, ctx);

    /* softmax of the best logit */
    size_t best = 0;
    for (size_t i = 1; i < n_out; i++)
        if (y[i] > y[best]) best = i;
    double sum = 0;
    for (size_t i = 0; i < n_out; i++) sum += exp(y[i] - y[best]);
    char *name = label(argc > 4 ? argv[4] : NULL, (int64_t)best);
    printf("%s: predicted class %zu (%s), probability %.4f\n", bcl_model_name(m), best, name ? name : "?", 1.0 / sum);
    free(name);
    rc = 0;
done:
    free(y);
    free(x);
    bcl_context_destroy(ctx);
    bcl_model_destroy(m);
    bcl_compiler_destroy(c);
    return rc;
}
