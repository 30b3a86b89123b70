// JSON Lines: one JSON object per line. Used for data sets (prompts, SFT examples) and run outputs
// (metrics.jsonl, samples). The reader reports problems as FILE:LINE so a user can open the exact record.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit {

/// "FILE:LINE: message" — the one format for errors about a record of a line-oriented data file.
std::string format_record_error(const std::filesystem::path& file, size_t line, std::string_view message);

/// Streams the records of a JSONL file. Blank (whitespace-only) lines are skipped; "\r\n" line ends and a UTF-8
/// byte-order mark on the first line are accepted.
class JsonlReader {
 public:
  /// Throws IoError naming the path if the file is missing or unreadable.
  explicit JsonlReader(std::filesystem::path path);

  /// Reads the next record into `record`; false at end of file. Throws DataError
  /// "FILE:LINE: invalid JSON (<parser message>) — each line must be one JSON object" for a line that does not
  /// parse, and "FILE:LINE: expected a JSON object, got ..." for a line holding another JSON value.
  /// Throws IoError on a read failure.
  bool next(nlohmann::json& record);

  /// 1-based line number of the last record returned by next() (0 before the first). Blank lines count.
  size_t record_number() const { return record_line_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  size_t line_ = 0;         // lines consumed so far
  size_t record_line_ = 0;  // line of the last record returned
};

/// All records of a JSONL file (at most `limit` when limit > 0). Throws as JsonlReader does.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path, size_t limit = 0);

/// Appends JSON objects to a file, one compact object per line, each line flushed to the OS as it is written so a
/// crashed run leaves only whole lines (metrics.jsonl, samples). Thread-safe. Invalid UTF-8 inside strings (e.g. a
/// model's partial byte sequence) is written as U+FFFD instead of failing.
class JsonlWriter {
 public:
  /// Opens `path` for appending (`append` = true) or truncates it; creates parent directories.
  /// Throws IoError naming the path on failure.
  JsonlWriter(std::filesystem::path path, bool append);

  /// Writes `record` (must be an object: InvalidArgument otherwise) and a newline, then flushes.
  /// Throws IoError naming the path if the write fails (disk full, ...).
  void write(const nlohmann::json& record);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  std::mutex mutex_;
};

}  // namespace r1kit
