/* bclc run's input checks (bclc_input.h). */
#include "tools/bclc_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool bclc_explain_input_shape(const BclBuildOptions *opt, const char *input_path, const Shape *xs, Diag *d)
{
    BclBuildOptions probe = *opt;
    probe.has_input_shape = false;   /* the config's own shape */
    probe.data_cfg = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *sink = open_memstream(&text, &len);   /* the probe's own diagnostics are not the user's */
    if (!sink) return false;
    Diag quiet;
    diag_init(&quiet, sink);
    Arena a;
    arena_init(&a);
    IrGraph *g = bcl_build(&probe, &a, &quiet);
    fclose(sink);
    free(text);
    bool reported = false;
    if (g && quiet.n_errors == 0 && g->inputs.n == 1) {
        Shape want = ((IrValue *)g->inputs.v[0])->shape;
        bool differs = want.rank != xs->rank;
        for (int i = 1; i < want.rank && !differs; i++) differs = want.d[i] != xs->d[i];
        if (differs) {
            char got_s[128], want_s[160] = "[N";
            shape_str(xs, got_s, sizeof got_s);
            for (int i = 1; i < want.rank; i++)
                snprintf(want_s + strlen(want_s), sizeof want_s - strlen(want_s), ", %lld", (long long)want.d[i]);
            strcat(want_s, "]");
            /* [1, 8, 8, 1] for [N, 1, 8, 8]: the array is channels-last */
            bool nhwc = want.rank == 4 && xs->rank == 4 && xs->d[3] == want.d[1] && xs->d[1] == want.d[2] &&
                        xs->d[2] == want.d[3];
            diag_error_path(d, input_path, "the input has shape %s, but %s takes %s (from its config)%s", got_s, g->name ? g->name : "the model", want_s,
                            nhwc ? "; NHWC? the model takes NCHW: transpose the array to (0, 3, 1, 2)" : "");
            reported = true;
        }
    }
    arena_free(&a);
    return reported;
}
