#include "core/logging.h"

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core_test_util.h"

namespace r1kit {
namespace {
using testing::error_message;
using testing::TempDir;

TEST(Logging, BadLevelListsLevelsAndSuggests) {
  const std::string msg = error_message<ConfigError>([] { init_logging("inf"); });
  EXPECT_EQ(msg, "unknown log level 'inf' — did you mean 'info'? — use one of 'trace', 'debug', 'info', 'warn', 'error'");
  const std::string far = error_message<ConfigError>([] { init_logging("verbose"); });
  EXPECT_CONTAINS(far, "unknown log level 'verbose'");
  EXPECT_CONTAINS(far, "'trace', 'debug', 'info', 'warn', 'error'");
}

TEST(Logging, ParsesLevels) {
  EXPECT_EQ(parse_log_level("trace"), spdlog::level::trace);
  EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("info"), spdlog::level::info);
  EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
}

TEST(Logging, DefaultLoggerExists) {
  auto l = logger();
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->name(), "r1kit");
  EXPECT_EQ(logger(), l);  // same instance on every call
}

TEST(Logging, WritesToFileAtLevelAndAppends) {
  TempDir dir;
  const auto file = dir / "logs" / "train.log";  // parent directory does not exist yet
  init_logging("warn", file);
  EXPECT_EQ(logger()->level(), spdlog::level::warn);
  log_info("hidden info {}", 1);
  log_warn("shown warn {}", 2);
  log_error("shown error {:.2f}", 3.14159);
  std::string text = read_file(file);  // flushed per message: readable right away
  EXPECT_EQ(text.find("hidden info"), std::string::npos);
  EXPECT_CONTAINS(text, "shown warn 2");
  EXPECT_CONTAINS(text, "shown error 3.14");

  init_logging("debug", file);  // re-initialising appends to the same file
  log_debug("debug line");
  text = read_file(file);
  EXPECT_CONTAINS(text, "shown warn 2");
  EXPECT_CONTAINS(text, "debug line");

  init_logging("info");  // back to stderr only, so later tests do not write into the removed directory
  log_info("stderr only");
  EXPECT_EQ(read_file(file).find("stderr only"), std::string::npos);
}

TEST(Logging, UnwritableFileIsIoError) {
  TempDir dir;
  dir.write("not_a_dir", "x");
  const std::string msg = error_message<IoError>([&] { init_logging("info", dir / "not_a_dir" / "x.log"); });
  EXPECT_CONTAINS(msg, "cannot open log file");
  EXPECT_CONTAINS(msg, "not_a_dir");
}

}  // namespace
}  // namespace r1kit
