#include "core/log.h"

#include "core/logging.h"

namespace r1kit {

void log_line(LogLevel level, const std::string& message) {
  static const spdlog::level::level_enum map[] = {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                                                  spdlog::level::warn, spdlog::level::err};
  logger()->log(map[static_cast<int>(level)], "{}", message);
}

void start_log_file(const std::string& level, const std::filesystem::path& file) { init_logging(level, file); }

}  // namespace r1kit
