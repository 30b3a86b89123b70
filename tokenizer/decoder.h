// Decoders of tokenizer.json ("decoder"): ByteLevel (token characters -> bytes, then UTF-8 with U+FFFD for
// invalid sequences, exactly HF's String::from_utf8_lossy), Sequence of ByteLevel, or null (HF then joins the
// token strings with a space). Hugging Face `tokenizers` decoders/byte_level.rs. Others are a ConfigError.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace r1kit::tokenizer {

class Decoder {
 public:
  /// `where` e.g. "/m/tokenizer.json: $.decoder".
  static Decoder from_json(const nlohmann::json& j, const std::string& where);

  /// Joins the token strings (vocabulary form, e.g. "ĠHello") into text.
  std::string decode(const std::vector<std::string_view>& tokens) const;

 private:
  void add(const nlohmann::json& j, const std::string& where);
  bool byte_level_ = false;
};

}  // namespace r1kit::tokenizer
