#include "core/jsonl.h"

#include <cerrno>
#include <cstring>

#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"

namespace r1kit {
namespace fs = std::filesystem;
using nlohmann::json;

std::string format_record_error(const fs::path& file, size_t line, std::string_view message) {
  return file.string() + ":" + std::to_string(line) + ": " + std::string(message);
}

JsonlReader::JsonlReader(fs::path path) : path_(std::move(path)) {
  std::error_code ec;
  if (!fs::exists(path_, ec)) throw IoError(path_.string() + ": file not found — check the path");
  if (fs::is_directory(path_, ec)) throw IoError(path_.string() + ": is a directory, expected a .jsonl file");
  in_.open(path_, std::ios::binary);
  if (!in_) throw IoError("cannot open " + path_.string() + ": " + std::strerror(errno));
}

bool JsonlReader::next(json& record) {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_ == 1 && starts_with(line, "\xEF\xBB\xBF")) line.erase(0, 3);  // UTF-8 byte-order mark
    if (trim(line).empty()) continue;
    record_line_ = line_;
    try {
      record = json::parse(line);
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      if (const size_t bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
      throw DataError(format_record_error(path_, line_, "invalid JSON (" + what +
                                                            ") — each line must be one JSON object"));
    }
    if (!record.is_object()) {
      std::string shown = record.dump(-1, ' ', false, json::error_handler_t::replace);
      if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
      throw DataError(format_record_error(path_, line_, "expected a JSON object, got " + json_type_phrase(record) +
                                                            " (" + shown + ") — each line must be one JSON object"));
    }
    return true;
  }
  if (in_.bad()) throw IoError("read failed for " + path_.string() + " after line " + std::to_string(line_));
  return false;
}

std::vector<json> read_jsonl(const fs::path& path, size_t limit) {
  JsonlReader reader(path);
  std::vector<json> records;
  json record;
  while ((limit == 0 || records.size() < limit) && reader.next(record)) records.push_back(std::move(record));
  return records;
}

JsonlWriter::JsonlWriter(fs::path path, bool append) : path_(std::move(path)) {
  std::error_code ec;
  if (!path_.parent_path().empty()) fs::create_directories(path_.parent_path(), ec);
  if (ec) throw IoError("cannot create directory " + path_.parent_path().string() + ": " + ec.message());
  out_.open(path_, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  if (!out_) throw IoError("cannot open " + path_.string() + " for writing: " + std::strerror(errno));
}

void JsonlWriter::write(const json& record) {
  if (!record.is_object()) {
    throw InvalidArgument("JsonlWriter(" + path_.string() + "): a record must be a JSON object, got " +
                          json_type_phrase(record));
  }
  std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
  if (!out_) throw IoError("write failed for " + path_.string() + " (disk full or file removed?)");
}

void JsonlWriter::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  out_.flush();
  if (!out_) throw IoError("write failed for " + path_.string() + " (disk full or file removed?)");
}

}  // namespace r1kit
