/* The Tensor value type's helpers shared by megengine.functional (mge_functional.c),
 * the intrinsics (mge_intrinsics.c) and numpy/compile-time tensors: conversions to IR
 * values, node emission located in the user's file, and the checked shape operations. */
#ifndef BCL_FRONTEND_TENSOR_VALUE_H
#define BCL_FRONTEND_TENSOR_VALUE_H

#include "frontend/eval.h"

static inline bool is_intlike(const Value *v) { return v->kind == V_INT || v->kind == V_BOOL; }
/* The IR value of a tensor or bound parameter (a Python number becomes a scalar constant
 * while tracing); NULL after an error naming `what`. */
IrValue *tensor_of(Elab *I, Value *v, SrcLoc loc, const char *what);
/* Adds a node to the traced graph; a node made inside the stdlib is located at the
 * user's construction site. */
Value *emit(Elab *I, IrOp op, IrValue **in, int n, const IrAttrs *at, SrcLoc loc);
IrValue *emit_ir(Elab *I, IrOp op, IrValue **in, int n, const IrAttrs *at, SrcLoc loc);
IrValue *reshape_ir(Elab *I, IrValue *x, const Shape *s, SrcLoc loc);
/* An int, or a tuple/list of n ints. */
bool int_tuple(Elab *I, Value *v, int n, SrcLoc loc, const char *what, int64_t *out);
/* A list of at most max ints (a tuple/list, or one int); its length, or -1 after an error. */
int int_list(Elab *I, Value *v, SrcLoc loc, const char *what, int64_t *out, int max);
bool norm_axis(Elab *I, int64_t *ax, int rank, SrcLoc loc, const char *what);
/* True while forward is traced; otherwise an error "tensor operations are only allowed in forward". */
bool need_trace(Elab *I, SrcLoc loc, const char *what);
Value *shape_tuple(Elab *I, const Shape *s);
/* A parameter, buffer or constant shape within the limits every op result has
 * (support/limits.h); else an error at the user's call, naming f. */
bool param_size_ok(Elab *I, const Shape *sh, SrcLoc loc, const char *f);
Value *do_reshape(Elab *I, IrValue *x, int64_t *dims, int n, SrcLoc loc);
Value *do_flatten(Elab *I, IrValue *x, int64_t start, int64_t end, SrcLoc loc);
Value *do_transpose(Elab *I, IrValue *x, int64_t *perm, int n, SrcLoc loc);
/* t.astype(dtype) while tracing (dtype as numpy's names and types). */
Value *tensor_astype(Elab *I, IrValue *x, Value *dt, SrcLoc loc);
Value *do_reduce(Elab *I, IrOp op, IrValue *x, Value *axis, Value *keep, SrcLoc loc, const char *what);

#endif
