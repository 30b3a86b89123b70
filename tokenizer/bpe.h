// The BPE model of tokenizer.json ("model": {"type": "BPE"}), byte-level: a piece of raw bytes starts as one
// symbol per byte (its byte-level character's id) and the lowest-ranked adjacent merge is applied, leftmost
// first, until none applies — Hugging Face `tokenizers` models/bpe (word.rs merge_all), implemented with a
// merge-rank hash map, a doubly linked symbol list and a priority queue, plus a bounded thread-safe word cache.
// Supported fields: vocab, merges ("a b" strings or ["a", "b"] pairs), ignore_merges, unk_token, fuse_unk,
// dropout null/0, byte_fallback false, continuing_subword_prefix / end_of_word_suffix null or "".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1kit::tokenizer {

class WordCache;

class BpeModel {
 public:
  /// `model` is tokenizer.json's "model" object; `where` e.g. "/m/tokenizer.json: $.model". Throws ConfigError
  /// on an unsupported type/field, a malformed merge, or a merge whose result is not in the vocabulary.
  static BpeModel from_json(const nlohmann::json& model, const std::string& where);

  /// Appends the ids of one pre-tokenized piece given as raw bytes (before the byte-level mapping). Bytes whose
  /// character is missing from the vocabulary become unk_token, or are dropped when there is none (as HF).
  /// Thread-safe.
  void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const;

  /// Model vocabulary lookups (no added tokens): id or -1; token string (byte-level form) or nullptr.
  int32_t token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;
  size_t size() const { return vocab_.size(); }

 private:
  void merge_word(std::string_view bytes, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;   // byte-level token -> id
  std::vector<std::string> tokens_;                  // id -> byte-level token ("" for holes)
  std::vector<uint8_t> has_id_;                      // id -> present
  std::unordered_map<std::string, int32_t> raw_vocab_;  // raw bytes -> id (for ignore_merges)
  int32_t byte_id_[256];                              // id of each byte's character, -1 if absent
  struct MergeTable;
  std::shared_ptr<const MergeTable> merges_;
  std::shared_ptr<WordCache> cache_;
  bool ignore_merges_ = false;
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
};

}  // namespace r1kit::tokenizer
