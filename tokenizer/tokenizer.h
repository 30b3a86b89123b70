// r1kit::tokenizer::Tokenizer — byte-level BPE loaded from a Hugging Face `tokenizer.json` (+ optional
// `tokenizer_config.json`), giving token ids identical to Hugging Face `tokenizers` (checked in the tests on
// GSM8K / MATH / HumanEval / MBPP text and hand-made hard cases for DeepSeek-V3, Qwen3 and Llama-3).
//
// Pipeline of encode() (as HF TokenizerImpl::encode_single_sequence):
//   1. invalid UTF-8 is replaced by U+FFFD (one per maximal ill-formed subpart) — the ids equal HF's for the
//      Python str `data.decode("utf-8", errors="replace")`; raw bytes of invalid input do not round-trip;
//   2. added tokens with "normalized": false are cut out of the raw text (leftmost-longest);
//   3. each remaining segment is normalized (NFC, ...), then added tokens with "normalized": true are cut out;
//   4. the pre-tokenizer splits the rest into pieces, each is byte-level BPE encoded;
//   5. with add_special_tokens, the post-processor's template ids are added (e.g. Llama-3's BOS when its
//      tokenizer.json has a TemplateProcessing; note that tokenizer_config.json's add_bos_token is NOT applied,
//      matching `tokenizers` and transformers' TokenizersBackend).
// decode(encode(x, false)) == x for valid UTF-8 x when the normalizer is null (an NFC normalizer, as Qwen's,
// returns the NFC form of x).
// tokenizer.json "truncation" / "padding" are ignored (as transformers does when no truncation is requested).
// Every unsupported component is a ConfigError naming the file and JSON path, e.g.
//   ".../tokenizer.json: $.pre_tokenizer.pretokenizers[1].type: unsupported "Metaspace" (...)".
// Thread-safety: all const methods may be called concurrently; copies share the immutable state.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::tokenizer {

class Tokenizer {
 public:
  /// Loads dir/tokenizer.json and, when present, dir/tokenizer_config.json.
  /// Throws IoError if tokenizer.json is missing/unreadable, ConfigError on malformed or unsupported content.
  static Tokenizer from_dir(const std::filesystem::path& dir);

  /// Loads `tokenizer_json`; `config_path` (tokenizer_config.json) is optional — empty path = none.
  /// Throws IoError for a missing file (either one when given), ConfigError as from_dir.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json, const std::filesystem::path& config_path = {});

  /// Token ids of UTF-8 `text` (see the pipeline above). Never throws on any input bytes.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;

  /// encode() of every text, in parallel over hardware threads; result[i] = encode(texts[i]).
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                 bool add_special_tokens = true) const;

  /// Text of `ids` through the decoder (ByteLevel: bytes -> UTF-8, invalid sequences -> U+FFFD, as HF).
  /// Ids that are neither in the vocabulary nor added tokens are skipped (as HF); with skip_special_tokens, the
  /// special added tokens are left out.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  /// Id of a token string in vocabulary form (added tokens first, then the BPE vocabulary, e.g. "ĠHello"),
  /// or -1 if there is none.
  int32_t token_to_id(std::string_view token) const;

  /// Token string of `id` in vocabulary form (e.g. "ĠHello", "<|im_start|>"), or "" for an unknown id.
  std::string id_to_token(int32_t id) const;

  /// Number of distinct tokens including added ones (HF get_vocab_size(with_added_tokens=True)).
  size_t vocab_size() const;

  /// Special-token ids from tokenizer_config.json's bos_token / eos_token / pad_token (a string or an
  /// {"content": ...} object); nullopt if absent or null. Checked at load: a token missing from the vocabulary is
  /// a ConfigError.
  std::optional<int32_t> bos_token_id() const;
  std::optional<int32_t> eos_token_id() const;
  std::optional<int32_t> pad_token_id() const;
  /// Their strings ("" if absent).
  std::string bos_token() const;
  std::string eos_token() const;

  /// tokenizer_config.json as loaded (empty object if absent), e.g. for config()["chat_template"].
  const nlohmann::json& config() const;

  /// True if `id` is an added token marked "special": true (these are dropped by skip_special_tokens).
  bool is_special(int32_t id) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace r1kit::tokenizer
