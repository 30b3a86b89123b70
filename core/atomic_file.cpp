#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

#include "core/error.h"

namespace r1kit {
namespace fs = std::filesystem;

namespace {

fs::path temp_name_for(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  std::ostringstream name;
  name << "." << path.filename().string() << ".tmp." << ::getpid() << "." << counter++;
  return path.parent_path() / name.str();
}

void fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort for directories on file systems that refuse it
  ::fsync(fd);
  ::close(fd);
}

void ensure_parent(const fs::path& path) {
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  if (ec) throw IoError("cannot create directory " + path.parent_path().string() + ": " + ec.message());
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(fs::path path) : path_(std::move(path)) {
  ensure_parent(path_);
  tmp_ = temp_name_for(path_);
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw IoError("cannot create " + tmp_.string() + ": " + std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void AtomicFileWriter::commit() {
  out_.flush();
  if (!out_) throw IoError("write failed for " + path_.string() + " (disk full?)");
  out_.close();
  fsync_path(tmp_, false);
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) throw IoError("cannot rename " + tmp_.string() + " to " + path_.string() + ": " + ec.message());
  committed_ = true;
  fsync_path(path_.parent_path().empty() ? fs::path(".") : path_.parent_path(), true);
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  AtomicFileWriter w(path);
  w.stream().write(data.data(), static_cast<std::streamsize>(data.size()));
  w.commit();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError("read failed for " + path.string());
  return ss.str();
}

}  // namespace r1kit
