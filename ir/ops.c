/* The op table generated from ops.def, name lookup, and attribute defaults. */
#include <string.h>

#include "ir/ir.h"

const IrOpInfo ir_op_info[IR_OP_COUNT] = {
#define OP(ID, NAME, KIND, MINI, MAXI, ATTRS, EPI, INPLACE) \
    [IR_##ID] = {NAME, OPK_##KIND, MINI, MAXI, ATTRS, IR_EPI_##EPI, INPLACE},
#include "ir/ops.def"
#undef OP
};

/* Indexed by bit position of IRA_*; the textual IR's attribute keys. */
static const char *const attr_keys[IR_N_ATTR_KEYS] = {
    "kernel", "stride", "pad", "dilation", "groups", "count_include_pad", "flatten",
    "n_axes", "eps", "alpha", "axis", "axes", "keepdim", "shape", "perm",
    "begin", "end", "step", "pads", "value", "shifts",
};

const char *ir_attr_key(unsigned bit)
{
    for (int i = 0; i < IR_N_ATTR_KEYS; i++)
        if (bit == 1u << i) return attr_keys[i];
    return NULL;
}

unsigned ir_attr_by_key(const char *key)
{
    for (int i = 0; key && i < IR_N_ATTR_KEYS; i++)
        if (strcmp(attr_keys[i], key) == 0) return 1u << i;
    return 0;
}

int ir_op_by_name(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < IR_OP_COUNT; i++)
        if (strcmp(ir_op_info[i].name, name) == 0) return i;
    return -1;
}

IrAttrs ir_attrs_default(void)
{
    IrAttrs a;
    memset(&a, 0, sizeof a);
    a.stride[0] = a.stride[1] = 1;
    a.dilation[0] = a.dilation[1] = 1;
    a.kernel[0] = a.kernel[1] = 1;
    a.groups = 1;
    for (int i = 0; i < BCL_MAX_RANK; i++) a.step[i] = 1;
    a.eps = 1e-5f;
    a.alpha = 0.01f;
    a.act = -1;
    return a;
}

static const char *const init_names[] = {"zeros", "ones", "fan_in", "var", "uniform", "normal", "trunc_normal", "const"};

const char *ir_dtype_name(uint8_t t) { return t == IR_DT_BOOL ? "bool" : t == IR_DT_I32 ? "int32" : "float32"; }

const char *ir_init_name(IrInit init)
{
    return (unsigned)init < sizeof init_names / sizeof *init_names ? init_names[init] : "?";
}

int ir_init_n_args(IrInit init)
{
    switch (init) {
    case INIT_UNIFORM: case INIT_NORMAL: return 2;
    case INIT_TRUNC_NORMAL: return 4;
    case INIT_CONST: return 1;
    default: return 0;
    }
}

int ir_init_by_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof init_names / sizeof *init_names); i++)
        if (strcmp(init_names[i], name) == 0) return i;
    return -1;
}
