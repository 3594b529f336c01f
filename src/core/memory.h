// memory.h: giving freed heap back to the system (issue 12 item 1). glibc keeps what a program
// frees in its arenas for reuse, and returns to the kernel only the top of the main heap past a
// threshold: a start that parsed a large configuration (256 ports: parsed twice, YAML trees,
// validation, the event catalogue) leaves megabytes of free but resident heap behind, counted in
// RSS for the life of the process. release_free_heap() hands the free pages of every arena back
// (malloc_trim(0): madvise(MADV_DONTNEED) on whole free pages), so RSS shows what is in use.
//
// It takes each arena's lock while it walks it: call it after a configuration was applied, not on
// a data path.
#pragma once

#include <cstddef>

namespace sg::core {

/// Returns free heap pages to the kernel; true when some were released. A no-op (false) where the
/// C library has no malloc_trim.
bool release_free_heap();

}  // namespace sg::core
