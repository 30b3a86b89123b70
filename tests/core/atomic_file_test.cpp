#include "core/atomic_file.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/error.h"
#include "core_test_util.h"

namespace r1kit {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, WriteCreatesAndReplaces) {
  TempDir dir;
  const auto file = dir / "a.txt";
  write_file_atomic(file, "first");
  EXPECT_EQ(read_file(file), "first");
  write_file_atomic(file, "second, longer");
  EXPECT_EQ(read_file(file), "second, longer");
  write_file_atomic(file, "");
  EXPECT_EQ(read_file(file), "");
  EXPECT_EQ(count_entries(dir.path()), 1u);  // no temp files left
}

TEST(AtomicFile, CommitReplacesDestination) {
  TempDir dir;
  const auto file = dir / "ckpt.bin";
  write_file_atomic(file, "old");
  {
    AtomicFileWriter w(file);
    w.stream() << "new contents";
    EXPECT_EQ(read_file(file), "old");  // untouched until commit
    w.commit();
  }
  EXPECT_EQ(read_file(file), "new contents");
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(AtomicFile, NoCommitLeavesDestinationUntouchedAndNoTempFile) {
  TempDir dir;
  const auto file = dir / "state.json";
  write_file_atomic(file, "original");
  {
    AtomicFileWriter w(file);
    w.stream() << "partial";
    EXPECT_EQ(count_entries(dir.path()), 2u);  // the temp file exists while writing
  }
  EXPECT_EQ(read_file(file), "original");
  EXPECT_EQ(count_entries(dir.path()), 1u);

  // Same when an exception unwinds through the writer.
  try {
    AtomicFileWriter w(file);
    w.stream() << "partial";
    throw std::runtime_error("simulated failure");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_file(file), "original");
  EXPECT_EQ(count_entries(dir.path()), 1u);

  // A new destination that is never committed is never created.
  { AtomicFileWriter w(dir / "never.bin"); }
  EXPECT_FALSE(fs::exists(dir / "never.bin"));
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(AtomicFile, CreatesMissingParentDirectories) {
  TempDir dir;
  const auto file = dir / "x" / "y" / "z.txt";
  write_file_atomic(file, "deep");
  EXPECT_EQ(read_file(file), "deep");
  EXPECT_EQ(count_entries(dir / "x" / "y"), 1u);
}

TEST(AtomicFile, ErrorsNameThePath) {
  TempDir dir;
  const std::string missing = testing::error_message<IoError>([&] { read_file(dir / "missing.txt"); });
  EXPECT_CONTAINS(missing, "missing.txt");
  dir.write("plain", "x");  // a file where a directory is needed
  const std::string blocked = testing::error_message<IoError>([&] { write_file_atomic(dir / "plain" / "f", "x"); });
  EXPECT_CONTAINS(blocked, "plain");
}

}  // namespace
}  // namespace r1kit
