// Logging through spdlog: one process-wide logger named "r1kit" writing to stderr (coloured when a terminal) and,
// after init_logging(level, file), also to a log file (e.g. <run_dir>/train.log).
//
//   init_logging("info", run_dir / "train.log");
//   log_info("step {} loss {:.4f}", step, loss);       // fmt syntax, checked at compile time
#pragma once

#include <filesystem>
#include <memory>
#include <spdlog/spdlog.h>
#include <string>
#include <utility>
#include <vector>

namespace r1kit {

/// The accepted level names, most verbose first: trace, debug, info, warn, error.
const std::vector<std::string>& log_level_names();

/// Level name -> spdlog level. Throws ConfigError "unknown log level 'inf' — did you mean 'info'? ..." listing the
/// accepted names.
spdlog::level::level_enum parse_log_level(const std::string& level);

/// (Re)creates the "r1kit" logger at `level` with a stderr sink and, when `file` is not empty, a file sink that
/// appends to `file` (parent directories are created). Every message is flushed as it is written, so the file
/// is complete even after a crash. Throws ConfigError for a bad level, IoError if the file cannot be opened.
/// Call it once at start-up, before other threads log.
void init_logging(const std::string& level, const std::filesystem::path& file = {});

/// The "r1kit" logger; on first use without init_logging() a default one (stderr, level info) is created.
/// Thread-safe.
std::shared_ptr<spdlog::logger> logger();

template <class... Args>
void log_trace(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger()->trace(fmt, std::forward<Args>(args)...);
}
template <class... Args>
void log_debug(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger()->debug(fmt, std::forward<Args>(args)...);
}
template <class... Args>
void log_info(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger()->info(fmt, std::forward<Args>(args)...);
}
template <class... Args>
void log_warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger()->warn(fmt, std::forward<Args>(args)...);
}
template <class... Args>
void log_error(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger()->error(fmt, std::forward<Args>(args)...);
}

}  // namespace r1kit
