/* The IR: a graph of tensor operations with static shapes (float32). Values are
 * inputs, parameters (named by state-dict key), constants, or node results.
 * Nodes are kept in a topological (trace) order. Everything lives in the graph's arena. */
#ifndef BCL_IR_H
#define BCL_IR_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "support/diag.h"
#include "support/arena.h"

#define BCL_MAX_RANK 8

typedef struct Shape {
    int rank;
    int64_t d[BCL_MAX_RANK];
} Shape;

int64_t shape_numel(const Shape *s);
/* Whether a float32 tensor of this shape is within BCL_MAX_TENSOR_ELEMS / _BYTES
 * (support/limits.h); computed without overflow. Every tensor a model declares
 * (parameters, buffers, op results, inputs) is checked with it. */
bool shape_size_ok(const Shape *s);
bool shape_eq(const Shape *a, const Shape *b);
/* Writes "[1, 3, 224, 224]" into buf (always NUL-terminated); returns buf. */
char *shape_str(const Shape *s, char *buf, size_t n);

typedef enum {
#define OP(ID, NAME, KIND, MINI, MAXI, ATTRS, EPI, INPLACE) IR_##ID,
#include "ir/ops.def"
#undef OP
    IR_OP_COUNT
} IrOp;

typedef enum {
    OPK_ELEMWISE, OPK_BROADCAST, OPK_INJECTIVE, OPK_REDUCTION,
    OPK_OUTFUSABLE, OPK_POOL, OPK_NORM, OPK_OPAQUE,
} IrOpKind;

/* The attributes an op uses (the ATTRS column of ops.def): one bit per attribute key
 * of the textual IR, in the order ir_print writes them. act/act_alpha are not here:
 * any node may carry a fused activation. */
enum {
    IRA_KERNEL = 1u << 0, IRA_STRIDE = 1u << 1, IRA_PAD = 1u << 2, IRA_DILATION = 1u << 3,
    IRA_GROUPS = 1u << 4, IRA_COUNT_INCLUDE_PAD = 1u << 5, IRA_FLATTEN = 1u << 6,
    IRA_N_AXES = 1u << 7, IRA_EPS = 1u << 8, IRA_ALPHA = 1u << 9, IRA_AXIS = 1u << 10,
    IRA_AXES = 1u << 11, IRA_KEEPDIM = 1u << 12, IRA_SHAPE = 1u << 13, IRA_PERM = 1u << 14,
    IRA_BEGIN = 1u << 15, IRA_END = 1u << 16, IRA_STEP = 1u << 17, IRA_PADS = 1u << 18,
    IRA_VALUE = 1u << 19, IRA_SHIFTS = 1u << 20,
};
#define IR_N_ATTR_KEYS 21

/* The text key of attribute bit IRA_x ("stride"), or NULL for a bit out of range;
 * ir_attr_by_key returns the bit of a key, 0 if unknown. */
const char *ir_attr_key(unsigned bit);
unsigned ir_attr_by_key(const char *key);

/* The EPILOGUE column of ops.def. */
typedef enum { IR_EPI_NONE, IR_EPI_TAKES_ACT, IR_EPI_IS_ACT } IrEpilogue;

typedef struct IrOpInfo {
    const char *name;
    IrOpKind kind;
    int min_inputs, max_inputs;
    unsigned attrs;         /* IRA_* bits */
    IrEpilogue epilogue;
    unsigned inplace;       /* bit k: the result may overwrite input k */
} IrOpInfo;

extern const IrOpInfo ir_op_info[IR_OP_COUNT];
/* Looks an op up by its text name; returns -1 if unknown. */
int ir_op_by_name(const char *name);

/* Op attributes (each op uses the few named in ops.def); act, the fused activation
 * epilogue, is set by passes (-1 = none). */
typedef struct IrAttrs {
    int64_t stride[2], dilation[2], kernel[2];
    int64_t pad[4];                 /* conv/pool: top, left, bottom, right */
    int64_t groups;
    bool count_include_pad;         /* avg_pool2d: PyTorch true, MegEngine default false */
    int64_t axis;                   /* concat, softmax */
    int n_axes;                     /* reductions, layer_norm (normalised trailing dims) */
    int64_t axes[BCL_MAX_RANK];
    bool keepdim;
    int64_t perm[BCL_MAX_RANK];     /* transpose */
    Shape shape;                    /* reshape target; upsample_nearest: the output shape */
    int64_t begin[BCL_MAX_RANK], end[BCL_MAX_RANK], step[BCL_MAX_RANK]; /* slice */
    int64_t pads[2 * BCL_MAX_RANK]; /* pad: before/after per axis */
    int64_t shifts[BCL_MAX_RANK];   /* roll */
    float value;                    /* pad value */
    float alpha;                    /* leaky_relu slope, elu alpha */
    float eps;                      /* batch_norm, layer_norm */
    int act;                        /* fused activation epilogue: an IrOp, or -1 for none */
    float act_alpha;
    bool flatten;                   /* max/avg_pool2d (global pool, 1x1 output): the result is
                                       [N, C] instead of [N, C, 1, 1] (pass fuse-pool-flatten) */
} IrAttrs;

/* Default attrs: stride/dilation/kernel 1, groups 1, act -1, eps 1e-5, alpha 0.01. */
IrAttrs ir_attrs_default(void);

typedef enum { IRV_INPUT, IRV_PARAM, IRV_CONST, IRV_NODE } IrValueKind;

/* How --random-weights fills a parameter (tests use real weights instead). */
typedef enum {
    INIT_ZEROS, INIT_ONES,
    INIT_FAN_IN,     /* uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)); fan_in = numel / d[0] */
    INIT_VAR,        /* running variance: uniform(0.5, 1.5) */
    /* megengine.module.init's random initialisers, with their arguments (init_args) */
    INIT_UNIFORM,    /* uniform(a, b): init_args a, b */
    INIT_NORMAL,     /* normal(mean, std) */
    INIT_TRUNC_NORMAL, /* normal(mean, std) redrawn outside [a, b]: mean, std, a, b */
    INIT_CONST,      /* fill_(val): init_args[0] */
} IrInit;

/* IrInit as text ("zeros", "ones", "fan_in", "var", "uniform", "normal", "trunc_normal",
 * "const"); ir_init_by_name returns -1 if unknown. */
const char *ir_init_name(IrInit init);
int ir_init_by_name(const char *name);
/* How many init_args an initialiser takes (0 for zeros, ones, fan_in, var). */
int ir_init_n_args(IrInit init);

typedef struct IrNode IrNode;

/* The element type the source program sees (MegEngine's dtype), kept by the frontend
 * for its checks and dtype promotion (a float tensor cannot index, F.where wants a bool
 * mask); the data is float32 whatever it says: a bool is 0/1, an int a whole number
 * (docs/internals/ir.md "Masks and indices"). Not part of the textual IR. */
typedef enum { IR_DT_F32 = 0, IR_DT_I32, IR_DT_BOOL } IrDtype;
/* "float32", "int32" or "bool" for an IrDtype. */
const char *ir_dtype_name(uint8_t t);

typedef struct IrValue {
    int id;                 /* dense, unique in the graph */
    IrValueKind kind;
    Shape shape;
    const char *name;       /* param: state-dict key ("features.0.weight"); input: "input"; else NULL */
    IrNode *def;            /* IRV_NODE: the producing node */
    float *data;            /* IRV_CONST: the values; IRV_PARAM: bound weights (NULL until bound) */
    IrInit init;            /* IRV_PARAM */
    float init_args[4];     /* IRV_PARAM: the initialiser's arguments (INIT_UNIFORM ...) */
    SrcLoc loc;
    uint8_t dtype;          /* IrDtype (frontend); 0 = float32 */
} IrValue;

struct IrNode {
    int id;
    IrOp op;
    int n_in;
    IrValue **in;
    IrValue *out;
    IrAttrs attrs;
    SrcLoc loc;             /* the .bcl expression that made it */
    const char *scope;      /* the module path whose forward made it ("layer1.0"), or NULL */
};

typedef struct IrGraph {
    Arena *arena;
    const char *name;       /* the model's name, e.g. "AlexNet" */
    PtrVec values;          /* IrValue*, by id */
    PtrVec nodes;           /* IrNode*, topological order */
    PtrVec params;          /* IrValue*, in state-dict order */
    PtrVec inputs;          /* IrValue* */
    PtrVec outputs;         /* IrValue* */
    const char *scope;      /* while tracing: the module whose forward runs; new nodes record it */
    /* a module class of the model that overrides load_state_dict (BaseCls's ViT resizes
     * pos_embed in it): "ViT.load_state_dict" and its def, which binding does not run
     * (api/pipeline.c warns); NULL if none */
    const char *load_hook;
    SrcLoc load_hook_loc;
} IrGraph;

IrGraph *ir_graph_new(Arena *a, const char *name);
IrValue *ir_add_input(IrGraph *g, const char *name, const Shape *shape);
IrValue *ir_add_param(IrGraph *g, const char *name, const Shape *shape, IrInit init, SrcLoc loc);
IrValue *ir_add_const(IrGraph *g, const Shape *shape, const float *data);  /* copies data */
/* A constant over data the graph owns already (its arena's, or an adopted buffer), or
 * with no values yet (NULL: structure only); nothing is copied or allocated. */
IrValue *ir_add_const_owned(IrGraph *g, const Shape *shape, float *data);
IrValue *ir_const_scalar(IrGraph *g, float v);                            /* shape [] */
void ir_add_output(IrGraph *g, IrValue *v);
/* uses[id] (g->values.n entries): how many node inputs read value id, plus one if it is
 * an output. Engines ask it of leaves: one nothing uses needs no data. */
void ir_count_uses(const IrGraph *g, int *uses);
IrValue *ir_find_param(const IrGraph *g, const char *name);

/* Appends a node after inferring its result shape. On a shape error it reports a
 * diagnostic at loc naming the op and both/all input shapes, and returns NULL. */
IrValue *ir_add_node(IrGraph *g, IrOp op, IrValue *const *in, int n_in,
                     const IrAttrs *attrs, SrcLoc loc, Diag *d);

/* Shape inference alone: returns false and writes a message into err on mismatch. */
bool ir_infer_shape(IrOp op, const Shape *const *in, int n_in, const IrAttrs *attrs,
                    Shape *out, char *err, size_t err_len);

/* Rewrites attrs into the canonical form the graph stores, for inputs of these shapes:
 * negative axes (softmax, concat, reductions, transpose perm) made non-negative,
 * a reduction with n_axes == 0 reduces every axis, a -1 in a reshape target resolved,
 * slice bounds made non-negative and clamped to the dim. ir_add_node calls it; returns
 * false with a message in err on an axis out of range. */
bool ir_normalize_attrs(IrOp op, const Shape *const *in, int n_in, IrAttrs *attrs,
                        char *err, size_t err_len);

/* Checks structural invariants (ids, topological order, shapes agree with
 * inference, arity). Reports each problem to d and returns false on any. */
bool ir_verify(const IrGraph *g, Diag *d);

/* Textual IR (round-trips through ir_parse). */
void ir_print(FILE *out, const IrGraph *g);
/* ir_print, with the constants' values (values false: `= []` for each, when a caller
 * hashes them itself: printed exactly, a large constant takes seconds). */
void ir_print_values(FILE *out, const IrGraph *g, bool values);
IrGraph *ir_parse(Arena *a, Diag *d, const Source *src);

#endif
