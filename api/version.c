/* Library-wide queries: version, status names, available engines. */
#include <string.h>

#include "api/api_internal.h"

#define STR2(x) #x
#define STR(x) STR2(x)

/* The header and the build (CMake's project version) must agree. */
#if defined(BCL_PROJECT_VERSION_MAJOR)
_Static_assert(BCL_PROJECT_VERSION_MAJOR == BCL_VERSION_MAJOR && BCL_PROJECT_VERSION_MINOR == BCL_VERSION_MINOR &&
                   BCL_PROJECT_VERSION_PATCH == BCL_VERSION_PATCH,
               "include/bcl/bcl.h's version differs from CMakeLists.txt's project version");
#endif

int bcl_version(void) { return BCL_VERSION; }

const char *bcl_version_string(void)
{
    return STR(BCL_VERSION_MAJOR) "." STR(BCL_VERSION_MINOR) "." STR(BCL_VERSION_PATCH);
}

const char *bcl_status_name(BclStatus s)
{
    switch (s) {
    case BCL_OK: return "BCL_OK";
    case BCL_ERR_INVALID_ARGUMENT: return "BCL_ERR_INVALID_ARGUMENT";
    case BCL_ERR_IO: return "BCL_ERR_IO";
    case BCL_ERR_COMPILE: return "BCL_ERR_COMPILE";
    case BCL_ERR_WEIGHTS: return "BCL_ERR_WEIGHTS";
    case BCL_ERR_STATE: return "BCL_ERR_STATE";
    case BCL_ERR_SHAPE: return "BCL_ERR_SHAPE";
    case BCL_ERR_UNSUPPORTED: return "BCL_ERR_UNSUPPORTED";
    case BCL_ERR_RUNTIME: return "BCL_ERR_RUNTIME";
    case BCL_ERR_NO_MEMORY: return "BCL_ERR_NO_MEMORY";
    }
    return "unknown status";
}

int bcl_engine_available(const char *engine)
{
    if (!engine) return 0;
    if (!strcmp(engine, "interp")) return 1;
#if BCL_HAVE_LLVM
    if (!strcmp(engine, "jit")) return 1;
#endif
    return 0;
}
