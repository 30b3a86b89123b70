// Atomic file writes: data goes to a temporary file in the same directory, is flushed and fsync'ed, then renamed
// over the destination, so a reader (or a crashed run) sees either the old file or the complete new one.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace r1kit {

/// Writes `data` to `path` atomically (temp file + fsync + rename). Creates parent directories.
/// Throws IoError naming the path on any failure; the destination is then untouched.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

/// Streaming form for large files (checkpoints): write through stream(), then commit().
/// If commit() is never called (exception, early return) the temporary file is removed and `path` is untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path path);  // throws IoError if the temp file cannot be created
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  std::ofstream& stream() { return out_; }
  /// Flushes, fsyncs and renames onto the destination. Throws IoError on failure.
  void commit();

 private:
  std::filesystem::path path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

/// Reads a whole file. Throws IoError naming the path if it is missing or unreadable.
std::string read_file(const std::filesystem::path& path);

}  // namespace r1kit
