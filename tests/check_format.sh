#!/usr/bin/env bash
# Fails when any C++ file differs from .clang-format (STYLE.md §4).
set -euo pipefail
cd "$1"
files=$(git ls-files 'src/*.h' 'src/*.cpp' 'fuzz/*.cpp' 2>/dev/null || find src fuzz -name '*.h' -o -name '*.cpp')
[ -n "$files" ] || { echo "no files"; exit 1; }
clang-format --dry-run -Werror $files
echo "$(echo "$files" | wc -l) files formatted"
