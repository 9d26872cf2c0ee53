/* JIT vs reference interpreter, op by op, over random shapes and attributes. Each
 * test puts many independent cases into one graph (one compile). */
#include "tests/unit/test_jit_util.h"

#define TOL 1e-4

static const int acts[] = {-1, IR_RELU, IR_RELU6, IR_SILU, IR_LEAKY_RELU, IR_HSWISH, IR_SIGMOID};

static int steps_with_kernel(JT *t, const char *k, int threads);

static int pick_act(JT *t) { return acts[jt_int(t, 0, (int)(sizeof acts / sizeof *acts) - 1)]; }

/* One random conv2d case; weights bound (blocked kernels) or a graph input
 * (generic kernel). */
static void add_conv_case(JT *t, int kind)
{
    for (;;) {
        int N = jt_int(t, 1, 2), C = jt_int(t, 1, 36), H = jt_int(t, 3, 11), W = jt_int(t, 3, 13);
        int K = jt_int(t, 0, 2) * 2 + 1, KW = jt_int(t, 0, 3) ? K : jt_int(t, 1, 3);
        int G = 1, O = jt_int(t, 1, 40);
        if (kind == 1) G = O = C;                            /* depthwise */
        if (kind == 2) {                                      /* grouped */
            G = jt_int(t, 2, 3);
            C = G * jt_int(t, 1, 6);
            O = G * jt_int(t, 1, 6);
        }
        if (kind == 4) {                                      /* grouped, 16-blocks per group */
            G = jt_int(t, 2, 3);
            C = G * 16 * jt_int(t, 1, 2);
            O = G * 16 * jt_int(t, 1, 2);
            H = jt_int(t, 3, 7), W = jt_int(t, 3, 9);
        }
        if (kind == 5) {   /* narrow groups (RegNet's 24): the blocked kernel, padded per group */
            G = jt_int(t, 2, 4);
            C = G * jt_int(t, 8, 30);
            O = G * jt_int(t, 8, 30);
            H = jt_int(t, 3, 9), W = jt_int(t, 3, 20);
        }
        IrAttrs a = ir_attrs_default();
        a.stride[0] = jt_int(t, 1, 2), a.stride[1] = jt_int(t, 1, 2);
        a.dilation[0] = jt_int(t, 0, 3) ? 1 : 2, a.dilation[1] = jt_int(t, 0, 3) ? 1 : 2;
        for (int i = 0; i < 4; i++) a.pad[i] = jt_int(t, 0, 2);
        a.groups = G;
        a.act = pick_act(t);
        a.act_alpha = 0.1f;
        int64_t OH = (H + a.pad[0] + a.pad[2] - a.dilation[0] * (K - 1) - 1) / a.stride[0] + 1;
        int64_t OW = (W + a.pad[1] + a.pad[3] - a.dilation[1] * (KW - 1) - 1) / a.stride[1] + 1;
        if (H + a.pad[0] + a.pad[2] < a.dilation[0] * (K - 1) + 1 ||
            W + a.pad[1] + a.pad[3] < a.dilation[1] * (KW - 1) + 1)
            continue;
        float s = 1.0f / sqrtf((float)(C / G * K * KW));
        IrValue *in[4];
        int n = 2;
        in[0] = jt_input(t, jt_shape(4, N, C, H, W));
        in[1] = kind == 3 ? jt_input(t, jt_shape(4, O, C / G, K, KW))
                          : jt_param(t, jt_shape(4, O, C / G, K, KW), -s, s);
        if (jt_int(t, 0, 3)) in[n++] = jt_param(t, jt_shape(1, O), -1, 1);
        if (n == 3 && jt_int(t, 0, 1)) in[n++] = jt_input(t, jt_shape(4, N, O, (int)OH, (int)OW));
        ir_add_output(t->g, jt_node(t, IR_CONV2D, in, n, &a));
        return;
    }
}

static void test_conv_dense(void **st)
{
    JT t;
    jt_init(&t, 1);
    for (int i = 0; i < 24; i++) add_conv_case(&t, 0);
    /* channel counts at and around the 16-block; 3x3 stride 1 is Winograd: odd and
     * even output sizes, asymmetric padding, a residual */
    for (int i = 0; i < 4; i++) {
        int C = (int[]){16, 17, 32, 15}[i], O = (int[]){16, 33, 31, 64}[i];
        IrAttrs a = ir_attrs_default();
        a.pad[0] = a.pad[1] = a.pad[2] = 1;
        a.pad[3] = i % 2;
        a.act = IR_RELU;
        int H = 9 + i % 2, W = 20 - i;
        int OW = W + 1 + a.pad[3] - 2;
        IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, C, H, W)), jt_param(&t, jt_shape(4, O, C, 3, 3), -0.1f, 0.1f),
                          jt_param(&t, jt_shape(1, O), -1, 1), jt_input(&t, jt_shape(4, 2, O, H, OW))};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i >= 2 ? 4 : 3, &a));
    }
    /* 3x3 stride 1 on enough 4x4 tiles for Winograd F(4x4, 3x3): outputs a multiple of
     * 4 and not (partial last tiles), asymmetric padding, a residual and an activation */
    for (int i = 0; i < 3; i++) {
        int C = (int[]){16, 21, 40}[i], O = (int[]){16, 35, 20}[i], H = (int[]){28, 21, 26}[i], W = (int[]){28, 30, 17}[i];
        IrAttrs a = ir_attrs_default();
        a.pad[0] = a.pad[1] = 1;
        a.pad[2] = a.pad[3] = i == 1 ? 0 : 1;
        a.act = i == 2 ? IR_SILU : IR_RELU;
        int OH = H + a.pad[0] + a.pad[2] - 2, OW = W + a.pad[1] + a.pad[3] - 2;
        IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, C, H, W)), jt_param(&t, jt_shape(4, O, C, 3, 3), -0.2f, 0.2f),
                          jt_param(&t, jt_shape(1, O), -1, 1), jt_input(&t, jt_shape(4, 2, O, OH, OW))};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i ? 4 : 3, &a));
    }
    /* 1x1 stride-1 convs (the GEMM kernel): pixel counts below, at and off 16 */
    int hw[][2] = {{3, 3}, {4, 4}, {5, 7}, {8, 8}, {7, 9}, {1, 1}};
    for (int i = 0; i < 6; i++) {
        int C = jt_int(&t, 1, 40), O = (int[]){5, 6, 13, 64, 7, 12}[i];
        IrAttrs a = ir_attrs_default();
        a.act = pick_act(&t);
        IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, C, hw[i][0], hw[i][1])),
                          jt_param(&t, jt_shape(4, O, C, 1, 1), -0.3f, 0.3f), jt_param(&t, jt_shape(1, O), -1, 1),
                          jt_input(&t, jt_shape(4, 2, O, hw[i][0], hw[i][1]))};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i % 2 ? 4 : 2, &a));
    }
    /* strided 1x1 (subsampled plane by plane, then the GEMM); the last: 300 planes of
     * 14x13 -> 7x7, several items of 84 planes and a partial last one */
    for (int i = 0; i < 3; i++) {
        IrAttrs a = ir_attrs_default();
        a.stride[0] = 2, a.stride[1] = i == 1 ? 1 : 2;
        a.act = IR_RELU;
        int C = i == 2 ? 150 : 20, H = i == 2 ? 14 : 9, W = i == 2 ? 13 : 12;
        int OH = (H - 1) / 2 + 1, OW = (W - 1) / a.stride[1] + 1;
        IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, C, H, W)), jt_param(&t, jt_shape(4, 19, C, 1, 1), -0.3f, 0.3f),
                          jt_param(&t, jt_shape(1, 19), -1, 1), jt_input(&t, jt_shape(4, 2, 19, OH, OW))};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, 4, &a));
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* The register tiles' tails on both targets (the host's, and AVX2 forced with
 * x86-64-v3): Winograd GEMMs whose tile count is not a multiple of the row tile
 * (7x7 and 14x14 outputs: 16 and 49 tiles; the last block is one narrower tile),
 * blocked convs on 7 and 14 output columns (AVX2 splits them into balanced tiles),
 * and the epilogues' full and partial 16-channel blocks with and without a residual. */
static void test_conv_tile_tails(void **st)
{
    (void)st;
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 17);
        t.cpu = cpu ? "x86-64-v3" : NULL;
        for (int i = 0; i < 8; i++) {
            int N = i % 3 ? 1 : 2, HW = (int[]){7, 14, 7, 14, 28, 15, 7, 14}[i];
            int C = (int[]){32, 24, 48, 16, 16, 40, 20, 36}[i], O = (int[]){32, 20, 16, 48, 40, 17, 64, 30}[i];
            int s = i >= 6 ? 2 : 1;   /* stride 2: the blocked kernel (on 4 and 7 columns) */
            IrAttrs a = ir_attrs_default();
            a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
            a.stride[0] = a.stride[1] = s;
            a.act = i % 2 ? IR_RELU : IR_SILU;
            int OHW = (HW + 2 - 3) / s + 1;
            IrValue *in[4] = {jt_input(&t, jt_shape(4, N, C, HW, HW)), jt_param(&t, jt_shape(4, O, C, 3, 3), -0.1f, 0.1f),
                              jt_param(&t, jt_shape(1, O), -1, 1), jt_input(&t, jt_shape(4, N, O, OHW, OHW))};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i % 4 == 3 ? 3 : 4, &a));
        }
        /* blocks with at most 8 valid output channels (HALF8: 8-lane tiles of TW8
         * columns): RegNet's 24-channel groups on 7, 14, 28 and 11 columns, strides 1
         * and 2, a residual; a dense conv with O % 16 = 8 and one with O % 16 = 3 */
        for (int i = 0; i < 6; i++) {
            int G = i < 4 ? 2 + i % 2 : 1, CG = i < 4 ? 24 : 12, OG = i < 4 ? 24 : i == 4 ? 40 : 19;
            int HW = (int[]){7, 14, 28, 11, 14, 9}[i], s = i == 3 ? 2 : 1;
            IrAttrs a = ir_attrs_default();
            a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
            a.stride[0] = a.stride[1] = s;
            a.groups = G;
            a.act = i % 2 ? IR_RELU : -1;
            int OHW = (HW + 2 - 3) / s + 1;
            IrValue *in[4] = {jt_input(&t, jt_shape(4, 1, G * CG, HW, HW)),
                              jt_param(&t, jt_shape(4, G * OG, CG, 3, 3), -0.1f, 0.1f), jt_param(&t, jt_shape(1, G * OG), -1, 1),
                              jt_input(&t, jt_shape(4, 1, G * OG, OHW, OHW))};
            if (G == 1) a.stride[0] = 2;   /* dense: not Winograd */
            if (G == 1) OHW = (HW + 2 - 3) / 2 + 1, in[3] = jt_input(&t, jt_shape(4, 1, OG, OHW, (HW + 2 - 3) / s + 1));
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i % 3 ? 4 : 3, &a));
        }
        /* 5x5 stride 1 (the blocked kernel, not Winograd) on 7 and 14 columns */
        for (int i = 0; i < 2; i++) {
            int HW = i ? 14 : 7, O = i ? 16 : 21;
            IrAttrs a = ir_attrs_default();
            a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 2;
            a.act = IR_RELU;
            IrValue *in[4] = {jt_input(&t, jt_shape(4, 1, 12, HW, HW)), jt_param(&t, jt_shape(4, O, 12, 5, 5), -0.1f, 0.1f),
                              jt_param(&t, jt_shape(1, O), -1, 1), jt_input(&t, jt_shape(4, 1, O, HW, HW))};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, 4, &a));
        }
        jt_check(&t, 2, TOL, false);
        jt_free(&t);
    }
}

/* The vector sigmoid and SiLU of the epilogues (vexpneg1) over the float range, against
 * the interpreter's double-precision formula at 1e-6 (the vector forms are within 6e-7
 * relative): a 1x1 conv from one channel to 16 (conv1x1) and a 1x1 depthwise conv of 16
 * channels (dwconv), channel k's weight 0.5 + 8k, scale inputs in [-1, 1] to
 * [-120.5, 120.5], past the clamps at +-88 and through the polynomial's whole range;
 * host and AVX2. */
static void test_act_epilogue_range(void **st)
{
    (void)st;
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 23);
        t.cpu = cpu ? "x86-64-v3" : NULL;
        for (int i = 0; i < 4; i++) {
            int dw = i >= 2;
            IrAttrs a = ir_attrs_default();
            a.act = i % 2 ? IR_SIGMOID : IR_SILU;
            a.groups = dw ? 16 : 1;
            IrValue *in[2] = {jt_input(&t, jt_shape(4, 2, dw ? 16 : 1, 11, 13)), jt_param(&t, jt_shape(4, 16, 1, 1, 1), 0, 1)};
            for (int k = 0; k < 16; k++) in[1]->data[k] = 0.5f + 8.0f * (float)k;
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, 2, &a));
        }
        if (!cpu) {
            assert_int_equal(steps_with_kernel(&t, "conv1x1", 1), 2);
            assert_int_equal(steps_with_kernel(&t, "dwconv", 1), 2);
        }
        jt_check(&t, 1, 1e-6, false);
        jt_free(&t);
    }
}

static void test_conv_depthwise_grouped_generic(void **st)
{
    JT t;
    jt_init(&t, 2);
    for (int i = 0; i < 10; i++) add_conv_case(&t, 1);
    for (int i = 0; i < 6; i++) add_conv_case(&t, 2);
    for (int i = 0; i < 4; i++) add_conv_case(&t, 4);
    for (int i = 0; i < 8; i++) add_conv_case(&t, 5);
    for (int i = 0; i < 6; i++) add_conv_case(&t, 3);
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* Depthwise convs on rows wider than one vector (KERNEL(dwconv): full vectors, a partial
 * last one, several register tiles per row, column phases for strides 2 and 3, dilation,
 * a residual), and a plane tall enough to be split into bands of rows; on the host and
 * on AVX2. The register tile's output rows (OR: 4 or 8 with AVX-512, 3 or 6 with AVX2)
 * leave every remainder of 1 .. OR - 1 rows at some plane height (the cases with H 2 ..
 * 12), with one and with several vectors per row, dilated rows (taps every other input
 * row), and strides 2 and 3 (rows sharing fewer input rows; 1x1 taps: one row). */
static void test_dwconv_nchw(void **st)
{
    (void)st;
    static const int cs[][10] = {
        /* C  H    W   KH KW sh sw dh dw pad */
        {5, 9, 37, 3, 3, 1, 1, 1, 1, 1},   {3, 11, 70, 5, 5, 2, 2, 1, 1, 2},  {4, 8, 133, 3, 3, 1, 2, 2, 1, 1},
        {2, 130, 90, 3, 3, 1, 1, 1, 1, 1}, {3, 40, 64, 3, 5, 2, 3, 1, 2, 0}, {17, 7, 16, 7, 7, 1, 1, 1, 1, 3},
        {6, 300, 40, 3, 3, 2, 2, 1, 1, 1}, {3, 2, 20, 3, 3, 1, 1, 1, 1, 1},  {3, 3, 20, 3, 3, 1, 1, 1, 1, 1},
        {3, 5, 20, 5, 5, 1, 1, 1, 1, 2},   {3, 6, 20, 3, 3, 1, 1, 1, 1, 1},  {3, 7, 20, 3, 3, 1, 1, 1, 1, 1},
        {3, 10, 18, 3, 3, 1, 1, 2, 1, 2},  {3, 11, 70, 3, 3, 1, 1, 1, 1, 1}, {3, 12, 29, 5, 3, 1, 1, 1, 1, 2},
        {3, 13, 40, 3, 3, 3, 1, 1, 1, 1},  {3, 9, 30, 1, 1, 1, 1, 1, 1, 0},  {4, 23, 46, 3, 3, 2, 2, 1, 1, 1},
        {3, 11, 16, 3, 3, 1, 1, 1, 1, 1},  {3, 8, 16, 3, 3, 1, 1, 1, 1, 1},  {3, 10, 16, 3, 3, 1, 1, 2, 1, 2},
        {3, 14, 20, 3, 3, 1, 1, 1, 1, 1},
    };
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 7);
        t.cpu = cpu ? "x86-64-v3" : NULL;
        for (int i = 0; i < (int)(sizeof cs / sizeof *cs); i++) {
            const int *c = cs[i];
            IrAttrs a = ir_attrs_default();
            a.stride[0] = c[5], a.stride[1] = c[6], a.dilation[0] = c[7], a.dilation[1] = c[8];
            a.pad[0] = a.pad[1] = c[9], a.pad[2] = c[9], a.pad[3] = i % 2 ? 0 : c[9];
            a.groups = c[0];
            a.act = acts[i % (int)(sizeof acts / sizeof *acts)];
            a.act_alpha = 0.1f;
            int64_t OH = (c[1] + 2 * c[9] - c[7] * (c[3] - 1) - 1) / c[5] + 1;
            int64_t OW = (c[2] + c[9] + a.pad[3] - c[8] * (c[4] - 1) - 1) / c[6] + 1;
            IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, c[0], c[1], c[2])),
                              jt_param(&t, jt_shape(4, c[0], 1, c[3], c[4]), -0.5f, 0.5f),
                              jt_param(&t, jt_shape(1, c[0]), -1, 1),
                              jt_input(&t, jt_shape(4, 2, c[0], (int)OH, (int)OW))};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i % 3 == 1 ? 4 : 3, &a));
        }
        if (!cpu) assert_int_equal(steps_with_kernel(&t, "dwconv", 2), (int)(sizeof cs / sizeof *cs));
        jt_check(&t, 2, TOL, false);
        jt_free(&t);
    }
}

/* Depthwise convs at strides 1 and 2 on planes with rows under 16 (KERNEL(dwflat), the
 * flat padded phase planes): 7x7 with 5x5 and 3x3 taps (EfficientNet's last stages),
 * 14x14 -> 7x7 at stride 2, one axis strided, rectangular planes and kernels,
 * asymmetric and zero padding, a residual, activations, on the host
 * and on AVX2; BCL_JIT_DWFLAT=0 leaves them to dwconv (and a plane where flat vectors
 * would not be fewer than rows stays there). */
static void test_dwflat(void **st)
{
    static const int cs[][11] = {
        /* C  H   W  KH KW pt pl pb pr sh sw */
        {9, 7, 7, 5, 5, 2, 2, 2, 2, 1, 1},    {20, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1}, {5, 6, 9, 3, 5, 1, 2, 0, 2, 1, 1},
        {4, 10, 4, 3, 3, 0, 0, 1, 1, 1, 1},   {3, 5, 12, 1, 3, 0, 1, 0, 0, 1, 1}, {6, 8, 3, 5, 3, 2, 1, 2, 1, 1, 1},
        {6, 14, 14, 3, 3, 1, 1, 1, 1, 2, 2},  {5, 14, 14, 5, 5, 2, 2, 2, 2, 2, 2}, {4, 13, 9, 3, 5, 1, 2, 0, 2, 2, 1},
        {3, 9, 12, 3, 3, 0, 1, 1, 0, 1, 2},
    };
    int nc = (int)(sizeof cs / sizeof *cs);
    static const char *const cpus[] = {"", "x86-64-v3"};
    for (int k = 0; k < 3; k++) {
        if (*cpus[k % 2]) setenv("BCL_JIT_TARGET_CPU", cpus[k % 2], 1);
        else unsetenv("BCL_JIT_TARGET_CPU");
        if (k == 2) setenv("BCL_JIT_DWFLAT", "0", 1);
        JT t;
        jt_init(&t, 50 + k);
        for (int i = 0; i < nc; i++) {
            const int *c = cs[i];
            IrAttrs a = ir_attrs_default();
            for (int j = 0; j < 4; j++) a.pad[j] = c[5 + j];
            a.stride[0] = c[9], a.stride[1] = c[10];
            a.groups = c[0];
            a.act = acts[i % (int)(sizeof acts / sizeof *acts)];
            a.act_alpha = 0.1f;
            int OH = (c[1] + c[5] + c[7] - c[3]) / c[9] + 1, OW = (c[2] + c[6] + c[8] - c[4]) / c[10] + 1;
            IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, c[0], c[1], c[2])),
                              jt_param(&t, jt_shape(4, c[0], 1, c[3], c[4]), -0.5f, 0.5f),
                              jt_param(&t, jt_shape(1, c[0]), -1, 1), jt_input(&t, jt_shape(4, 2, c[0], OH, OW))};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i % 2 ? 4 : 3, &a));
        }
        {   /* 7 x 15 with 3x3: 8 flat vectors for 7 rows, so dwconv */
            IrAttrs a = ir_attrs_default();
            a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
            a.groups = 3;
            IrValue *in[2] = {jt_input(&t, jt_shape(4, 2, 3, 7, 15)), jt_param(&t, jt_shape(4, 3, 1, 3, 3), -0.5f, 0.5f)};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, 2, &a));
        }
        assert_int_equal(steps_with_kernel(&t, "dwflat", 2), k == 2 ? 0 : nc);
        assert_int_equal(steps_with_kernel(&t, "dwconv", 2), k == 2 ? nc + 1 : 1);
        jt_check(&t, 1, TOL, false);
        jt_check(&t, 2, TOL, false);
        jt_free(&t);
    }
    unsetenv("BCL_JIT_TARGET_CPU");
    unsetenv("BCL_JIT_DWFLAT");
}

/* Stems: dense convs with few input channels (KERNEL(convrow): output channel tiles of
 * 8 and 6 with a partial last one, strides 1-2, dilation, residual, rows split into
 * bands), and max pooling on wide rows (KERNEL(maxpool)). */
static void test_convrow_maxpool(void **st)
{
    JT t;
    jt_init(&t, 8);
    static const int cs[][9] = {
        /* C  H   W   O  K  s  d  pad res */
        {3, 41, 50, 32, 3, 2, 1, 1, 0}, {3, 60, 61, 16, 7, 2, 1, 3, 1}, {1, 9, 37, 13, 3, 1, 1, 1, 1},
        {4, 30, 90, 24, 5, 1, 2, 4, 0}, {2, 200, 120, 7, 3, 2, 1, 0, 0},
    };
    for (int i = 0; i < (int)(sizeof cs / sizeof *cs); i++) {
        const int *c = cs[i];
        IrAttrs a = ir_attrs_default();
        a.stride[0] = a.stride[1] = c[5];
        a.dilation[0] = a.dilation[1] = c[6];
        for (int k = 0; k < 4; k++) a.pad[k] = c[7];
        a.act = acts[(i + 1) % (int)(sizeof acts / sizeof *acts)];
        a.act_alpha = 0.1f;
        int64_t OH = (c[1] + 2 * c[7] - c[6] * (c[4] - 1) - 1) / c[5] + 1;
        int64_t OW = (c[2] + 2 * c[7] - c[6] * (c[4] - 1) - 1) / c[5] + 1;
        float s = 1.0f / sqrtf((float)(c[0] * c[4] * c[4]));
        IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, c[0], c[1], c[2])),
                          jt_param(&t, jt_shape(4, c[3], c[0], c[4], c[4]), -s, s), jt_param(&t, jt_shape(1, c[3]), -1, 1),
                          jt_input(&t, jt_shape(4, 2, c[3], (int)OH, (int)OW))};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, c[8] ? 4 : 3, &a));
    }
    static const int ps[][6] = {{70, 57, 3, 2, 1, 0}, {30, 33, 2, 2, 0, 1}, {19, 100, 3, 1, 1, 0}, {12, 17, 5, 3, 2, 1}};
    for (int i = 0; i < 4; i++) {
        IrAttrs a = ir_attrs_default();
        a.kernel[0] = a.kernel[1] = ps[i][2];
        a.stride[0] = a.stride[1] = ps[i][3];
        a.pad[0] = a.pad[1] = ps[i][4];
        a.pad[2] = a.pad[3] = ps[i][4] + ps[i][5];   /* asymmetric: a last window in the padding */
        IrValue *x = jt_input(&t, jt_shape(4, 2, 3, ps[i][0], ps[i][1]));
        ir_add_output(t.g, jt_node(&t, IR_MAX_POOL2D, &x, 1, &a));
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* An SE block's scale x * s ([N,C,1,1]) folded into the 1x1 conv it feeds (scaled
 * weights per image, no pass over x * s): both operand orders, a residual, a node between
 * the mul and the conv that needs a buffer of x's size (x must stay alive), and the
 * cases that must not fold (the product also an output, or read twice). */
static void test_se_scale_fold(void **st)
{
    JT t;
    jt_init(&t, 9);
    for (int i = 0; i < 4; i++) {
        int N = 2, C = 24, H = 6, W = 7, O = 20;
        IrValue *x0 = jt_input(&t, jt_shape(4, N, C, H, W)), *z = jt_input(&t, jt_shape(4, N, C, H, W));
        IrAttrs a = ir_attrs_default();
        IrValue *x = jt_node(&t, IR_RELU, &x0, 1, &a);   /* a node result, as in a network */
        IrValue *s = jt_input(&t, jt_shape(4, N, C, 1, 1));
        IrValue *ms[2] = {i % 2 ? s : x, i % 2 ? x : s};
        IrValue *m = jt_node(&t, IR_MUL, ms, 2, &a);
        IrValue *q = jt_node(&t, IR_SIGMOID, &z, 1, &a);   /* would reuse x's buffer if x were freed */
        ir_add_output(t.g, q);
        IrAttrs ca = ir_attrs_default();
        ca.act = i == 0 ? IR_SILU : -1;
        IrValue *in[4] = {m, jt_param(&t, jt_shape(4, O, C, 1, 1), -0.2f, 0.2f), jt_param(&t, jt_shape(1, O), -1, 1),
                          jt_input(&t, jt_shape(4, N, O, H, W))};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, i == 1 ? 4 : 3, &ca));
        if (i == 2) ir_add_output(t.g, m);   /* not folded: the product is an output */
        if (i == 3) {                        /* not folded: a second reader */
            IrValue *in2[2] = {m, jt_param(&t, jt_shape(4, 5, C, 1, 1), -0.2f, 0.2f)};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in2, 2, &ca));
        }
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

static void test_linear_matmul(void **st)
{
    JT t;
    jt_init(&t, 3);
    for (int i = 0; i < 10; i++) {
        int I = jt_int(&t, 1, 70), O = jt_int(&t, 1, 50), R = jt_int(&t, 1, 9);
        float s = 1.0f / sqrtf((float)I);
        IrValue *in[3];
        in[0] = i % 3 == 0 ? jt_input(&t, jt_shape(3, 2, R, I)) : jt_input(&t, jt_shape(2, R, I));
        in[1] = i % 4 == 3 ? jt_input(&t, jt_shape(2, O, I)) : jt_param(&t, jt_shape(2, O, I), -s, s);
        int n = 2;
        if (i % 2) in[n++] = jt_param(&t, jt_shape(1, O), -1, 1);
        IrAttrs a = ir_attrs_default();
        a.act = pick_act(&t);
        ir_add_output(t.g, jt_node(&t, IR_LINEAR, in, n, &a));
    }
    /* matmul: 1-D operands, batch broadcasting */
    Shape as[] = {jt_shape(2, 5, 7), jt_shape(1, 7), jt_shape(3, 3, 5, 7), jt_shape(3, 1, 4, 6), jt_shape(2, 4, 6)};
    Shape bs[] = {jt_shape(2, 7, 9), jt_shape(2, 7, 3), jt_shape(1, 7), jt_shape(4, 2, 3, 6, 5), jt_shape(3, 2, 6, 17)};
    for (int i = 0; i < 5; i++) {
        IrValue *in[2] = {jt_input(&t, as[i]), jt_input(&t, bs[i])};
        IrAttrs a = ir_attrs_default();
        a.act = i == 4 ? IR_RELU : -1;
        ir_add_output(t.g, jt_node(&t, IR_MATMUL, in, 2, &a));
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

static void test_elementwise(void **st)
{
    JT t;
    jt_init(&t, 4);
    IrValue *x = jt_input(&t, jt_shape(4, 2, 3, 5, 7));
    for (int op = 0; op < IR_OP_COUNT; op++) {
        if (ir_op_info[op].kind != OPK_ELEMWISE) continue;
        IrAttrs a = ir_attrs_default();
        a.alpha = 0.2f;
        ir_add_output(t.g, jt_node(&t, (IrOp)op, &x, 1, &a));
    }
    /* broadcasting shapes, including a rank-0 constant, and a fused act */
    /* ... and dims the planner collapses: an SE scale [N,C,H,W] * [N,C,1,1], size-1 dims,
     * broadcasts on both sides */
    Shape sa[] = {jt_shape(4, 2, 3, 4, 5), jt_shape(3, 3, 1, 5), jt_shape(1, 1), jt_shape(2, 4, 1), jt_shape(0),
                  jt_shape(4, 2, 5, 6, 7), jt_shape(4, 1, 4, 1, 6), jt_shape(5, 2, 1, 3, 1, 4)};
    Shape sb[] = {jt_shape(4, 2, 3, 4, 5), jt_shape(4, 2, 1, 4, 5), jt_shape(3, 2, 3, 4), jt_shape(3, 3, 1, 6), jt_shape(2, 5, 3),
                  jt_shape(4, 2, 5, 1, 1), jt_shape(4, 3, 1, 5, 1), jt_shape(5, 2, 1, 3, 5, 4)};
    for (int op = 0; op < IR_OP_COUNT; op++) {
        if (ir_op_info[op].kind != OPK_BROADCAST) continue;
        for (int k = 0; k < 8; k++) {
            IrValue *in[2] = {k == 4 ? ir_const_scalar(t.g, 1.5f) : jt_input(&t, sa[k]), jt_input(&t, sb[k])};
            if (op == IR_POW) in[1] = jt_param(&t, sb[k], 0, 3);   /* real results mostly */
            IrAttrs a = ir_attrs_default();
            a.act = k == 1 ? IR_RELU : -1;
            ir_add_output(t.g, jt_node(&t, (IrOp)op, in, 2, &a));
        }
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

static void test_norm_softmax(void **st)
{
    JT t;
    jt_init(&t, 5);
    Shape xs = jt_shape(4, 2, 5, 3, 4);
    IrValue *x = jt_input(&t, xs);
    IrValue *bn[5] = {x, jt_param(&t, jt_shape(1, 5), 0.5f, 1.5f), jt_param(&t, jt_shape(1, 5), -1, 1),
                      jt_param(&t, jt_shape(1, 5), -1, 1), jt_param(&t, jt_shape(1, 5), 0.5f, 1.5f)};
    IrAttrs a = ir_attrs_default();
    ir_add_output(t.g, jt_node(&t, IR_BATCH_NORM, bn, 5, &a));
    a.act = IR_RELU;
    ir_add_output(t.g, jt_node(&t, IR_BATCH_NORM, bn, 5, &a));
    IrValue *x2 = jt_input(&t, jt_shape(2, 3, 5));   /* BatchNorm1d */
    bn[0] = x2;
    ir_add_output(t.g, jt_node(&t, IR_BATCH_NORM, bn, 5, &a));
    IrValue *ss[3] = {x, bn[1], bn[2]};
    a = ir_attrs_default();
    ir_add_output(t.g, jt_node(&t, IR_SCALE_SHIFT, ss, 3, &a));
    for (int k = 1; k <= 2; k++) {
        a = ir_attrs_default();
        a.n_axes = k;
        Shape gs = k == 1 ? jt_shape(1, 4) : jt_shape(2, 3, 4);
        IrValue *ln[3] = {x, jt_param(&t, gs, 0.5f, 1.5f), jt_param(&t, gs, -1, 1)};
        ir_add_output(t.g, jt_node(&t, IR_LAYER_NORM, ln, k == 1 ? 3 : 1, &a));
    }
    for (int ax = 0; ax < 4; ax++) {
        a = ir_attrs_default();
        a.axis = ax;
        ir_add_output(t.g, jt_node(&t, IR_SOFTMAX, &x, 1, &a));
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

static void test_pool_reduce(void **st)
{
    JT t;
    jt_init(&t, 6);
    IrValue *x = jt_input(&t, jt_shape(4, 2, 3, 9, 11));
    for (int i = 0; i < 12; i++) {
        IrAttrs a = ir_attrs_default();
        a.kernel[0] = jt_int(&t, 1, 4), a.kernel[1] = jt_int(&t, 1, 4);
        a.stride[0] = jt_int(&t, 1, 3), a.stride[1] = jt_int(&t, 1, 3);
        a.pad[0] = a.pad[2] = jt_int(&t, 0, (int)a.kernel[0] / 2);
        a.pad[1] = a.pad[3] = jt_int(&t, 0, (int)a.kernel[1] / 2);
        a.count_include_pad = i % 2;
        ir_add_output(t.g, jt_node(&t, i % 3 ? IR_AVG_POOL2D : IR_MAX_POOL2D, &x, 1, &a));
    }
    for (int op = 0; op < 2; op++) {   /* global pools, flattened to [N, C] */
        IrAttrs a = ir_attrs_default();
        a.kernel[0] = 9, a.kernel[1] = 11;
        a.flatten = true;
        ir_add_output(t.g, jt_node(&t, op ? IR_AVG_POOL2D : IR_MAX_POOL2D, &x, 1, &a));
    }
    IrOp rops[] = {IR_REDUCE_MEAN, IR_REDUCE_SUM, IR_REDUCE_MAX, IR_REDUCE_MIN};
    for (int i = 0; i < 12; i++) {
        IrAttrs a = ir_attrs_default();
        for (int ax = 0; ax < 4; ax++)
            if (jt_int(&t, 0, 1)) a.axes[a.n_axes++] = ax;
        a.keepdim = i % 2;
        ir_add_output(t.g, jt_node(&t, rops[i % 4], &x, 1, &a));
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

static void test_data_movement(void **st)
{
    JT t;
    jt_init(&t, 7);
    IrValue *x = jt_input(&t, jt_shape(4, 2, 3, 4, 5));
    IrAttrs a = ir_attrs_default();
    a.shape = jt_shape(3, 6, 4, 5);
    ir_add_output(t.g, jt_node(&t, IR_RESHAPE, &x, 1, &a));
    int64_t perms[3][4] = {{0, 2, 3, 1}, {3, 2, 1, 0}, {1, 0, 3, 2}};
    for (int i = 0; i < 3; i++) {
        a = ir_attrs_default();
        memcpy(a.perm, perms[i], sizeof perms[i]);
        ir_add_output(t.g, jt_node(&t, IR_TRANSPOSE, &x, 1, &a));
    }
    for (int ax = 0; ax < 4; ax++) {
        Shape s2 = x->shape;
        s2.d[ax] = 2;
        IrValue *in[3] = {x, jt_input(&t, s2), x};
        a = ir_attrs_default();
        a.axis = ax;
        ir_add_output(t.g, jt_node(&t, IR_CONCAT, in, 3, &a));
    }
    a = ir_attrs_default();
    int64_t b[4] = {1, 0, 1, 0}, e[4] = {2, 3, 4, 5}, s[4] = {1, 2, 2, 3};
    memcpy(a.begin, b, sizeof b), memcpy(a.end, e, sizeof e), memcpy(a.step, s, sizeof s);
    ir_add_output(t.g, jt_node(&t, IR_SLICE, &x, 1, &a));
    a = ir_attrs_default();
    int64_t pads[8] = {0, 1, 2, 0, 1, 1, 3, 2};
    memcpy(a.pads, pads, sizeof pads);
    a.value = -2.5f;
    ir_add_output(t.g, jt_node(&t, IR_PAD, &x, 1, &a));
    a = ir_attrs_default();
    a.shape = jt_shape(4, 2, 3, 8, 10);
    ir_add_output(t.g, jt_node(&t, IR_UPSAMPLE_NEAREST, &x, 1, &a));
    a.shape = jt_shape(4, 2, 3, 7, 3);   /* non-integer scales, one downscale */
    ir_add_output(t.g, jt_node(&t, IR_UPSAMPLE_NEAREST, &x, 1, &a));
    a = ir_attrs_default();
    int64_t sh[4] = {1, -4, 0, 7};
    memcpy(a.shifts, sh, sizeof sh);
    ir_add_output(t.g, jt_node(&t, IR_ROLL, &x, 1, &a));
    /* an input that is also an output, and one value output twice */
    ir_add_output(t.g, x);
    IrValue *r = jt_node(&t, IR_RELU, &x, 1, NULL);
    ir_add_output(t.g, r);
    ir_add_output(t.g, r);
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* take with indices from the front and from the end, on a weight table and on a computed value */
static void test_take(void **st)
{
    JT t;
    jt_init(&t, 12);
    Shape is = jt_shape(2, 5, 4);
    IrValue *idx = ir_add_const(t.g, &is, (float[]){0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -9, 2, 3, 3, 0,
                                                    1, 1, 2, 8});
    IrValue *table = jt_param(&t, jt_shape(2, 9, 3), -1, 1);
    IrAttrs a = ir_attrs_default();
    IrValue *in[2] = {table, idx};
    ir_add_output(t.g, jt_node(&t, IR_TAKE, in, 2, &a));
    IrValue *x = jt_input(&t, jt_shape(4, 2, 3, 9, 5));
    in[0] = jt_node(&t, IR_RELU, &x, 1, NULL);
    a.axis = 2;
    ir_add_output(t.g, jt_node(&t, IR_TAKE, in, 2, &a));
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* where on masks computed in the graph (comparisons, logic), broadcast three ways, and
 * gather on every axis with an index smaller than the input off the axis */
static void test_where_gather(void **st)
{
    JT t;
    jt_init(&t, 14);
    IrValue *x = jt_input(&t, jt_shape(3, 4, 5, 33)), *y = jt_input(&t, jt_shape(2, 1, 33));
    IrValue *zero = ir_const_scalar(t.g, 0.0f), *half = ir_const_scalar(t.g, 0.5f);
    IrValue *in[3] = {x, zero};
    IrValue *pos = jt_node(&t, IR_GREATER, in, 2, NULL);
    in[0] = y, in[1] = half;
    IrValue *small = jt_node(&t, IR_LESS_EQUAL, in, 2, NULL);
    in[0] = pos, in[1] = small;
    IrValue *both = jt_node(&t, IR_LOGICAL_AND, in, 2, NULL);
    in[0] = both, in[1] = x, in[2] = y;
    ir_add_output(t.g, jt_node(&t, IR_WHERE, in, 3, NULL));
    in[0] = jt_node(&t, IR_LOGICAL_NOT, &small, 1, NULL), in[1] = ir_const_scalar(t.g, -1e9f), in[2] = x;
    ir_add_output(t.g, jt_node(&t, IR_WHERE, in, 3, NULL));   /* a masked fill */
    in[0] = ir_const_scalar(t.g, 1.0f), in[1] = ir_const_scalar(t.g, 2.0f), in[2] = zero;
    ir_add_output(t.g, jt_node(&t, IR_WHERE, in, 3, NULL));   /* rank 0 */
    for (int axis = 0; axis < 3; axis++) {
        Shape is = jt_shape(3, 3, 4, 20);
        int64_t n = shape_numel(&is), d = ((IrValue *)x)->shape.d[axis];
        float *iv = ARENA_NEWN(&t.ar, float, n);
        for (int64_t i = 0; i < n; i++) iv[i] = (float)jt_int(&t, (int)-d, (int)d - 1);
        IrValue *gi[2] = {x, ir_add_const(t.g, &is, iv)};
        IrAttrs a = ir_attrs_default();
        a.axis = axis;
        ir_add_output(t.g, jt_node(&t, IR_GATHER, gi, 2, &a));
    }
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* An index out of range at run time is an error from both engines, with the same words,
 * and the run reads nothing out of bounds (ASan would say); a good run afterwards is clean. */
static void test_index_faults(void **st)
{
    for (int op = 0; op < 2; op++) {
        JT t;
        jt_init(&t, 15);
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        diag_init(&t.d, mem);
        IrValue *table = jt_param(&t, jt_shape(2, 7, 3), -1, 1);
        IrValue *idx = jt_input(&t, op ? jt_shape(2, 4, 3) : jt_shape(1, 4));
        IrAttrs a = ir_attrs_default();
        IrValue *in[2] = {table, idx};
        ir_add_output(t.g, jt_node(&t, op ? IR_GATHER : IR_TAKE, in, 2, &a));
        int64_t ni = shape_numel(&idx->shape), no = shape_numel(&((IrValue *)t.g->outputs.v[0])->shape);
        float *iv = calloc((size_t)ni, sizeof(float)), *ref = calloc((size_t)no, sizeof(float));
        float *got = calloc((size_t)no, sizeof(float));
        const float *ins[1] = {iv};
        BclJitOptions opt = {.threads = 2};
        BclJit *j = bcl_jit_compile(t.g, &opt, &t.d);
        assert_non_null(j);
        for (int64_t i = 0; i < ni; i++) iv[i] = (float)(i % 7);
        iv[2] = 7;
        assert_int_equal(bcl_interp_run(t.g, ins, &ref, &t.d), 1);
        assert_int_equal(bcl_jit_run(j, ins, &got, &t.d), 1);
        iv[2] = 6;
        assert_int_equal(bcl_jit_run(j, ins, &got, &t.d), 0);   /* the fault word was cleared */
        assert_int_equal(bcl_interp_run(t.g, ins, &ref, &t.d), 0);
        for (int64_t i = 0; i < no; i++) assert_float_equal(got[i], ref[i], 0);
        bcl_jit_free(j);
        fclose(mem);
        const char *want = op ? "gather: index 7 is out of range for axis 0 of size 7"
                              : "take: index 7 is out of range for axis 0 of size 7";
        const char *first = strstr(buf, want);
        assert_non_null(first);
        assert_non_null(strstr(first + 1, want));   /* once from each engine */
        free(buf);
        free(iv);
        free(ref);
        free(got);
        jt_free(&t);
    }
}

/* attention: 4-D heads with a broadcast bias, 5-D (Swin-like) with a bias of full batch
 * rank, 2-D without bias, and a row longer than a vector */
static void test_attention(void **st)
{
    JT t;
    jt_init(&t, 13);
    int cases[][6] = {{2, 3, 9, 17, 8, 8}, {1, 1, 1, 1, 1, 1}, {2, 2, 49, 49, 32, 32}, {1, 2, 5, 197, 16, 12}};
    for (int c = 0; c < 4; c++) {
        int B = cases[c][0], H = cases[c][1], M = cases[c][2], N = cases[c][3], D = cases[c][4], E = cases[c][5];
        IrValue *in[4] = {jt_input(&t, jt_shape(4, B, H, M, D)), jt_input(&t, jt_shape(4, B, H, N, D)),
                          jt_input(&t, jt_shape(4, B, H, N, E)), jt_param(&t, jt_shape(3, H, M, N), -2, 2)};
        IrAttrs a = ir_attrs_default();
        a.alpha = 1.0f / sqrtf((float)D);
        ir_add_output(t.g, jt_node(&t, IR_ATTENTION, in, c % 2 ? 3 : 4, &a));
    }
    IrValue *in5[4] = {jt_input(&t, jt_shape(5, 2, 4, 3, 6, 5)), jt_input(&t, jt_shape(5, 2, 4, 3, 7, 5)),
                       jt_input(&t, jt_shape(5, 2, 4, 3, 7, 3)), jt_param(&t, jt_shape(5, 1, 4, 1, 6, 7), -50, 0)};
    IrAttrs a = ir_attrs_default();
    a.alpha = 2.0f;
    ir_add_output(t.g, jt_node(&t, IR_ATTENTION, in5, 4, &a));
    IrValue *in2[3] = {jt_input(&t, jt_shape(2, 3, 4)), jt_input(&t, jt_shape(2, 5, 4)), jt_input(&t, jt_shape(2, 5, 2))};
    ir_add_output(t.g, jt_node(&t, IR_ATTENTION, in2, 3, &a));
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

static void test_missing_weights(void **st)
{
    JT t;
    jt_init(&t, 8);
    IrValue *x = jt_input(&t, jt_shape(2, 2, 3));
    Shape ws = jt_shape(2, 4, 3);
    IrValue *w = ir_add_param(t.g, "fc.weight", &ws, INIT_FAN_IN, NO_LOC);
    IrValue *in[2] = {x, w};
    ir_add_output(t.g, jt_node(&t, IR_LINEAR, in, 2, NULL));
    FILE *sink = tmpfile();
    Diag d;
    diag_init(&d, sink);
    BclJit *j = bcl_jit_compile(t.g, NULL, &d);
    assert_null(j);
    assert_int_equal(d.n_errors, 1);
    fclose(sink);
    jt_free(&t);
}

/* Counts the steps of g's JIT engine that run kernel k (the engine profiled for names). */
static int steps_with_kernel(JT *t, const char *k, int threads)
{
    BclJit *j = bcl_jit_compile(t->g, &(BclJitOptions){.threads = threads, .profile = 1}, &t->d);
    assert_non_null(j);
    IrGraph *g = t->g;   /* one run: the step table is filled by runs */
    const float **in = calloc((size_t)g->inputs.n + 1, sizeof *in);
    float **out = calloc((size_t)g->outputs.n + 1, sizeof *out);
    for (int i = 0; i < g->inputs.n; i++)
        in[i] = calloc((size_t)shape_numel(&((IrValue *)g->inputs.v[i])->shape), sizeof(float));
    for (int i = 0; i < g->outputs.n; i++)
        out[i] = calloc((size_t)shape_numel(&((IrValue *)g->outputs.v[i])->shape), sizeof(float));
    assert_int_equal(bcl_jit_run(j, in, out, &t->d), 0);
    for (int i = 0; i < g->inputs.n; i++) free((void *)in[i]);
    for (int i = 0; i < g->outputs.n; i++) free(out[i]);
    free(in);
    free(out);
    BclJitStepTime st[256];
    int runs, n = bcl_jit_profile(j, st, 256, &runs), c = 0;
    for (int i = 0; i < n && i < 256; i++) c += !strcmp(st[i].kernel, k);
    bcl_jit_free(j);
    return c;
}

/* A 1x1 expansion computed inside the depthwise conv that reads it (KERNEL(pwdw)) when
 * the expanded tensor is over 4 MB per image: strides 1 and 2, kernels 3 and 5, rows of whole and partial vectors,
 * groups of 4, 2 and 1 channels per item,
 * both activations, a residual on the dw conv, bands of rows, batch 2 (sub-batched and
 * not); and the cases left unfused: the expansion read twice, a tensor under 4 MB. */
static void test_pwdw_fused(void **st)
{
    static const int cs[][8] = {
        /* Ci  C   H    W  K  s  res act */
        {16, 96, 112, 112, 3, 2, 0, 0}, {24, 90, 120, 100, 3, 1, 1, 1}, {12, 100, 100, 110, 5, 2, 0, 1},
        {5, 71, 120, 128, 5, 1, 0, 0},
    };
    /* the host's tiles (AVX-512 where it has it) and AVX2's, sub-batched and not, 2 channels
     * per item (the default), 4 and 1 (BCL_JIT_PWDW_G); channel counts off both groups */
    for (int sb = 0; sb < 4; sb++) {
        setenv("BCL_JIT_SUB_BATCH", sb % 3 ? "1" : "0", 1);
        if (sb % 2) setenv("BCL_JIT_TARGET_CPU", "x86-64-v3", 1);
        else unsetenv("BCL_JIT_TARGET_CPU");
        if (sb >= 2) setenv("BCL_JIT_PWDW_G", sb == 2 ? "4" : "1", 1);
        JT t;
        jt_init(&t, 30 + sb);
        for (int i = 0; i < (int)(sizeof cs / sizeof *cs); i++) {
            const int *c = cs[i];
            IrValue *x = jt_input(&t, jt_shape(4, 2, c[0], c[2], c[3]));
            IrAttrs e = ir_attrs_default();
            e.act = c[7] ? IR_SILU : IR_RELU6;
            float s = 1.0f / sqrtf((float)c[0]);
            IrValue *ein[3] = {x, jt_param(&t, jt_shape(4, c[1], c[0], 1, 1), -s, s), jt_param(&t, jt_shape(1, c[1]), -1, 1)};
            IrValue *h = jt_node(&t, IR_CONV2D, ein, 3, &e);
            IrAttrs a = ir_attrs_default();
            a.groups = c[1];
            a.stride[0] = a.stride[1] = c[5];
            for (int k = 0; k < 4; k++) a.pad[k] = c[4] / 2;
            a.act = c[7] ? IR_SILU : IR_RELU6;
            int64_t OH = (c[2] + 2 * (c[4] / 2) - c[4]) / c[5] + 1, OW = (c[3] + 2 * (c[4] / 2) - c[4]) / c[5] + 1;
            IrValue *din[4] = {h, jt_param(&t, jt_shape(4, c[1], 1, c[4], c[4]), -0.3f, 0.3f),
                               jt_param(&t, jt_shape(1, c[1]), -1, 1), jt_input(&t, jt_shape(4, 2, c[1], (int)OH, (int)OW))};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, din, c[6] ? 4 : 3, &a));
        }
        assert_int_equal(steps_with_kernel(&t, "pwdw", 2), 4);
        jt_check(&t, 1, TOL, false);
        jt_check(&t, 2, TOL, false);
        jt_free(&t);
    }
    unsetenv("BCL_JIT_SUB_BATCH");
    unsetenv("BCL_JIT_TARGET_CPU");
    unsetenv("BCL_JIT_PWDW_G");
    JT t;
    jt_init(&t, 33);
    for (int i = 0; i < 2; i++) {   /* read twice; 120 x 64 x 64 = 1.9 MB per image */
        IrValue *x = jt_input(&t, jt_shape(4, 1, 8, 64, i ? 64 : 120));
        IrValue *ein[2] = {x, jt_param(&t, jt_shape(4, i ? 120 : 140, 8, 1, 1), -0.3f, 0.3f)};
        IrAttrs e = ir_attrs_default();
        IrValue *h = jt_node(&t, IR_CONV2D, ein, 2, &e);
        IrAttrs a = ir_attrs_default();
        a.groups = h->shape.d[1];
        a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
        IrValue *din[2] = {h, jt_param(&t, jt_shape(4, h->shape.d[1], 1, 3, 3), -0.3f, 0.3f)};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, din, 2, &a));
        if (!i) ir_add_output(t.g, h);
    }
    assert_int_equal(steps_with_kernel(&t, "pwdw", 2), 0);
    jt_check(&t, 2, TOL, false);
    jt_free(&t);
}

/* 1x1 convs on small images whose pixel count is not a multiple of 16 take
 * KERNEL(conv1x1_cv) (output channels as vectors) on AVX-512 and AVX2 tiles: pixel
 * counts that 8, 7, 6, 5 divide and primes (a narrower last pixel tile), channel counts
 * off the 16-block and off the 3-block group, a residual, activations, an SE scale
 * folded into the weights (scale_w); the input packed per pixel tile first (cv_pack, AVX2's
 * default) or read in place (AVX-512's), each forced on both targets by BCL_JIT_CV_PACK;
 * BCL_JIT_CONV1X1_CV=0 leaves them to conv1x1. */
static void test_conv1x1_cv(void **st)
{
    static const int cs[][6] = {
        /* C   O    H  W  res act */
        {40, 100, 7, 7, 1, IR_SILU}, {17, 16, 7, 7, 0, -1}, {24, 49, 5, 7, 1, IR_RELU},
        {9, 33, 3, 6, 0, IR_RELU6},  {31, 69, 7, 9, 1, -1}, {8, 21, 1, 17, 0, IR_HSWISH},
        {12, 48, 2, 29, 1, IR_SIGMOID}, {64, 130, 5, 8, 0, IR_RELU},
    };
    int nc = (int)(sizeof cs / sizeof *cs);
    /* 0: the host (AVX-512 where it has it); 1: AVX2; 2: the host, conv1x1_cv off; 3: the
     * host with the other input layout than its default (in place with AVX-512, packed
     * with AVX2), so both layouts run on every machine */
    const char *pack[] = {NULL, NULL, NULL, __builtin_cpu_supports("avx512f") ? "1" : "0"};
    for (int cpu = 0; cpu < 4; cpu++) {
        if (cpu == 1) setenv("BCL_JIT_TARGET_CPU", "x86-64-v3", 1);
        else unsetenv("BCL_JIT_TARGET_CPU");
        if (cpu == 2) setenv("BCL_JIT_CONV1X1_CV", "0", 1);
        else unsetenv("BCL_JIT_CONV1X1_CV");
        if (pack[cpu]) setenv("BCL_JIT_CV_PACK", pack[cpu], 1);
        else unsetenv("BCL_JIT_CV_PACK");
        JT t;
        jt_init(&t, 40 + cpu);
        for (int i = 0; i < nc; i++) {
            const int *c = cs[i];
            IrAttrs a = ir_attrs_default();
            a.act = c[5];
            float s = 1.0f / sqrtf((float)c[0]);
            IrValue *in[4] = {jt_input(&t, jt_shape(4, 2, c[0], c[2], c[3])),
                              jt_param(&t, jt_shape(4, c[1], c[0], 1, 1), -s, s), jt_param(&t, jt_shape(1, c[1]), -1, 1),
                              jt_input(&t, jt_shape(4, 2, c[1], c[2], c[3]))};
            ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, c[4] ? 4 : 3, &a));
        }
        /* an SE scale x * s into a conv with fewer outputs than pixels: folded */
        IrAttrs a = ir_attrs_default();
        IrValue *x0 = jt_input(&t, jt_shape(4, 2, 40, 7, 7)), *sc = jt_input(&t, jt_shape(4, 2, 40, 1, 1));
        IrValue *x = jt_node(&t, IR_RELU, &x0, 1, &a), *ms[2] = {x, sc};
        IrValue *in[3] = {jt_node(&t, IR_MUL, ms, 2, &a), jt_param(&t, jt_shape(4, 30, 40, 1, 1), -0.2f, 0.2f),
                          jt_param(&t, jt_shape(1, 30), -1, 1)};
        ir_add_output(t.g, jt_node(&t, IR_CONV2D, in, 3, &a));
        assert_int_equal(steps_with_kernel(&t, "conv1x1_cv", 2), cpu == 2 ? 0 : nc + 1);
        if (pack[cpu]) assert_int_equal(steps_with_kernel(&t, "cv_pack", 2), *pack[cpu] == '1' ? nc + 1 : 0);
        assert_int_equal(steps_with_kernel(&t, "scale_w", 2), 1);
        jt_check(&t, 1, TOL, false);
        jt_check(&t, 2, TOL, false);
        jt_free(&t);
    }
    unsetenv("BCL_JIT_TARGET_CPU");
    unsetenv("BCL_JIT_CONV1X1_CV");
    unsetenv("BCL_JIT_CV_PACK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_dense),
        cmocka_unit_test(test_conv_tile_tails),
        cmocka_unit_test(test_act_epilogue_range),
        cmocka_unit_test(test_conv_depthwise_grouped_generic),
        cmocka_unit_test(test_dwconv_nchw),
        cmocka_unit_test(test_dwflat),
        cmocka_unit_test(test_convrow_maxpool),
        cmocka_unit_test(test_se_scale_fold),
        cmocka_unit_test(test_pwdw_fused),
        cmocka_unit_test(test_conv1x1_cv),
        cmocka_unit_test(test_linear_matmul),
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_norm_softmax),
        cmocka_unit_test(test_pool_reduce),
        cmocka_unit_test(test_data_movement),
        cmocka_unit_test(test_missing_weights),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_where_gather),
        cmocka_unit_test(test_index_faults),
        cmocka_unit_test(test_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
