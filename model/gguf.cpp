// GGUF header parsing (metadata, tensor directory) and float32 dequantisation entry point. See gguf.h.
#include "model/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace r1kit::model {

namespace {

// GGUF metadata value types (gguf.md `gguf_metadata_value_type`).
enum : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
  kU64 = 10, kI64 = 11, kF64 = 12,
};

const char* value_type_name(uint32_t t) {
  static const char* names[] = {"uint8", "int8",  "uint16", "int16",  "uint32", "int32", "float32",
                                "bool",  "string", "array", "uint64", "int64",  "float64"};
  return t <= kF64 ? names[t] : "unknown";
}

std::string truncated(const fs::path& file, const std::string& what) {
  return "GGUF file " + file.string() + ": " + what +
         " — the file is truncated or corrupt: re-download it (compare its size with the source)";
}

// Bounds-checked little-endian cursor over the mapping.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const fs::path& file) : p_(p), n_(n), file_(file) {}
  size_t pos() const { return pos_; }
  void need(uint64_t k, const char* what) const {
    if (k > n_ - pos_) throw CheckpointError(truncated(file_, std::string("unexpected end of file while reading ") +
                                                                  what + " at byte " + std::to_string(pos_)));
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const fs::path& file_;
};

nlohmann::json read_scalar(Cursor& c, uint32_t type, const fs::path& file, const std::string& key) {
  switch (type) {
    case kU8: return c.read<uint8_t>("a metadata value");
    case kI8: return c.read<int8_t>("a metadata value");
    case kU16: return c.read<uint16_t>("a metadata value");
    case kI16: return c.read<int16_t>("a metadata value");
    case kU32: return c.read<uint32_t>("a metadata value");
    case kI32: return c.read<int32_t>("a metadata value");
    case kF32: return static_cast<double>(c.read<float>("a metadata value"));
    case kBool: return c.read<uint8_t>("a metadata value") != 0;
    case kString: return c.str("a metadata string");
    case kU64: return c.read<uint64_t>("a metadata value");
    case kI64: return c.read<int64_t>("a metadata value");
    case kF64: return c.read<double>("a metadata value");
    default:
      throw CheckpointError(truncated(file, "metadata key '" + key + "' has unknown value type " +
                                                std::to_string(type)));
  }
}

nlohmann::json read_value(Cursor& c, uint32_t type, const fs::path& file, const std::string& key,
                          std::string& type_name, int depth) {
  if (type != kArray) {
    type_name = value_type_name(type);
    return read_scalar(c, type, file, key);
  }
  if (depth > 8) throw CheckpointError(truncated(file, "metadata key '" + key + "' nests arrays too deeply"));
  const uint32_t elem = c.read<uint32_t>("an array type");
  const uint64_t count = c.read<uint64_t>("an array length");
  // Every element takes at least one byte: a count beyond the file size is corruption, not a huge allocation.
  c.need(count, "array elements");
  nlohmann::json arr = nlohmann::json::array();
  arr.get_ref<nlohmann::json::array_t&>().reserve(count);
  std::string inner;
  for (uint64_t i = 0; i < count; ++i) arr.push_back(read_value(c, elem, file, key, inner, depth + 1));
  if (count == 0) inner = value_type_name(elem);
  type_name = "array[" + inner + "]";
  return arr;
}

}  // namespace

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string ggml_type_name(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q5_0: return "Q5_0";
    case GgmlType::Q5_1: return "Q5_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q8_1: return "Q8_1";
    case GgmlType::Q2_K: return "Q2_K";
    case GgmlType::Q3_K: return "Q3_K";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q5_K: return "Q5_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::Q8_K: return "Q8_K";
    case GgmlType::I8: return "I8";
    case GgmlType::I16: return "I16";
    case GgmlType::I32: return "I32";
    case GgmlType::I64: return "I64";
    case GgmlType::F64: return "F64";
    case GgmlType::BF16: return "BF16";
  }
  return "type" + std::to_string(type);
}

struct GgufFile::State {
  fs::path path;
  const uint8_t* map = nullptr;
  size_t size = 0;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;
  nlohmann::json metadata = nlohmann::json::object();
  std::map<std::string, std::string> types;
  std::vector<GgufTensorInfo> tensors;
  std::map<std::string, size_t> by_name;
  ~State();
};

GgufFile::State::~State() {
  if (map) ::munmap(const_cast<uint8_t*>(map), size);
}

GgufFile GgufFile::open(const fs::path& path) {
  auto st = std::make_shared<State>();
  st->path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open GGUF file " + path.string() + ": " + std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    ::close(fd);
    throw IoError("cannot stat " + path.string() + ": " + std::strerror(errno));
  }
  st->size = static_cast<size_t>(sb.st_size);
  if (st->size > 0) {
    void* p = ::mmap(nullptr, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw IoError("cannot mmap " + path.string() + ": " + std::strerror(errno));
    }
    st->map = static_cast<const uint8_t*>(p);
  }
  ::close(fd);

  Cursor c(st->map, st->size, path);
  if (st->size < 4 || std::memcmp(st->map, "GGUF", 4) != 0)
    throw CheckpointError("GGUF file " + path.string() +
                          ": bad magic (expected \"GGUF\"); this is not a GGUF model file, or it is corrupt");
  c.read<uint32_t>("the magic");
  st->version = c.read<uint32_t>("the version");
  if (st->version != 2 && st->version != 3)
    throw CheckpointError("GGUF file " + path.string() + ": version " + std::to_string(st->version) +
                          " is not supported (r1kit reads GGUF v2 and v3); re-convert it with a recent llama.cpp");
  const uint64_t n_tensors = c.read<uint64_t>("the tensor count");
  const uint64_t n_kv = c.read<uint64_t>("the metadata count");
  c.need(n_kv, "metadata");  // each entry needs more than one byte
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str("a metadata key");
    const uint32_t type = c.read<uint32_t>("a metadata type");
    std::string type_name;
    st->metadata[key] = read_value(c, type, path, key, type_name, 0);
    st->types[key] = type_name;
  }
  if (st->metadata.contains("general.alignment")) {
    const auto& a = st->metadata["general.alignment"];
    if (!a.is_number_unsigned() || a.get<uint64_t>() == 0 || (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) != 0)
      throw CheckpointError(truncated(path, "general.alignment " + a.dump() + " is not a power of two"));
    st->alignment = a.get<uint64_t>();
  }
  c.need(n_tensors, "the tensor directory");
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.str("a tensor name");
    const uint32_t n_dims = c.read<uint32_t>("a tensor rank");
    if (n_dims == 0 || n_dims > 4)
      throw CheckpointError(truncated(path, "tensor '" + t.name + "' has rank " + std::to_string(n_dims)));
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>("a tensor dimension");
      if (dim > (uint64_t{1} << 40))
        throw CheckpointError(truncated(path, "tensor '" + t.name + "' has dimension " + std::to_string(dim)));
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.shape.assign(t.dims.rbegin(), t.dims.rend());
    t.type = c.read<uint32_t>("a tensor type");
    t.offset = c.read<uint64_t>("a tensor offset");
    if (st->by_name.count(t.name)) throw CheckpointError(truncated(path, "tensor '" + t.name + "' appears twice"));
    st->by_name[t.name] = st->tensors.size();
    st->tensors.push_back(std::move(t));
  }
  st->data_offset = (c.pos() + st->alignment - 1) / st->alignment * st->alignment;
  const uint64_t data_size = st->size >= st->data_offset ? st->size - st->data_offset : 0;
  for (auto& t : st->tensors) {
    const auto b = ggml_block_geometry(t.type);
    if (!b) continue;  // unknown type: only an error if someone asks for this tensor
    if (t.dims[0] % b->elements != 0)
      throw CheckpointError("GGUF file " + path.string() + ": tensor '" + t.name + "' of type " +
                            ggml_type_name(t.type) + " has row length " + std::to_string(t.dims[0]) +
                            ", not a multiple of its block size " + std::to_string(b->elements));
    t.nbytes = static_cast<uint64_t>(t.numel() / b->elements * b->bytes);
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      throw CheckpointError(truncated(path, "tensor '" + t.name + "' (" + std::to_string(t.nbytes) +
                                                " bytes at data offset " + std::to_string(t.offset) +
                                                ") lies past the end of the file"));
  }
  GgufFile f;
  f.state_ = std::move(st);
  return f;
}

const fs::path& GgufFile::path() const { return state_->path; }
uint32_t GgufFile::version() const { return state_->version; }
const nlohmann::json& GgufFile::metadata() const { return state_->metadata; }
bool GgufFile::has(const std::string& key) const { return state_->metadata.contains(key); }
uint64_t GgufFile::alignment() const { return state_->alignment; }
uint64_t GgufFile::data_offset() const { return state_->data_offset; }
const std::vector<GgufTensorInfo>& GgufFile::tensors() const { return state_->tensors; }
bool GgufFile::contains(const std::string& name) const { return state_->by_name.count(name) != 0; }
const uint8_t* GgufFile::raw(const GgufTensorInfo& info) const {
  return state_->map + state_->data_offset + info.offset;
}

const std::string& GgufFile::metadata_type(const std::string& key) const {
  auto it = state_->types.find(key);
  if (it == state_->types.end())
    throw CheckpointError("GGUF file " + path().string() + " has no metadata key '" + key + "'");
  return it->second;
}

namespace {
const nlohmann::json& lookup(const GgufFile& f, const std::string& key) {
  if (!f.has(key))
    throw CheckpointError("GGUF file " + f.path().string() + " has no metadata key '" + key +
                          "'; the file was not written for this architecture or is incomplete");
  return f.metadata()[key];
}
[[noreturn]] void wrong_kind(const GgufFile& f, const std::string& key, const char* want) {
  throw CheckpointError("GGUF file " + f.path().string() + ": metadata key '" + key + "' is " +
                        f.metadata_type(key) + ", expected " + want);
}
}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const auto& v = lookup(*this, key);
  if (!v.is_string()) wrong_kind(*this, key, "a string");
  return v.get<std::string>();
}

int64_t GgufFile::get_int(const std::string& key) const {
  const auto& v = lookup(*this, key);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) wrong_kind(*this, key, "an integer below 2^63");
    return static_cast<int64_t>(u);
  }
  if (!v.is_number_integer()) wrong_kind(*this, key, "an integer");
  return v.get<int64_t>();
}

double GgufFile::get_float(const std::string& key) const {
  const auto& v = lookup(*this, key);
  if (!v.is_number()) wrong_kind(*this, key, "a number");
  return v.get<double>();
}

bool GgufFile::get_bool(const std::string& key) const {
  const auto& v = lookup(*this, key);
  if (!v.is_boolean()) wrong_kind(*this, key, "a bool");
  return v.get<bool>();
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  auto it = state_->by_name.find(name);
  if (it == state_->by_name.end())
    throw CheckpointError("GGUF file " + path().string() + " has no tensor '" + name + "'");
  return state_->tensors[it->second];
}

torch::Tensor GgufFile::dequantize(const std::string& name) const {
  const GgufTensorInfo& t = tensor(name);
  const GgmlBlock b = ggml_block(t.type, t.name);  // throws for unsupported types
  auto out = torch::empty(t.shape, torch::kFloat32);
  ggml_dequantize(t.type, raw(t), t.numel() / b.elements, out.data_ptr<float>(), t.name);
  return out;
}

}  // namespace r1kit::model
