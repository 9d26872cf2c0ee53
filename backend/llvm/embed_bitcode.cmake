# Writes the bitcode file IN as a C array into OUT (bcl_jit_bitcode, bcl_jit_bitcode_len).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE ${OUT} "/* Generated from the JIT kernel bitcode; do not edit. */\n#include <stddef.h>\n"
     "const unsigned char bcl_jit_bitcode[] __attribute__((aligned(16))) = {\n${body}};\n"
     "const size_t bcl_jit_bitcode_len = ${bytes};\n")
