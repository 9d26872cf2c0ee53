/* The kernel library the JIT specialises ("libjit"): every kernel has the signature
 *   void bcl_k_NAME(void **slots, const int64_t *p, int64_t begin, int64_t end)
 * slots holds the buffers (graph values, packed weights, scratch); p is a constant
 * table of slot indices, shapes and attrs (float attrs as their bit pattern). The JIT
 * emits p as an internal constant global and inlines the kernel, so every p[i] folds
 * to a constant and the loops are specialised to the static shapes.
 * [begin, end) is a range of work items; the thread pool splits the item space.
 * The layout of p for each kernel is listed below (indices into p). */
#ifndef BCL_JIT_KERNELS_H
#define BCL_JIT_KERNELS_H

/* The kernels, in the X-macro style of ops.def: K(name, slots), where bit i of slots
 * says p[i] is a buffer slot (the planner rebinds those per step, see jit_internal.h). */
#define BCL_JIT_KERNELS(K) \
    K(unary, 0xc) /* op alpha x y n chunk; items: chunks of n */ \
    K(binary, 0xe) /* op a b y rank rows rows_per_item act alpha ydims[8] astr[8] bstr[8]; items: row groups */ \
    K(norm_chan, 0x7e) /* mode(0 bn, 1 scale_shift) x g b m v y N C inner eps act alpha; items: N*C */ \
    K(layer_norm, 0xf) /* x g b y rows inner eps; items: rows */ \
    K(softmax, 0x3) /* x y outer dim inner; items: outer*inner */ \
    K(pool, 0x6)  /* op x y NC H W OH OW kh kw sh sw pt pl cip; items: NC */ \
    K(reduce, 0x6) /* op x y rank count ny ydims[8] ystr_in_x[8] rdims[8] rstr[8] nr; items: ny */ \
    K(gather, 0x3) /* x y rank ny chunk value ydims[8] mode[8] mul[8] add[8] xdim[8] xstr[8] fscale[8];
                     items: chunks of ny */ \
    K(copy_rows, 0x3) /* x y rows len ystride yoff; items: rows */ \
    K(attention, 0x4000001f) /* q k v bias y M N D E alpha nb rank bd[8] bstr[8] bstr_m bstr_n mask mstr[8]
                     mstr_m mstr_n; items: nb*M rows;
                     scores of one row in a stack buffer (N <= BCL_JIT_ATTN_MAX_N) */ \
    K(take, 0xf) /* x idx y fault dx inner ni; items: outer*ni (numpy.take; a bad idx is clamped as the
                     interpreter's and recorded in fault, int32[2]: set, the index's bits) */ \
    K(gather_axis, 0xf) /* x idx y fault rank axis n chunk ydims[8] xstr[8] xdims[8]; items: chunks of n
                     (torch.gather; idx as take's) */ \
    K(where, 0xf) /* m x y out rank rows rows_per_item ydims[8] mstr[8] xstr[8] ystr[8]; items: row groups */ \
    K(matmul, 0x7) /* a b y M K N nb rank bd[8] sa[8] sb[8] act alpha; items: nb*M */ \
    K(linear, 0xf) /* x w b y rows I O act alpha; items: rows (weights computed at run time) */ \
    K(linear_p, 0x807) /* x wp y rows I O OB act alpha RT P r; items: ceil(rows/RT)*OB; wp [OB][I][16] + bias[OB*16];
                     row = pixel of P per image (1x1 conv on P < 16 pixels), r: residual */ \
    K(conv, 0x1f) /* x w b r y N C H W O KH KW OH OW sh sw dh dw pt pl G act alpha; items: N*O */ \
    K(pack16c, 0x3) /* x xp N C H W CB HP WP pt pl CG CBG; items: N*CB*HP; groups of CG channels
                     each start a block: CBG blocks per group, CB = groups * CBG (dense: CG = C) */ \
    K(conv16c, 0xf) /* xp wp r y N CB HP WP O OB KH KW OH OW sh sw dh dw act alpha TW C CBG OBG CG OG;
                     items: N*OB*OH; wp [OB][CBG][KH][KW][16c][16o] + bias[OB*16];
                     groups: CBG input and OBG output blocks per group of CG inputs and OG outputs
                     (dense: CB, OB, C, O); a group's last blocks are zero-padded */ \
    K(conv1x1, 0xf) /* x wp r y N C P O OBK act alpha OT PV WS RV; items: N*max(1, P/(16*PV))*OBK; P >= 16;
                     register tiles of OT channels x RV <= PV 16-pixel vectors;
                     wp [OBK][C][OT] + bias[OBK*OT] (1x1, stride 1, no padding, groups 1); WS > 0:
                     one such set of weights per image, WS floats apart (scale_w) */ \
    K(conv1x1_cv, 0xf) /* x wp r y N C P O OB act alpha MT NV WS; items: N*ceil(OB/NV)*ceil(P/MT); conv1x1 with
                     output channels as vectors: register tiles of MT <= 8 pixels x NV <= 4 16-channel blocks;
                     wp [OB][C][16] + bias[OB*16]; WS as conv1x1's */ \
    K(scale_w, 0x7) /* wp s wo C OT OBK; items: N*OBK; wo[n] = conv1x1 weights wp times s[n][c] */ \
    K(wino_in, 0x3) /* xp V N CB HP WP TH TW; items: N*TH; V [16][T = N*TH*TW][CB*16] */ \
    K(wino_gemm, 0x7) /* V U M T Cp OB RT NXI; items: NXI*ceil(T/RT)*OB; U [NXI][OB][Cp][16o] + bias;
                     M [NXI][T][OB*16]; NXI = 16 (F(2x2, 3x3)) or 36 (F(4x4, 3x3)) */ \
    K(wino_out, 0xf) /* M U r y N O OB OH OW TH TW act alpha Cp; items: N*OB*TH */ \
    K(wino4_in, 0x3) /* as wino_in for F(4x4, 3x3): 6x6 patches 4 apart; V [36][T][CB*16] */ \
    K(wino4_out, 0xf) /* as wino_out for F(4x4, 3x3): M [36][T][OB*16] -> 4x4 output tiles */ \
    K(dwconv16c, 0xf) /* xp wp r y N CB HP WP C KH KW OH OW sh sw dh dw act alpha TW; items: N*CB*OH;
                     wp [CB][KH][KW][16] + bias[CB*16] */ \
    K(dwconv, 0xf) /* x wp r y N C H W KH KW OH OW sh sw dh dw pt pl act alpha RB WQ TV; items: N*C*ceil(OH/RB);
                     NCHW in and out, wp [C][KH*KW] + bias[C]; RB output rows per item, WQ floats per
                     column phase of a buffered input row, TV vectors per register tile */ \
    K(gemm, 0xf) /* x wp res y rows I O OB act alpha RT NB; items: ceil(OB/NB)*ceil(rows/RT) (column tile
                     outer); wp [OB][I][16] + bias[OB*16] (JIT_PACK_LINEAR16); res: y's layout or -1 */ \
    K(gather_rows, 0x3) /* x y rank nrows len per value ydims[8] mode[8] mul[8] add[8] xdim[8] xstr[8] xoff;
                     items: groups of per rows; the last axis copied as is (rank: the other axes) */ \
    K(layer_norm_v, 0xf) /* as layer_norm, float vectors */ \
    K(pwdw, 0x80000f) /* dwconv's table, then pw Ci act alpha CV (row vectors per pass); items: N*ceil(OH/RB)*C (channels fastest);
                     x: the 1x1 expansion's input [N][Ci][H][W], pw [C][Ci] + bias[C] (JIT_PACK_GEMM, ot 1) */ \
    K(maxpool, 0x3) /* x y NC H W OH OW KH KW sh sw pt pl RB WQ; items: NC*ceil(OH/RB) (NCHW) */ \
    K(convrow, 0xf) /* x wp r y N C H W KH KW O OH OW sh sw dh dw pt pl act alpha RB WQ OT R OBK TV;
                     items: N*ceil(OH/RB)*OBK; dense, few input channels, NCHW in and out;
                     wp [OBK][C*KH*KW][OT] + bias[OBK*OT]; R buffered input rows per channel */ \
    K(attn_tile, 0x20010000001f) /* q k v bias y M N D E alpha nb rank bd[8] bstr[8] bstr_m bstr_n MB Np mask mstr[8]
                     mstr_m mstr_n NBK EB kt qoff qrow qbstr[8] voff vrow vbstr[8]; items: nb*ceil(M/MB);
                     Np = N rounded up to 16 (<= 1024); kt [nb][D][Np]: K transposed by attn_kt; q and v
                     read in place: row r of batch index (i...) at off + r * row + sum i * bstr */ \
    K(attn_kt, 0x3) /* k kt N D Np rank bd[8] kbstr[8] koff krow; items: nb (batch indices); k read as q */ \
    K(transpose2d, 0x3) /* x y B R C; items: B*ceil(R/16); y [B, C, R] = x [B, R, C] transposed */

#define BCL_JIT_ATTN_MAX_N 4096   /* keys per attention row the fused kernel holds */
#define BCL_JIT_ATTN_TILE_NP 1024 /* keys (rounded up to 16) per row the tiled kernel holds on its stack */
#define BCL_JIT_CHUNK 8192   /* elements per work item of elementwise kernels */

#endif
