// Text normalizers of tokenizer.json ("normalizer"): null, NFC, NFD, NFKC, NFKD and Sequence of those, via
// utf8proc. Matches Hugging Face `tokenizers` normalizers/unicode.rs (up to Unicode-version differences between
// utf8proc and Rust's unicode-normalization crate). Anything else is a ConfigError naming the JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace r1kit::tokenizer {

class Normalizer {
 public:
  enum class Form { nfc, nfd, nfkc, nfkd };

  /// `j` is the "normalizer" value (may be null); `where` is e.g. "/m/tokenizer.json: $.normalizer".
  static Normalizer from_json(const nlohmann::json& j, const std::string& where);

  /// True when normalize() returns its input unchanged for every input.
  bool is_identity() const { return forms_.empty(); }

  /// Normalizes valid UTF-8 `text`.
  std::string normalize(std::string_view text) const;

 private:
  void add(const nlohmann::json& j, const std::string& where);
  std::vector<Form> forms_;
};

}  // namespace r1kit::tokenizer
