/* bclc eval: accuracy over an ImageFolder, as BaseCls's test tool reports it.
 *
 * The folder has one subfolder per class (classes in sorted order, files found
 * recursively and sorted, as MegEngine's ImageFolder). Worker threads decode and
 * preprocess images into a ring of batch buffers while the model runs on the previous
 * batch; the main thread counts top-1/top-5 hits per class. --shard i/n takes a
 * deterministic slice; --merge adds shard results; under mpirun (an MPI build) each
 * rank takes its shard and rank 0 prints the reduced result. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/pipeline.h"
#include "backend/interp/interp.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/preprocess.h"
#include "support/file.h"
#include "support/oom.h"
#include "tools/bclc_data.h"
#if BCL_HAVE_LLVM
#include "backend/llvm/jit.h"
#endif
#if BCL_HAVE_MPI
#include <mpi.h>
#endif

int bclc_cmd_eval(int argc, char **argv);

static const char eval_help[] =
    "usage: bclc eval FILE --weights W --data DIR [--batch N] [--json OUT.json]\n"
    "                 [--shard I/N] [--skip-bad] [--workers K] [options]\n"
    "       bclc eval --merge PART.json... [--json OUT.json]\n"
    "       bclc eval --list --data DIR\n"
    "Top-1 and top-5 accuracy of the model over an image folder, as BaseCls's test tool\n"
    "prints it (Test Acc@1: .., Acc@5: ..). DIR has one subfolder per class; classes are\n"
    "numbered in sorted order (hidden folders too) and images (.jpg .jpeg .png .ppm .bmp\n"
    ".pgm .tif .tiff .webp, any case) are found recursively, in the order of MegEngine's\n"
    "ImageFolder; each is read by content as cv2.imread reads it, then goes through the\n"
    "config's test transform (test.img_size, test.crop_pct,\n"
    "augments.resize.interpolation, preprocess.img_color_space, img_mean, img_std).\n"
    "  --data DIR             the image folder\n"
    "  --batch N              images per model run (default 25, as BaseCls's test loader)\n"
    "  --workers K            decoding threads (default: the online cores, at most 8)\n"
    "  --decode-mb M          decoded images held at once by the workers, in MiB (default\n"
    "                         1024; a larger image is decoded alone)\n"
    "  --engine E, --threads T  the engine and its threads, as in bclc run\n"
    "  --json OUT.json        also write the counts and per-class accuracy\n"
    "  --shard I/N            evaluate only slice I of N (0 <= I < N) of the sorted images\n"
    "  --merge A.json B.json  add up shard results written by --json (no model needed)\n"
    "  --skip-bad             skip images that cannot be decoded (named in a warning)\n"
    "  --list                 print each image's class index, class and path in the order\n"
    "                         they are evaluated, and stop (no model needed)\n"
    "  --quiet                no progress\n"
    "Progress goes to stderr: a bar with images/s and ETA on a terminal, a line every\n"
    "10 s otherwise. Under mpirun (a build with MPI) every rank evaluates its shard and\n"
    "rank 0 prints the total.\n\n";

enum { GROUPS = BCL_OPT_MODEL | BCL_OPT_WEIGHTS | BCL_OPT_PASSES };
enum { ENGINE_INTERP, ENGINE_JIT };

typedef struct EvalOpts {
    BclModelOptions m;
    const char *data, *json;
    const char **merge;
    int n_merge;
    int batch, workers, threads, engine, skip_bad, quiet, list, decode_mb;
    int shard, n_shards;
} EvalOpts;

/* (api/options.c prints it as for every tool) */
#define usage(...) bcl_usage_error("bclc eval", __VA_ARGS__)

static int parse_count(const char *s, long lo, long hi, int *out)
{
    char *e;
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (*e || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse(int argc, char **argv, EvalOpts *o)
{
    memset(o, 0, sizeof *o);
    bcl_model_options_init(&o->m);
    o->batch = 25;
    o->decode_mb = 1024;
    o->n_shards = 1;
#if BCL_HAVE_LLVM
    o->engine = ENGINE_JIT;
#endif
    o->merge = calloc((size_t)argc + 1, sizeof *o->merge);
    bool merging = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
#define TAKES(flag)                                                                              \
    (!strcmp(a, flag) ? (i + 1 < argc ? (val = argv[++i], 1) : (usage("option %s needs a value", flag), -1)) \
     : (!strncmp(a, flag "=", sizeof(flag)) ? (val = a + sizeof(flag), 1) : 0))
        int r;
        if (merging && a[0] != '-') {
            o->merge[o->n_merge++] = a;
            continue;
        }
        merging = false;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(eval_help, stdout);
            bcl_model_options_help(stdout, GROUPS);
            return 1;
        } else if (!strcmp(a, "--merge")) {
            merging = true;
        } else if (!strcmp(a, "--skip-bad")) {
            o->skip_bad = 1;
        } else if (!strcmp(a, "--list")) {
            o->list = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = 1;
        } else if ((r = TAKES("--data")) != 0) {
            if (r < 0) return -1;
            o->data = val;
        } else if ((r = TAKES("--json")) != 0) {
            if (r < 0) return -1;
            o->json = val;
        } else if ((r = TAKES("--batch")) != 0) {
            if (r < 0 || parse_count(val, 1, 4096, &o->batch)) return r < 0 ? -1 : usage("--batch expects a size from 1 to 4096, got '%s'", val);
        } else if ((r = TAKES("--decode-mb")) != 0) {
            if (r < 0 || parse_count(val, 1, 1 << 20, &o->decode_mb)) return r < 0 ? -1 : usage("--decode-mb expects MiB from 1 to 1048576, got '%s'", val);
        } else if ((r = TAKES("--workers")) != 0) {
            if (r < 0 || parse_count(val, 1, 256, &o->workers)) return r < 0 ? -1 : usage("--workers expects a count from 1 to 256, got '%s'", val);
        } else if ((r = TAKES("--threads")) != 0) {
            if (r < 0 || parse_count(val, 1, 1024, &o->threads)) return r < 0 ? -1 : usage("--threads expects a count from 1 to 1024, got '%s'", val);
        } else if ((r = TAKES("--engine")) != 0) {
            if (r < 0) return -1;
            if (!strcmp(val, "interp")) o->engine = ENGINE_INTERP;
#if BCL_HAVE_LLVM
            else if (!strcmp(val, "jit")) o->engine = ENGINE_JIT;
#endif
            else return usage("unknown engine '%s' (available: interp, jit in builds with LLVM)", val);
        } else if ((r = TAKES("--shard")) != 0) {
            if (r < 0) return -1;
            char *slash = strchr(val, '/');
            char buf[64];
            if (!slash || strlen(val) >= sizeof buf) return usage("--shard expects I/N, got '%s'", val);
            memcpy(buf, val, (size_t)(slash - val));
            buf[slash - val] = 0;
            if (parse_count(buf, 0, 1 << 20, &o->shard) || parse_count(slash + 1, 1, 1 << 20, &o->n_shards) ||
                o->shard >= o->n_shards)
                return usage("--shard expects I/N with 0 <= I < N, got '%s'", val);
        } else if ((r = bcl_model_option(&o->m, GROUPS, "bclc eval", argc, argv, &i)) != 0) {
            if (r < 0) return -1;
        } else {
            return usage("unknown option '%s'", a);
        }
#undef TAKES
    }
    if (o->n_merge) return 0;
    if (o->list) return o->data ? 0 : usage("%s", "--list needs --data DIR");
    if (bcl_model_options_finish(&o->m, "bclc eval", true)) return -1;
    if (!o->data) return usage("%s", "--data DIR is required (an image folder with one subfolder per class)");
    if (!o->m.weights && !o->m.has_seed)
        return usage("%s", "give --weights W, or --random-weights SEED to evaluate untrained");
    return 0;
}

/* ---- the image folder ---- */

typedef struct Sample {
    char *path;
    int label;
} Sample;

typedef struct Folder {
    char **classes;
    int n_classes;
    Sample *s;
    int n, cap;
} Folder;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_image_name(const char *name)
{
    /* MegEngine's is_img extensions (torchvision's too); TIFF is listed but refused when read */
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n >= m && !strcasecmp(name + n - m, ext[i])) return true;
    }
    return false;
}

static bool stat_dir(const char *path, struct stat *st)
{
    return stat(path, st) == 0 && S_ISDIR(st->st_mode);   /* follows links, as os.walk(followlinks=True) */
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat_dir(path, &st);
}

/* The sorted entries of a directory (NULL on error, reported as a warning when
 * quiet_fail, as os.walk ignores folders it cannot read, else as an error). */
static char **list_dir(const char *path, int *n, bool quiet_fail, Diag *d)
{
    DIR *dir = opendir(path);
    if (!dir) {
        if (quiet_fail) diag_warning_path(d, path, "cannot read the folder (%s): its images are left out", strerror(errno));
        else diag_error_path(d, path, "cannot read the folder: %s", strerror(errno));
        return NULL;
    }
    char **v = NULL;
    int cap = 0;
    *n = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, sizeof *v * (size_t)cap);
        }
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(dir);
    if (*n) qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v ? v : calloc(1, sizeof *v);
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* The folders under a class folder, as os.walk(followlinks=True) visits them: each
 * with its (device, inode) chain so that a link back to an ancestor is not followed
 * (os.walk would loop forever), at most 32 deep. */
typedef struct Dir {
    char *path;
    dev_t dev;
    ino_t ino;
    int parent, depth;   /* index in the list, -1 for the class folder */
} Dir;

typedef struct DirList {
    Dir *v;
    int n, cap;
} DirList;

static int cmp_dir(const void *a, const void *b) { return strcmp(((const Dir *)a)->path, ((const Dir *)b)->path); }

static void add_dir(DirList *l, char *path, const struct stat *st, int parent, int depth)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, sizeof *l->v * (size_t)l->cap);
    }
    l->v[l->n++] = (Dir){path, st->st_dev, st->st_ino, parent, depth};
}

/* MegEngine's ImageFolder.collect_samples for one class: for (root, _, files) in
 * sorted(os.walk(class_dir)), for name in sorted(files), if is_img(name). Sorting the
 * walk's tuples sorts the folders by their whole path ("a b" before "a/x": ' ' < '/'),
 * which is not the tree order. Files whose names are images are taken whatever they
 * hold (a broken link, a non-image: an error when decoded, or --skip-bad). */
static int walk_class(Folder *f, const char *class_dir, int label, Diag *d)
{
    DirList dl = {0};
    struct stat st;
    if (!stat_dir(class_dir, &st)) return 0;
    add_dir(&dl, strdup(class_dir), &st, -1, 0);
    int n_loops = 0, n_deep = 0;
    for (int k = 0; k < dl.n; k++) {   /* breadth first: discover every folder */
        int n;
        char **names = list_dir(dl.v[k].path, &n, true, d);
        if (!names) continue;
        for (int i = 0; i < n; i++) {
            char *p = join(dl.v[k].path, names[i]);
            struct stat cs;
            if (!stat_dir(p, &cs)) {
                free(p);
                continue;
            }
            bool loop = false;
            for (int a = k; a >= 0 && !loop; a = dl.v[a].parent) loop = dl.v[a].dev == cs.st_dev && dl.v[a].ino == cs.st_ino;
            if (loop || dl.v[k].depth >= 32) {
                n_loops += loop, n_deep += !loop;
                free(p);
                continue;
            }
            add_dir(&dl, p, &cs, k, dl.v[k].depth + 1);
        }
        free_list(names, n);
    }
    if (n_loops) diag_warning_path(d, class_dir, "%d linked folder%s leading back to a folder above: not followed",
                                   n_loops, n_loops == 1 ? "" : "s");
    if (n_deep) diag_warning_path(d, class_dir, "folders deeper than 32 levels were not searched");
    /* the parents' indices are not needed past this point: sort by path */
    qsort(dl.v, (size_t)dl.n, sizeof *dl.v, cmp_dir);
    for (int k = 0; k < dl.n; k++) {
        int n;
        char **names = list_dir(dl.v[k].path, &n, true, d);
        for (int i = 0; names && i < n; i++) {
            if (!is_image_name(names[i])) continue;
            char *p = join(dl.v[k].path, names[i]);
            if (is_dir(p)) {   /* a folder named like an image is not a file of the walk */
                free(p);
                continue;
            }
            if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 1024;
                f->s = realloc(f->s, sizeof *f->s * (size_t)f->cap);
            }
            f->s[f->n++] = (Sample){p, label};
        }
        if (names) free_list(names, n);
        free(dl.v[k].path);
    }
    free(dl.v);
    return 0;
}

static int scan_folder(const char *root, Folder *f, Diag *d)
{
    memset(f, 0, sizeof *f);
    if (!is_dir(root)) {
        diag_error_path(d, root, "not a folder (--data expects a folder with one subfolder per class)");
        return -1;
    }
    int n;
    char **names = list_dir(root, &n, false, d);
    if (!names) return -1;
    /* the classes: every folder in root, hidden ones too (os.scandir + is_dir), sorted */
    f->classes = malloc(sizeof *f->classes * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        char *p = join(root, names[i]);
        if (is_dir(p)) f->classes[f->n_classes++] = strdup(names[i]);
        free(p);
    }
    free_list(names, n);
    if (!f->n_classes) {
        diag_error_path(d, root, "no class subfolders: an image folder has one subfolder per class");
        return -1;
    }
    for (int c = 0; c < f->n_classes; c++) {
        char *p = join(root, f->classes[c]);
        int rc = walk_class(f, p, c, d);
        free(p);
        if (rc) return -1;
    }
    if (!f->n) {
        diag_error_path(d, root, "no images (.jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff, .webp) in its %d class folders",
                        f->n_classes);
        return -1;
    }
    return 0;
}

static void free_folder(Folder *f)
{
    for (int i = 0; i < f->n; i++) free(f->s[i].path);
    free(f->s);
    free_list(f->classes, f->n_classes);
}

/* ---- counts ---- */

typedef struct Counts {
    int n_classes;
    int64_t images, top1, top5, skipped;
    int64_t *per_class;   /* [3 * n_classes]: images, top-1, top-5 */
} Counts;

static void counts_init(Counts *c, int n_classes)
{
    memset(c, 0, sizeof *c);
    c->n_classes = n_classes;
    c->per_class = calloc((size_t)n_classes * 3 + 1, sizeof *c->per_class);
}

/* The rank of class t in the row (0 = best): classes with a larger logit, or an equal
 * one and a lower index, come first; NaN logits rank last. */
static int64_t rank_of(const float *row, int64_t classes, int64_t t)
{
    if (isnan(row[t])) return classes;
    int64_t r = 0;
    for (int64_t j = 0; j < classes; j++)
        if (!isnan(row[j]) && (row[j] > row[t] || (row[j] == row[t] && j < t))) r++;
    return r;
}

static void count(Counts *c, const float *row, int64_t classes, int label)
{
    int64_t r = rank_of(row, classes, label);
    c->images++;
    c->per_class[3 * label]++;
    if (r < 1) c->top1++, c->per_class[3 * label + 1]++;
    if (r < 5) c->top5++, c->per_class[3 * label + 2]++;
}

static double pct(int64_t k, int64_t n) { return n ? 100.0 * (double)k / (double)n : 0.0; }

static void print_result(const Counts *c)
{
    printf("images: %" PRId64 ", top-1 correct: %" PRId64 ", top-5 correct: %" PRId64 "\n", c->images, c->top1, c->top5);
    if (c->skipped) printf("skipped (not decodable): %" PRId64 "\n", c->skipped);
    printf("Test Acc@1: %.3f, Acc@5: %.3f\n", pct(c->top1, c->images), pct(c->top5, c->images));
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static int write_json(const char *path, const Counts *c, char **classes, const char *shard, Diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return -1;
    fprintf(f, "{\n  \"images\": %" PRId64 ",\n  \"top1\": %" PRId64 ",\n  \"top5\": %" PRId64 ",\n  \"skipped\": %" PRId64
               ",\n  \"acc1\": %.6f,\n  \"acc5\": %.6f,\n  \"shard\": ",
            c->images, c->top1, c->top5, c->skipped, pct(c->top1, c->images), pct(c->top5, c->images));
    json_string(f, shard);
    fprintf(f, ",\n  \"classes\": [\n");
    for (int k = 0; k < c->n_classes; k++) {
        const int64_t *p = c->per_class + 3 * k;
        fprintf(f, "    {\"name\": ");
        json_string(f, classes[k]);
        fprintf(f, ", \"images\": %" PRId64 ", \"top1\": %" PRId64 ", \"top5\": %" PRId64 ", \"acc1\": %.6f}%s\n", p[0], p[1],
                p[2], pct(p[1], p[0]), k + 1 < c->n_classes ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
    int rc = bcl_write_file(path, buf, len, d);
    free(buf);
    return rc;
}

/* ---- --merge ---- */

static const JsonValue *member(const JsonValue *o, const char *key)
{
    if (!o || o->kind != JSON_OBJECT) return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i]->str, key)) return o->items[i];
    return NULL;
}

static bool get_int(const JsonValue *o, const char *key, int64_t *out)
{
    const JsonValue *v = member(o, key);
    return v && json_get_int(v, out);
}

static int merge(const EvalOpts *o, Diag *d)
{
    Counts total = {0};
    char **classes = NULL;
    int rc = 1;
    Arena a;
    arena_init(&a);
    PtrVec texts = {0};
    for (int k = 0; k < o->n_merge; k++) {
        unsigned char *text;
        size_t len;
        if (bcl_read_file(o->merge[k], &text, &len, d)) goto done;
        char err[200];
        JsonValue *v = json_parse(&a, (const char *)text, len, err, sizeof err);
        ptrvec_push(&a, &texts, text);   /* numbers point into the text */
        if (!v) {
            diag_error_path(d, o->merge[k], "not JSON: %s", err);
            goto done;
        }
        const JsonValue *cls = member(v, "classes");
        int64_t n[4];
        const char *keys[4] = {"images", "top1", "top5", "skipped"};
        for (int i = 0; i < 4; i++)
            if (!get_int(v, keys[i], &n[i])) {
                diag_error_path(d, o->merge[k], "not a 'bclc eval --json' result: no count '%s'", keys[i]);
                goto done;
            }
        if (!cls || cls->kind != JSON_ARRAY || !cls->n) {
            diag_error_path(d, o->merge[k], "not a 'bclc eval --json' result: no 'classes' list");
            goto done;
        }
        if (!classes) {
            counts_init(&total, cls->n);
            classes = calloc((size_t)cls->n, sizeof *classes);
        } else if (cls->n != total.n_classes) {
            diag_error_path(d, o->merge[k], "%d classes, the first file has %d", cls->n, total.n_classes);
            goto done;
        }
        for (int c = 0; c < cls->n; c++) {
            const JsonValue *name = member(cls->items[c], "name");
            int64_t pc[3];
            if (!name || name->kind != JSON_STRING || !get_int(cls->items[c], "images", &pc[0]) ||
                !get_int(cls->items[c], "top1", &pc[1]) || !get_int(cls->items[c], "top5", &pc[2])) {
                diag_error_path(d, o->merge[k], "class %d: expected name, images, top1, top5", c);
                goto done;
            }
            if (!classes[c]) classes[c] = strdup(name->str);
            else if (strcmp(classes[c], name->str)) {
                diag_error_path(d, o->merge[k], "class %d is '%s', the first file's is '%s'", c, name->str, classes[c]);
                goto done;
            }
            for (int i = 0; i < 3; i++) total.per_class[3 * c + i] += pc[i];
        }
        total.images += n[0], total.top1 += n[1], total.top5 += n[2], total.skipped += n[3];
    }
    print_result(&total);
    rc = o->json && write_json(o->json, &total, classes, "merged", d) ? 1 : 0;
done:
    if (classes)
        for (int c = 0; c < total.n_classes; c++) free(classes[c]);
    free(classes);
    free(total.per_class);
    for (int i = 0; i < texts.n; i++) free(texts.v[i]);
    arena_free(&a);
    return rc;
}

/* ---- the decode workers and the batch ring ---- */

enum { RING = 3 };

typedef struct Slot {
    int64_t batch;        /* the batch this slot holds, -1 when free */
    int64_t expect;       /* the batch it takes next (slot i: i, i + RING, ...) */
    int filled;           /* samples written (or failed) */
    float *x;             /* batch * C * H * W */
    signed char *bad;     /* per sample: 1 if it could not be decoded */
} Slot;

typedef struct Loader {
    const Folder *f;
    const Preprocess *p;
    int64_t first, count;  /* the shard: samples [first, first + count) */
    int batch;
    size_t per_image;      /* floats */
    Slot slots[RING];
    int64_t next;          /* next sample (relative) to decode */
    int stop;
    char *error;           /* the first decode error (without --skip-bad) */
    int skip_bad;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} Loader;

static int64_t n_batches(const Loader *l) { return (l->count + l->batch - 1) / l->batch; }

static int64_t batch_size(const Loader *l, int64_t b)
{
    int64_t left = l->count - b * l->batch;
    return left < l->batch ? left : l->batch;
}

static void *worker(void *arg)
{
    Loader *l = arg;
    char *msg = NULL;
    size_t msg_len = 0;
    FILE *mf = open_memstream(&msg, &msg_len);
    Diag d;
    diag_init(&d, mf);
    for (;;) {
        pthread_mutex_lock(&l->mu);
        int64_t k = l->next;
        if (l->stop || k >= l->count) {
            pthread_mutex_unlock(&l->mu);
            break;
        }
        l->next++;
        int64_t b = k / l->batch;
        Slot *s = &l->slots[b % RING];
        while (!l->stop && s->batch != b) {   /* wait until the model has used the slot */
            if (s->batch == -1 && s->expect == b) {
                s->batch = b;
                s->filled = 0;
                break;
            }
            pthread_cond_wait(&l->cv, &l->mu);
        }
        if (l->stop) {
            pthread_mutex_unlock(&l->mu);
            break;
        }
        pthread_mutex_unlock(&l->mu);

        const Sample *sm = &l->f->s[l->first + k];
        int at = (int)(k % l->batch);
        Image img;
        fflush(mf);
        size_t mark = msg_len;
        int rc = image_read(sm->path, &img, &d);
        if (!rc) {
            rc = preprocess_image(&img, l->p, s->x + (size_t)at * l->per_image);
            if (rc == PREPROCESS_NO_MEMORY) diag_error_path(&d, sm->path, "out of memory in the test transform");
            else if (rc) diag_error_path(&d, sm->path, "the image is too small or too large for the test transform");
            image_free(&img);
        }
        image_budget_release();   /* what this decode reserved, freed above */
        fflush(mf);
        pthread_mutex_lock(&l->mu);
        s->bad[at] = rc != 0;
        if (rc && (l->skip_bad || !l->error)) {
            /* with --skip-bad every failure is a warning naming its file */
            char *m = strndup(msg + mark, msg_len - mark), *lvl = l->skip_bad ? strstr(m, ": error: ") : NULL;
            size_t old = l->error ? strlen(l->error) : 0, n = strlen(m) + (lvl ? 2 : 0);
            char *all = realloc(l->error, old + n + 1);
            if (all && lvl) {
                size_t head = (size_t)(lvl - m);
                memcpy(all + old, m, head);
                memcpy(all + old + head, ": warning: ", 11);
                strcpy(all + old + head + 11, lvl + 9);
            } else if (all) {
                strcpy(all + old, m);
            }
            if (all) l->error = all;
            free(m);
        }
        if (rc && !l->skip_bad) l->stop = 1;
        s->filled++;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
    }
    fclose(mf);
    free(msg);
    return NULL;
}

/* ---- the engine ---- */

typedef struct Engine {
    const IrGraph *g;
#if BCL_HAVE_LLVM
    BclJit *jit;
#endif
} Engine;

static int engine_run(Engine *e, const float *x, float *y, Diag *d)
{
    const float *ins[1] = {x};
    float *outs[1] = {y};
#if BCL_HAVE_LLVM
    if (e->jit) return bcl_jit_run(e->jit, ins, outs, d);
#endif
    return bcl_interp_run_planned(e->g, NULL, ins, outs, d);
}

/* ---- progress ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void hms(double s, char *buf, size_t n)
{
    long t = s > 0 && s < 1e7 ? (long)(s + 0.5) : 0;
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

typedef struct Progress {
    bool tty, quiet;
    double start, last;
    int64_t total;
} Progress;

static void progress(Progress *p, int64_t done, bool final)
{
    if (p->quiet) return;
    double t = now(), el = t - p->start, rate = el > 0 ? (double)done / el : 0;
    if (!final && t - p->last < (p->tty ? 0.2 : 10.0)) return;
    p->last = t;
    char eta[32], elapsed[32];
    hms(rate > 0 ? (double)(p->total - done) / rate : 0, eta, sizeof eta);
    hms(el, elapsed, sizeof elapsed);
    if (p->tty) {
        int w = 30, fill = p->total ? (int)(w * done / p->total) : w;
        fprintf(stderr, "\reval [%.*s%*s] %" PRId64 "/%" PRId64 " %.1f images/s, ETA %s ", fill,
                "==============================", w - fill, "", done, p->total, rate, eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "eval: %" PRId64 "/%" PRId64 " images, %.1f images/s, %s %s\n", done, p->total, rate,
                final ? "elapsed" : "ETA", final ? elapsed : eta);
    }
    fflush(stderr);
}

/* ---- MPI ---- */

static int mpi_rank = 0, mpi_size = 1;

static void mpi_start(int *argc, char ***argv)
{
#if BCL_HAVE_MPI
    /* only when started by a launcher: a plain run needs no MPI runtime */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return;
    (void)argc, (void)argv;
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
#else
    (void)argc, (void)argv;
#endif
}

static int mpi_active(void)
{
#if BCL_HAVE_MPI
    int on = 0;
    MPI_Initialized(&on);
    return on;
#else
    return 0;
#endif
}

/* Sums the counts onto rank 0; every rank learns whether any failed. */
static int mpi_reduce(Counts *c, int failed)
{
#if BCL_HAVE_MPI
    int any_failed = 0;
    MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_failed) return 1;
    int64_t head[4] = {c->images, c->top1, c->top5, c->skipped}, sum[4];
    MPI_Reduce(head, sum, 4, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    int64_t *pc = calloc((size_t)c->n_classes * 3 + 1, sizeof *pc);
    MPI_Reduce(c->per_class, pc, c->n_classes * 3, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (mpi_rank == 0) {
        c->images = sum[0], c->top1 = sum[1], c->top5 = sum[2], c->skipped = sum[3];
        memcpy(c->per_class, pc, sizeof *pc * (size_t)c->n_classes * 3);
    }
    free(pc);
    return 0;
#else
    (void)c;
    return failed;
#endif
}

static void mpi_stop(void)
{
#if BCL_HAVE_MPI
    if (mpi_active()) MPI_Finalize();
#endif
}

/* ---- the command ---- */

/* What an evaluation holds: freed at its end, and by its guard when an allocation
 * fails below (support/oom.h), which first stops and joins the decoding threads, so
 * that none is left waiting on (or writing into) a frame the jump unwinds. */
typedef struct EvalHeld {
    Folder f;
    Arena arena;
    Counts c;
    Engine e;
    Loader l;
    bool loader_ready;     /* l.mu and l.cv initialised */
    pthread_t *threads;
    int n_threads;         /* started */
    float *y;
} EvalHeld;

static void stop_workers(EvalHeld *h)
{
    if (!h->n_threads) return;
    pthread_mutex_lock(&h->l.mu);
    h->l.stop = 1;
    pthread_cond_broadcast(&h->l.cv);
    pthread_mutex_unlock(&h->l.mu);
    for (int i = 0; i < h->n_threads; i++) pthread_join(h->threads[i], NULL);
    h->n_threads = 0;
}

static void eval_release(void *arg)
{
    EvalHeld *h = arg;
    stop_workers(h);
    free(h->l.error);
    for (int i = 0; i < RING; i++) free(h->l.slots[i].x), free(h->l.slots[i].bad);
    if (h->loader_ready) pthread_mutex_destroy(&h->l.mu), pthread_cond_destroy(&h->l.cv);
    free(h->threads);
    free(h->y);
    free(h->c.per_class);
#if BCL_HAVE_LLVM
    if (h->e.jit) bcl_jit_free(h->e.jit);
#endif
    free_folder(&h->f);
    arena_free(&h->arena);
    memset(h, 0, sizeof *h);
}

static int evaluate_held(EvalOpts *o, EvalHeld *h, Diag *d);

static void arena_free_guarded(void *arg) { arena_free(arg); }

static int evaluate(EvalOpts *o, Diag *d)
{
    EvalHeld h;
    memset(&h, 0, sizeof h);
    arena_init(&h.arena);
    BclOomGuard guard;
    bcl_oom_guard(&guard, eval_release, &h);
    int rc = evaluate_held(o, &h, d);
    bcl_oom_unguard(&guard);
    eval_release(&h);
    return rc;
}

static int evaluate_held(EvalOpts *o, EvalHeld *h, Diag *d)
{
    Folder *f = &h->f;
    Counts *c = &h->c;
    Engine *e = &h->e;
    Loader *l = &h->l;
    if (scan_folder(o->data, f, d)) return 1;

    /* the model, built for a batch of images of the config's size */
    BclDataCfg dc;
    o->m.build.data_cfg = &dc;
    Arena probe;
    arena_init(&probe);
    BclOomGuard g_probe;
    bcl_oom_guard(&g_probe, arena_free_guarded, &probe);
    IrGraph *g0 = bcl_pipeline_build(&o->m, &probe, d);
    Shape in = g0 ? bclc_image_input_shape(&dc, o->batch) : (Shape){0};
    bcl_oom_unguard(&g_probe);
    arena_free(&probe);
    if (!g0) return 1;
    if (!o->m.build.has_input_shape) {
        o->m.build.has_input_shape = true;
        o->m.build.input_shape = in;
    }
    o->m.build.input_shape.d[0] = o->batch;
    IrGraph *g = bcl_pipeline(&o->m, bcl_default_pipeline(2), &h->arena, d);
    if (!g) return 1;
    Preprocess p;
    if (g->inputs.n != 1 || g->outputs.n != 1) {
        diag_error(d, NO_LOC, "'bclc eval' needs a model with one input and one output");
        return 1;
    }
    const IrValue *out_v = g->outputs.v[0];
    if (bclc_image_preprocess(&dc, &((const IrValue *)g->inputs.v[0])->shape, &p, d)) return 1;
    if (out_v->shape.rank != 2) {
        char b[128];
        diag_error(d, NO_LOC, "'bclc eval' needs logits of shape [N, classes], the model outputs %s",
                   shape_str(&out_v->shape, b, sizeof b));
        return 1;
    }
    int64_t classes = out_v->shape.d[1];
    if (classes != f->n_classes) {
        diag_error_path(d, o->data, "%d class folders, but the model has %" PRId64 " classes (num_classes)", f->n_classes,
                        classes);
        for (int i = 0; i < f->n_classes; i++)
            if (f->classes[i][0] == '.') {
                diag_note(d, NO_LOC, "hidden folders count as classes, as in MegEngine's ImageFolder: '%s'", f->classes[i]);
                break;
            }
        return 1;
    }
    e->g = g;
#if BCL_HAVE_LLVM
    if (o->engine == ENGINE_JIT) {
        BclJitOptions jo = {.threads = o->threads};
        if (!(e->jit = bcl_jit_compile(g, &jo, d))) return 1;
    }
#endif
    /* the shard: by --shard, or by MPI rank */
    int shard = o->shard, n_shards = o->n_shards;
    if (mpi_size > 1) shard = mpi_rank, n_shards = mpi_size;
    l->f = f;
    l->p = &p;
    l->first = (int64_t)f->n * shard / n_shards;
    l->count = (int64_t)f->n * (shard + 1) / n_shards - l->first;
    l->batch = o->batch;
    l->per_image = (size_t)p.channels * p.crop_h * p.crop_w;
    l->skip_bad = o->skip_bad;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    h->loader_ready = true;
    for (int i = 0; i < RING; i++) {
        l->slots[i].batch = -1;
        l->slots[i].expect = i;
        l->slots[i].x = bcl_calloc(l->per_image * (size_t)o->batch, sizeof(float));
        l->slots[i].bad = bcl_calloc((size_t)o->batch, 1);
        if (!l->slots[i].x || !l->slots[i].bad) {
            diag_error(d, NO_LOC, "out of memory for the batch buffers");
            return 1;
        }
    }
    h->y = bcl_malloc(sizeof(float) * (size_t)o->batch * (size_t)classes);
    counts_init(c, f->n_classes);
    if (!h->y || !c->per_class) {
        diag_error(d, NO_LOC, "out of memory for the model's outputs and the counts");
        return 1;
    }
    int n_threads = o->workers;
    if (!n_threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
    }
    /* memory stays bounded: decoded images within --decode-mb, and big buffers mapped
     * so that freeing them returns them (glibc would otherwise raise its mmap threshold
     * after the first free and keep each worker's freed images in its arena) */
    image_budget_set((size_t)o->decode_mb << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (!(h->threads = bcl_calloc((size_t)n_threads, sizeof *h->threads))) {
        diag_error(d, NO_LOC, "out of memory for the decoding threads");
        return 1;
    }
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&h->threads[i], NULL, worker, l)) {
            diag_error(d, NO_LOC, "cannot start a decoding thread");
            return 1;
        }
        h->n_threads++;
    }

    Progress pr = {isatty(2) != 0, o->quiet || mpi_rank != 0, now(), now(), l->count};
    int64_t done = 0;
    int failed = 0;
    for (int64_t b = 0; b < n_batches(l) && !failed; b++) {
        Slot *s = &l->slots[b % RING];
        int64_t size = batch_size(l, b);
        pthread_mutex_lock(&l->mu);
        while (!l->stop && !(s->batch == b && s->filled == size)) pthread_cond_wait(&l->cv, &l->mu);
        int stopped = l->stop && !(s->batch == b && s->filled == size);
        pthread_mutex_unlock(&l->mu);
        if (stopped || (l->error && !o->skip_bad)) {
            failed = 1;
            break;
        }
        /* a short last batch: the rows after it are stale and not counted */
        if (engine_run(e, s->x, h->y, d)) {
            failed = 1;
            break;
        }
        for (int64_t i = 0; i < size; i++) {
            const Sample *sm = &f->s[l->first + b * l->batch + i];
            if (s->bad[i]) {
                c->skipped++;
                continue;
            }
            count(c, h->y + i * classes, classes, sm->label);
        }
        done += size;
        pthread_mutex_lock(&l->mu);
        s->batch = -1;   /* free for the next batch of this slot */
        s->expect = b + RING;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        progress(&pr, done, false);
    }
    stop_workers(h);
    if (l->error) {
        /* the worker's diagnostic, as printed by a Diag */
        fputs(l->error, d->out);
        if (o->skip_bad) d->n_warnings++;
        else d->n_errors++;
        if (!o->skip_bad && !strstr(l->error, "out of memory"))
            fprintf(d->out, "bclc: note: --skip-bad goes on past images that cannot be decoded\n");
    }
    if (!failed) progress(&pr, done, true);
    if (mpi_active() && mpi_size > 1) failed = mpi_reduce(c, failed);
    if (failed) return 1;
    if (mpi_rank == 0) {
        print_result(c);
        char shard_text[64];
        snprintf(shard_text, sizeof shard_text, "%d/%d", shard, n_shards);
        if (o->json && write_json(o->json, c, f->classes, mpi_size > 1 ? "all" : shard_text, d)) return 1;
    }
    return 0;
}

/* --list: the samples as evaluated (and as --shard slices them) */
static int list_samples(const EvalOpts *o, Diag *d)
{
    Folder f;
    int rc = scan_folder(o->data, &f, d);
    for (int i = 0; !rc && i < f.n; i++) printf("%d\t%s\t%s\n", f.s[i].label, f.classes[f.s[i].label], f.s[i].path);
    free_folder(&f);
    return rc ? 1 : 0;
}

int bclc_cmd_eval(int argc, char **argv)
{
    EvalOpts o;
    mpi_start(&argc, &argv);
    int r = parse(argc, argv, &o);
    if (r != 0) {
        free(o.merge);
        mpi_stop();
        return r > 0 ? 0 : 2;
    }
    Diag d;
    diag_init(&d, stderr);
    if (o.m.max_errors >= 0) d.max_errors = o.m.max_errors;
    BclOomGuard g_merge;   /* (an allocation may fail below: support/oom.h) */
    bcl_oom_guard(&g_merge, bcl_oom_free_ptr, &o.merge);
    int rc = o.n_merge ? merge(&o, &d) : o.list ? list_samples(&o, &d) : evaluate(&o, &d);
    if (d.n_errors) rc = 1;
    bcl_oom_unguard(&g_merge);
    free(o.merge);
    mpi_stop();
    return rc;
}
