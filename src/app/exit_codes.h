// exit_codes.h: the process exit codes scripts rely on (docs/cli.md). Public: never renumber.
#pragma once

namespace sg::app {
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalid = 3;
inline constexpr int kExitStore = 4;
inline constexpr int kExitRefused = 5;
}  // namespace sg::app
