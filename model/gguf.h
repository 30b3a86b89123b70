// GGUF reader (llama.cpp's single-file model format, versions 2 and 3): metadata key/values, tensor directory,
// and dequantisation of the tensor data to float32.
//
// Layout (ggml docs/gguf.md): "GGUF" magic, u32 version, u64 tensor count, u64 metadata count, then
// metadata [string key, u32 value type, value], then tensor infos [string name, u32 n_dims, u64 dims[n_dims],
// u32 ggml type, u64 offset], then padding to `general.alignment` (default 32), then the data section.
// All integers are little-endian; strings are u64 length + bytes (no terminator).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace r1kit::model {

namespace fs = std::filesystem;

/// ggml tensor types (values as stored in the file; ggml.h `enum ggml_type`).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};

/// Name of a ggml type ("Q4_K"); "type<N>" for a value r1kit does not know.
std::string ggml_type_name(uint32_t type);

/// One entry of the tensor directory.
struct GgufTensorInfo {
  std::string name;            // e.g. "blk.0.attn_q.weight"
  std::vector<int64_t> dims;   // GGUF order: dims[0] is the fastest-varying (row length)
  std::vector<int64_t> shape;  // PyTorch order: dims reversed
  uint32_t type = 0;           // GgmlType value
  uint64_t offset = 0;         // byte offset relative to the data section
  uint64_t nbytes = 0;         // bytes of stored (possibly quantised) data
  int64_t numel() const;
};

/// A GGUF file, memory-mapped read-only; the header is parsed and validated on open.
/// Metadata values become JSON: integers/floats/bools/strings as themselves, arrays as JSON arrays (nested arrays
/// allowed). metadata_type() tells the stored type ("uint32", "float32", "string", "array[string]", …).
class GgufFile {
 public:
  /// Opens and validates `path`. Throws IoError when unreadable; CheckpointError naming the file when the magic,
  /// version (2 or 3 accepted), metadata or tensor directory is malformed, or the data lies past the file end
  /// (truncated download).
  static GgufFile open(const fs::path& path);

  const fs::path& path() const;
  uint32_t version() const;
  /// All metadata as one JSON object keyed by GGUF key ("general.architecture", "tokenizer.ggml.tokens", …).
  const nlohmann::json& metadata() const;
  bool has(const std::string& key) const;
  /// Stored type of `key`, e.g. "uint32" or "array[string]". Throws CheckpointError if absent.
  const std::string& metadata_type(const std::string& key) const;
  /// Typed getters; throw CheckpointError naming the file and key when absent or of another kind.
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;  // any integer type
  double get_float(const std::string& key) const;  // any float or integer type
  bool get_bool(const std::string& key) const;
  /// `general.alignment` (default 32).
  uint64_t alignment() const;
  /// Byte offset of the data section in the file.
  uint64_t data_offset() const;

  /// The tensor directory in file order.
  const std::vector<GgufTensorInfo>& tensors() const;
  bool contains(const std::string& name) const;
  /// Throws CheckpointError if absent.
  const GgufTensorInfo& tensor(const std::string& name) const;
  /// The tensor's values as a float32 CPU tensor of shape info.shape (GGUF dims reversed).
  /// Supported types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K (block layouts of ggml-quants.c; values equal
  /// gguf-py's `gguf.quants.dequantize`). Other types throw CheckpointError naming the tensor and its type.
  torch::Tensor dequantize(const std::string& name) const;
  /// Raw stored bytes of the tensor (points into the mapping; valid while this GgufFile lives).
  const uint8_t* raw(const GgufTensorInfo& info) const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared so copies are cheap; the mapping lives as long as any copy
};

/// Block geometry of a ggml type: elements per block and bytes per block.
struct GgmlBlock {
  int64_t elements;
  int64_t bytes;
};
/// Geometry of any type r1kit knows (also ones it cannot dequantise, e.g. Q5_K); nullopt for an unknown type.
std::optional<GgmlBlock> ggml_block_geometry(uint32_t type);
/// Whether ggml_dequantize supports `type`: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K.
bool ggml_can_dequantize(uint32_t type);
/// Geometry of a type r1kit can dequantise. Throws CheckpointError naming `tensor` and the type otherwise.
GgmlBlock ggml_block(uint32_t type, const std::string& tensor);

/// Dequantises `n_blocks` consecutive blocks of `type` at `src` into `dst` (n_blocks * block.elements floats),
/// in parallel over blocks (at::parallel_for). Throws CheckpointError for an unsupported type.
void ggml_dequantize(uint32_t type, const uint8_t* src, int64_t n_blocks, float* dst, const std::string& tensor);

}  // namespace r1kit::model
