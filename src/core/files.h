// files.h: private files and directories (STYLE.md §3.11). The data directory is 0700 and every
// file in it 0600; a file is replaced by write-to-temp, fsync, rename, so a crash leaves old or
// new.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sg::core {

/// Creates `dir` (and parents) if missing and forces mode 0700 on it. Refuses a path that exists
/// and is not a directory, or a directory owned by another user.
Status ensure_private_dir(const std::filesystem::path& dir);

/// Atomically replaces `path` with `content`, mode 0600.
Status write_private_file(const std::filesystem::path& path, std::string_view content);

/// Reads a whole file (for config files: bounded to `max_bytes`).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes = 16 << 20);

}  // namespace sg::core
