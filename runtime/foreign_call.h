/* Calls into machine code that no C compiler built: the JIT's step functions and
 * entry point, and an AOT object's. clang's -fsanitize=function (part of
 * -fsanitize=undefined since clang 17) checks every indirect call by reading a type
 * signature stored just before the callee; code emitted by LLVM for bclc has none,
 * and a function that starts a mapped page (the JIT places each object's text at a
 * page boundary) makes that read fault before the call (a SEGV in run_chunks under
 * the clang ASan/fuzz builds). Functions that make such calls opt out of that one
 * check; every other sanitizer still covers them. gcc has no such check. */
#ifndef BCL_RT_FOREIGN_CALL_H
#define BCL_RT_FOREIGN_CALL_H

#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define BCL_CALLS_FOREIGN_CODE __attribute__((no_sanitize("function")))
#endif
#endif
#ifndef BCL_CALLS_FOREIGN_CODE
#define BCL_CALLS_FOREIGN_CODE
#endif

#endif
