/* Compile-time arrays: numpy's ndarray as constructors use it (regnet's widths, swin's
 * relative-position index), and the values of tensors computed in __init__. Values are
 * held as doubles and rounded to the array's dtype after every operation, so results
 * and dtypes are numpy's (integers exactly up to 2^53). Indexing copies (no views). */
#ifndef BCL_FRONTEND_NDARRAY_H
#define BCL_FRONTEND_NDARRAY_H

#include "frontend/eval.h"

typedef enum { ND_BOOL, ND_INT32, ND_INT64, ND_FLOAT32, ND_FLOAT64 } NdType;

struct NdArray {
    NdType dt;
    int rank;
    int64_t dims[BCL_MAX_RANK];
    int64_t n;                  /* elements */
    double *v;                  /* row-major */
    bool is_tensor;             /* a MegEngine tensor made in __init__ (F.*, mge.Tensor): a buffer
                                 * when a module holds it; numpy arrays are plain values */
};

const char *nd_type_name(NdType t);
/* A dtype argument (np.int64, "float32", int, float, bool) as NdType; -1 if not one. */
int nd_type_of(const Value *v);
/* x rounded to what dtype t holds (integers truncate toward zero, float32 rounds). */
double nd_cast(NdType t, double x);

NdArray *nd_new(Elab *I, NdType dt, int rank, const int64_t *dims);
Value *nd_value(Elab *I, NdArray *a);
/* np.array(v): an ndarray, nested lists/tuples of numbers, or a number; dt < 0 infers
 * numpy's dtype. NULL after an error. */
NdArray *nd_from_value(Elab *I, Value *v, int dt, SrcLoc loc);
/* Element i as a Python value (int, float or bool). */
Value *nd_scalar(Elab *I, const NdArray *a, int64_t i);
Value *nd_tolist(Elab *I, const NdArray *a);
NdArray *nd_astype(Elab *I, const NdArray *a, NdType dt);
NdArray *nd_reshape(Elab *I, const NdArray *a, const int64_t *dims, int n, SrcLoc loc);
NdArray *nd_transpose(Elab *I, const NdArray *a, const int64_t *perm, int n, SrcLoc loc);
/* Reductions (OP_ADD sum, 'M' max, 'm' min, 'a' mean, OP_MUL prod) over axis (None =
 * all, an int, or a tuple). A full reduction without keepdims returns a Python scalar. */
Value *nd_reduce(Elab *I, const NdArray *a, int what, Value *axis, bool keepdims, SrcLoc loc);
/* Elementwise unary math: "log", "exp", "sqrt", "abs", "floor", "ceil", "log2", "round"
 * (decimals), "neg". */
NdArray *nd_unary(Elab *I, const NdArray *a, const char *fn, int decimals, SrcLoc loc);
NdArray *nd_stack(Elab *I, NdArray **xs, int n, int64_t axis, bool concat, SrcLoc loc);
NdArray *nd_where(Elab *I, const NdArray *c, const NdArray *x, const NdArray *y, SrcLoc loc);

/* The hooks of the evaluator: operators, subscripts, attributes, iteration. */
Value *nd_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc);
Value *nd_getitem(Elab *I, Value *arr, Value *idx, SrcLoc loc);
bool nd_setitem(Elab *I, Value *arr, Value *idx, Value *v, SrcLoc loc);
Value *nd_attr(Elab *I, Value *arr, const char *name, SrcLoc loc);
Value *nd_rows(Elab *I, const NdArray *a);   /* list(arr) */
const char *nd_repr(Elab *I, const NdArray *a);

Value *native_numpy(Elab *I);

/* The IrDtype a traced tensor of this array's dtype has (int64 is int32 to MegEngine). */
uint8_t nd_ir_dtype(NdType t);
/* A tensor attribute of a module: a buffer (V_PARAM) holding the array's values. */
Value *nd_to_buffer(Elab *I, const NdArray *a, SrcLoc loc);
/* megengine.functional called in __init__ on compile-time tensors (mge_consteval.c):
 * *handled is false when the call is not one (it then emits IR or reports as usual). */
Value *ct_functional(Elab *I, const char *name, CallArgs *a, SrcLoc loc, bool *handled);
/* mge.Tensor(data) / mge.Parameter(data) in __init__ */
Value *ct_tensor(Elab *I, Value *data, Value *dtype, SrcLoc loc);
Value *ct_parameter(Elab *I, NdArray *a, SrcLoc loc);

#endif
