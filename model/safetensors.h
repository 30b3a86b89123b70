// Safetensors checkpoints: read (mmap, validated), write (atomic, byte-compatible with the Python `safetensors`
// writer) and sharded Hugging Face directories (`model.safetensors.index.json`).
//
// Format (https://github.com/huggingface/safetensors, README "Format"):
//   [u64 little-endian N][N bytes JSON header][data section]
//   header = {"__metadata__": {str: str}?, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}}
//   offsets are byte offsets into the data section; tensors are stored row-major, little-endian.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace r1kit::model {

namespace fs = std::filesystem;

/// One tensor entry of a safetensors header.
struct SafetensorsTensorInfo {
  std::string dtype;           // safetensors dtype string, e.g. "F32", "BF16", "I64", "BOOL"
  std::vector<int64_t> shape;  // row-major shape; empty for a scalar
  uint64_t begin = 0;          // byte offset of the first byte, relative to the data section
  uint64_t end = 0;            // one past the last byte; end - begin == numel * itemsize
};

/// The torch dtype of a safetensors dtype string ("F32" -> kFloat). Throws CheckpointError for an unsupported one.
torch::ScalarType safetensors_dtype_to_torch(const std::string& dtype);
/// The safetensors dtype string of a torch dtype. Throws InvalidArgument for an unsupported one (complex, uint16…).
std::string torch_dtype_to_safetensors(torch::ScalarType dtype);

/// One `.safetensors` file, memory-mapped read-only and fully validated on open.
/// Supported dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 (FP8 as stored).
/// Thread-safe for concurrent get() calls (read-only mapping).
class SafetensorsFile {
 public:
  /// Maps and validates `file`. Throws IoError if it cannot be opened, CheckpointError (naming the file, the
  /// tensor and the problem) if it is truncated or corrupt or uses an unsupported dtype.
  explicit SafetensorsFile(const fs::path& file);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const fs::path& path() const { return path_; }
  /// Tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  /// Header entry of `name`. Throws CheckpointError if absent.
  const SafetensorsTensorInfo& info(const std::string& name) const;
  /// A CPU tensor holding a COPY of the stored bytes, in the stored dtype and shape (valid after the file closes).
  /// Throws CheckpointError if `name` is absent.
  torch::Tensor get(const std::string& name) const;
  /// The `__metadata__` map (empty when the header has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  fs::path path_;
  const uint8_t* map_ = nullptr;  // whole file
  size_t map_size_ = 0;
  uint64_t data_start_ = 0;       // 8 + header length
  std::map<std::string, SafetensorsTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// A Hugging Face checkpoint: one safetensors file, or a directory holding `model.safetensors`, or a sharded
/// directory with `model.safetensors.index.json` whose `weight_map` names the shard of each tensor.
class CheckpointReader {
 public:
  /// Opens `dir_or_file`. Throws CheckpointError when the directory holds neither `model.safetensors` nor
  /// `model.safetensors.index.json`, when the index is malformed or names a missing shard, or when a shard lacks a
  /// tensor the index assigns to it; IoError/CheckpointError from SafetensorsFile for unreadable/corrupt files.
  static CheckpointReader open(const fs::path& dir_or_file);

  /// All tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  const SafetensorsTensorInfo& info(const std::string& name) const;
  /// CPU copy of `name` in its stored dtype. Throws CheckpointError naming the checkpoint if absent.
  torch::Tensor get(const std::string& name) const;
  /// The files this checkpoint reads (one, or every shard).
  std::vector<fs::path> files() const;

 private:
  fs::path root_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
  const SafetensorsFile& file_of(const std::string& name) const;
};

/// Named tensors to save, in the caller's order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// Writes `tensors` to `file` atomically (AtomicFileWriter) as safetensors. Tensors are copied to contiguous CPU
/// memory in their own dtype. The layout follows the Python `safetensors` writer (0.4+): entries ordered by dtype
/// alignment (largest first) then name, `__metadata__` first, compact JSON, header padded with spaces to a multiple
/// of 8 bytes — so the same tensors and one-key metadata give a byte-identical file.
/// Throws InvalidArgument on duplicate names, undefined tensors or unsupported dtypes; IoError on write failure.
void save_safetensors(const fs::path& file, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

/// Saves into directory `dir` (created if needed): `model.safetensors` when the total tensor bytes fit in
/// `max_shard_bytes`, else `model-0000k-of-0000n.safetensors` shards (filled greedily in the given order, a
/// tensor larger than the limit gets a shard of its own) plus `model.safetensors.index.json` with
/// `metadata.total_size` and `weight_map`, as transformers' `save_pretrained` writes them.
/// Returns the files written. Throws as save_safetensors.
std::vector<fs::path> save_safetensors_sharded(const fs::path& dir, const NamedTensors& tensors,
                                               uint64_t max_shard_bytes = 5ull << 30,
                                               const std::map<std::string, std::string>& metadata = {{"format",
                                                                                                       "pt"}});

}  // namespace r1kit::model
