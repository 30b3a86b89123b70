#include "core/logging.h"

#include <mutex>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/error.h"
#include "core/strings.h"

namespace r1kit {
namespace {

constexpr const char* kLoggerName = "r1kit";
constexpr const char* kPattern = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v";

std::mutex& logger_mutex() {
  static std::mutex m;
  return m;
}

// The current logger; guarded by logger_mutex(). Kept here rather than only in spdlog's registry so that a
// user's spdlog::drop_all() cannot leave us without one.
std::shared_ptr<spdlog::logger>& current() {
  static std::shared_ptr<spdlog::logger> l;
  return l;
}

std::shared_ptr<spdlog::logger> make_logger(spdlog::level::level_enum level, const std::filesystem::path& file) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), /*truncate=*/false));
    } catch (const spdlog::spdlog_ex& e) {
      throw IoError("cannot open log file " + file.string() + ": " + e.what() +
                    " — check that the directory is writable");
    }
  }
  auto l = std::make_shared<spdlog::logger>(kLoggerName, sinks.begin(), sinks.end());
  l->set_pattern(kPattern);
  l->set_level(level);
  l->flush_on(spdlog::level::trace);  // flush every message: logs are small next to training work
  return l;
}

void install(std::shared_ptr<spdlog::logger> l) {
  spdlog::drop(kLoggerName);
  spdlog::register_logger(l);
  current() = std::move(l);
}

}  // namespace

const std::vector<std::string>& log_level_names() {
  static const std::vector<std::string> kNames = {"trace", "debug", "info", "warn", "error"};
  return kNames;
}

spdlog::level::level_enum parse_log_level(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  throw ConfigError("unknown log level '" + level + "'" + did_you_mean(level, log_level_names()) +
                    " — use one of " + quote_list(log_level_names()));
}

void init_logging(const std::string& level, const std::filesystem::path& file) {
  const spdlog::level::level_enum parsed = parse_log_level(level);
  auto l = make_logger(parsed, file);
  std::lock_guard<std::mutex> lock(logger_mutex());
  install(std::move(l));
}

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard<std::mutex> lock(logger_mutex());
  if (!current()) install(make_logger(spdlog::level::info, {}));
  return current();
}

}  // namespace r1kit
