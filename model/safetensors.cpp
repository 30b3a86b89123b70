// Safetensors read/write. See safetensors.h for the format and the guarantees.
#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace r1kit::model {

namespace {

// The Python reader's limit on the JSON header (safetensors MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeRow {
  const char* name;
  torch::ScalarType type;
  size_t itemsize;
  int alignment_rank;  // position in the Rust `Dtype` enum: the writer orders entries by it, descending
};

constexpr DtypeRow kDtypes[] = {
    {"BOOL", torch::kBool, 1, 0},   {"U8", torch::kByte, 1, 4},    {"I8", torch::kChar, 1, 5},
    {"I16", torch::kShort, 2, 9},   {"F16", torch::kHalf, 2, 11},  {"BF16", torch::kBFloat16, 2, 12},
    {"I32", torch::kInt, 4, 13},    {"F32", torch::kFloat, 4, 15}, {"F64", torch::kDouble, 8, 16},
    {"I64", torch::kLong, 8, 17},
    // FP8 (DeepSeek-V3 block-quantised checkpoints): read and written as stored; dequantised by the loader.
    {"F8_E5M2", torch::kFloat8_e5m2, 1, 6}, {"F8_E4M3", torch::kFloat8_e4m3fn, 1, 7},
};

const DtypeRow* find_dtype(const std::string& name) {
  for (const auto& row : kDtypes)
    if (name == row.name) return &row;
  return nullptr;
}

const DtypeRow& find_dtype(torch::ScalarType type) {
  for (const auto& row : kDtypes)
    if (row.type == type) return row;
  throw InvalidArgument(std::string("safetensors: cannot save dtype ") + c10::toString(type) +
                        "; supported: float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool, "
                        "float8_e4m3fn, float8_e5m2");
}

std::string corrupt(const fs::path& file, const std::string& what) {
  return "safetensors file " + file.string() + ": " + what +
         " — the file is truncated or corrupt: re-download or re-convert it";
}

// numel * itemsize with overflow detection; nullopt on overflow.
std::optional<uint64_t> byte_size(const std::vector<int64_t>& shape, size_t itemsize) {
  uint64_t n = itemsize;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > UINT64_MAX / static_cast<uint64_t>(d)) return std::nullopt;
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

}  // namespace

torch::ScalarType safetensors_dtype_to_torch(const std::string& dtype) {
  if (const DtypeRow* row = find_dtype(dtype)) return row->type;
  throw CheckpointError("safetensors dtype " + dtype +
                        " is not supported; supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, F8_E4M3, "
                        "F8_E5M2");
}

std::string torch_dtype_to_safetensors(torch::ScalarType dtype) { return find_dtype(dtype).name; }

// ---------------------------------------------------------------------------------------------------- reading

SafetensorsFile::SafetensorsFile(const fs::path& file) : path_(file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open " + file.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw IoError("cannot stat " + file.string() + ": " + std::strerror(errno));
  }
  map_size_ = static_cast<size_t>(st.st_size);
  if (map_size_ > 0) {
    void* p = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw IoError("cannot mmap " + file.string() + ": " + std::strerror(errno));
    }
    map_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);

  try {
    if (map_size_ < 8) throw CheckpointError(corrupt(file, "it has " + std::to_string(map_size_) +
                                                                " bytes, fewer than the 8-byte header length"));
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | map_[i];
    if (header_len > kMaxHeaderBytes || header_len > map_size_ - 8)
      throw CheckpointError(corrupt(file, "header length " + std::to_string(header_len) + " exceeds the file size " +
                                              std::to_string(map_size_)));
    data_start_ = 8 + header_len;
    const uint64_t data_size = map_size_ - data_start_;

    nlohmann::json header;
    try {
      header = nlohmann::json::parse(reinterpret_cast<const char*>(map_ + 8),
                                     reinterpret_cast<const char*>(map_ + 8 + header_len));
    } catch (const nlohmann::json::exception& e) {
      throw CheckpointError(corrupt(file, std::string("the JSON header does not parse (") + e.what() + ")"));
    }
    if (!header.is_object()) throw CheckpointError(corrupt(file, "the JSON header is not an object"));

    std::vector<std::pair<uint64_t, std::string>> by_offset;  // (begin, name) for the overlap check
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const auto& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) throw CheckpointError(corrupt(file, "__metadata__ is not an object"));
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string())
            throw CheckpointError(corrupt(file, "__metadata__." + m.key() + " is not a string"));
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor '" + name + "'";
      if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
        throw CheckpointError(corrupt(file, where + " lacks dtype, shape or data_offsets"));
      if (!v["dtype"].is_string()) throw CheckpointError(corrupt(file, where + ": dtype is not a string"));
      SafetensorsTensorInfo info;
      info.dtype = v["dtype"].get<std::string>();
      const DtypeRow* row = find_dtype(info.dtype);
      if (!row)
        throw CheckpointError("safetensors file " + file.string() + ": " + where + " has dtype " + info.dtype +
                              ", which r1kit does not support (supported: F32, F16, BF16, F64, I64, I32, I16, I8, "
                              "U8, BOOL, F8_E4M3, F8_E5M2); convert the checkpoint to one of these dtypes");
      const auto& shape = v["shape"];
      if (!shape.is_array()) throw CheckpointError(corrupt(file, where + ": shape is not an array"));
      for (const auto& d : shape) {
        if (!d.is_number_unsigned()) throw CheckpointError(corrupt(file, where + ": shape has a non-integer or "
                                                                                 "negative dimension"));
        info.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
      }
      const auto& off = v["data_offsets"];
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        throw CheckpointError(corrupt(file, where + ": data_offsets is not [begin, end]"));
      info.begin = off[0].get<uint64_t>();
      info.end = off[1].get<uint64_t>();
      if (info.begin > info.end)
        throw CheckpointError(corrupt(file, where + ": data_offsets begin > end"));
      if (info.end > data_size)
        throw CheckpointError(corrupt(file, where + ": data_offsets end " + std::to_string(info.end) +
                                                " lies past the data section (" + std::to_string(data_size) +
                                                " bytes)"));
      auto expect = byte_size(info.shape, row->itemsize);
      if (!expect || *expect != info.end - info.begin)
        throw CheckpointError(corrupt(file, where + ": data_offsets span " + std::to_string(info.end - info.begin) +
                                                " bytes but shape and dtype need " +
                                                (expect ? std::to_string(*expect) : std::string("an overflowing "
                                                                                                "number of"))));
      by_offset.emplace_back(info.begin, name);
      tensors_.emplace(name, std::move(info));
    }
    std::sort(by_offset.begin(), by_offset.end());
    uint64_t prev_end = 0;
    std::string prev_name;
    for (const auto& [begin, name] : by_offset) {
      const auto& info = tensors_.at(name);
      if (info.end == info.begin) continue;  // empty tensors occupy nothing
      if (begin < prev_end)
        throw CheckpointError(corrupt(file, "tensor '" + name + "' overlaps tensor '" + prev_name + "'"));
      prev_end = info.end;
      prev_name = name;
    }
  } catch (...) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, _] : tensors_) out.push_back(name);
  return out;
}

const SafetensorsTensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw CheckpointError("safetensors file " + path_.string() + " has no tensor '" + name +
                          "': the checkpoint does not match the model architecture");
  return it->second;
}

torch::Tensor SafetensorsFile::get(const std::string& name) const {
  const auto& inf = info(name);
  auto t = torch::empty(inf.shape, torch::TensorOptions().dtype(safetensors_dtype_to_torch(inf.dtype)));
  const uint64_t n = inf.end - inf.begin;
  if (n > 0) std::memcpy(t.data_ptr(), map_ + data_start_ + inf.begin, n);
  return t;
}

// ------------------------------------------------------------------------------------------ CheckpointReader

CheckpointReader CheckpointReader::open(const fs::path& dir_or_file) {
  CheckpointReader r;
  r.root_ = dir_or_file;
  std::error_code ec;
  if (fs::is_regular_file(dir_or_file, ec)) {
    r.files_.push_back(std::make_shared<SafetensorsFile>(dir_or_file));
  } else if (fs::is_directory(dir_or_file, ec)) {
    const fs::path single = dir_or_file / "model.safetensors";
    const fs::path index = dir_or_file / "model.safetensors.index.json";
    if (fs::exists(single)) {
      r.files_.push_back(std::make_shared<SafetensorsFile>(single));
    } else if (fs::exists(index)) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(read_file(index));
      } catch (const nlohmann::json::exception& e) {
        throw CheckpointError(index.string() + " is not valid JSON (" + e.what() + "): re-download the checkpoint");
      }
      if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        throw CheckpointError(index.string() + " has no \"weight_map\" object: re-download the checkpoint");
      std::map<std::string, size_t> shard_index;
      for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        if (!it.value().is_string())
          throw CheckpointError(index.string() + ": weight_map." + it.key() + " is not a file name");
        const std::string shard = it.value().get<std::string>();
        auto s = shard_index.find(shard);
        if (s == shard_index.end()) {
          const fs::path shard_path = dir_or_file / shard;
          if (!fs::exists(shard_path))
            throw CheckpointError(index.string() + " assigns tensor '" + it.key() + "' to shard " + shard +
                                  ", which does not exist in " + dir_or_file.string() +
                                  ": download every shard of the checkpoint");
          s = shard_index.emplace(shard, r.files_.size()).first;
          r.files_.push_back(std::make_shared<SafetensorsFile>(shard_path));
        }
        if (!r.files_[s->second]->contains(it.key()))
          throw CheckpointError(index.string() + " assigns tensor '" + it.key() + "' to shard " + shard +
                                ", which does not contain it: the shards and the index do not match; "
                                "re-download the checkpoint");
        r.where_[it.key()] = s->second;
      }
      return r;
    } else {
      throw CheckpointError("no safetensors checkpoint in " + dir_or_file.string() +
                            ": expected model.safetensors or model.safetensors.index.json (convert a GGUF with "
                            "`r1kit convert gguf`, or download the Hugging Face repo)");
    }
  } else {
    throw CheckpointError("checkpoint path " + dir_or_file.string() + " does not exist");
  }
  for (const auto& name : r.files_[0]->names()) r.where_[name] = 0;
  return r;
}

std::vector<std::string> CheckpointReader::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, _] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& CheckpointReader::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end())
    throw CheckpointError("checkpoint " + root_.string() + " has no tensor '" + name +
                          "': the checkpoint does not match the model architecture in config.json");
  return *files_[it->second];
}

const SafetensorsTensorInfo& CheckpointReader::info(const std::string& name) const {
  return file_of(name).info(name);
}

torch::Tensor CheckpointReader::get(const std::string& name) const { return file_of(name).get(name); }

std::vector<fs::path> CheckpointReader::files() const {
  std::vector<fs::path> out;
  for (const auto& f : files_) out.push_back(f->path());
  return out;
}

// ---------------------------------------------------------------------------------------------------- writing

void save_safetensors(const fs::path& file, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  struct Entry {
    std::string name;
    torch::Tensor data;  // contiguous CPU
    const DtypeRow* row;
  };
  std::vector<Entry> entries;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) throw InvalidArgument("save_safetensors(" + file.string() + "): tensor '" + name +
                                            "' is undefined");
    if (name == "__metadata__" || !seen.insert(name).second)
      throw InvalidArgument("save_safetensors(" + file.string() + "): duplicate or reserved tensor name '" + name +
                            "'");
    const DtypeRow& row = find_dtype(t.scalar_type());
    entries.push_back({name, t.detach().to(torch::kCPU).contiguous(), &row});
  }
  // As the Rust writer: larger alignment first, then by name.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.row->alignment_rank != b.row->alignment_rank) return a.row->alignment_rank > b.row->alignment_rank;
    return a.name < b.name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& e : entries) {
    const uint64_t n = static_cast<uint64_t>(e.data.numel()) * e.row->itemsize;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = e.row->name;
    entry["shape"] = e.data.sizes().vec();
    entry["data_offsets"] = {offset, offset + n};
    header[e.name] = std::move(entry);
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  AtomicFileWriter w(file);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  w.stream().write(reinterpret_cast<const char*>(len), 8);
  w.stream().write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& e : entries) {
    const size_t n = static_cast<size_t>(e.data.numel()) * e.row->itemsize;
    if (n) w.stream().write(static_cast<const char*>(e.data.data_ptr()), static_cast<std::streamsize>(n));
  }
  if (!w.stream()) throw IoError("writing " + file.string() + " failed (disk full?)");
  w.commit();
}

std::vector<fs::path> save_safetensors_sharded(const fs::path& dir, const NamedTensors& tensors,
                                               uint64_t max_shard_bytes,
                                               const std::map<std::string, std::string>& metadata) {
  std::vector<NamedTensors> shards(1);
  uint64_t total = 0, current = 0;
  for (const auto& nt : tensors) {
    const uint64_t n = nt.second.defined() ? static_cast<uint64_t>(nt.second.numel()) * nt.second.element_size() : 0;
    if (current > 0 && current + n > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(nt);
    current += n;
    total += n;
  }
  fs::create_directories(dir);
  if (shards.size() == 1) {
    save_safetensors(dir / "model.safetensors", tensors, metadata);
    return {dir / "model.safetensors"};
  }
  std::vector<fs::path> written;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  const size_t n = shards.size();
  std::vector<std::pair<std::string, std::string>> assignment;
  for (size_t k = 0; k < n; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", k + 1, n);
    save_safetensors(dir / name, shards[k], metadata);
    written.push_back(dir / name);
    for (const auto& nt : shards[k]) assignment.emplace_back(nt.first, name);
  }
  std::sort(assignment.begin(), assignment.end());
  for (const auto& [tensor, shard] : assignment) weight_map[tensor] = shard;
  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = std::move(weight_map);
  write_file_atomic(dir / "model.safetensors.index.json", index.dump(2) + "\n");
  written.push_back(dir / "model.safetensors.index.json");
  return written;
}

}  // namespace r1kit::model
