// memory.cpp: see memory.h.
#include "core/memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sg::core {

bool release_free_heap() {
#if defined(__GLIBC__)
    return ::malloc_trim(0) == 1;
#else
    return false;
#endif
}

}  // namespace sg::core
