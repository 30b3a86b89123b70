// Logging for translation units that include LibTorch: LibTorch ships its own {fmt} headers, which shadow the
// system {fmt} that spdlog (core/logging.h) is built against, so LibTorch code must not include spdlog. These
// functions take finished strings and forward them to the same "r1kit" logger (core/logging.h).
#pragma once

#include <filesystem>
#include <string>

namespace r1kit {

enum class LogLevel { trace, debug, info, warn, error };

/// Writes one message to the r1kit logger (stderr, plus the file set by init_logging / start_log_file).
void log_line(LogLevel level, const std::string& message);
inline void log_info_line(const std::string& m) { log_line(LogLevel::info, m); }
inline void log_warn_line(const std::string& m) { log_line(LogLevel::warn, m); }

/// init_logging(level, file) for LibTorch code (see core/logging.h). Throws ConfigError for a bad level.
void start_log_file(const std::string& level, const std::filesystem::path& file);

}  // namespace r1kit
