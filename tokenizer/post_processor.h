// Post-processors of tokenizer.json ("post_processor"), applied by encode(..., add_special_tokens=true) to a
// single sequence: TemplateProcessing (ids before / after "$A", e.g. Llama-3's BOS), ByteLevel (offsets only: no
// change to ids), Sequence of those, or null. Hugging Face `tokenizers` processors/template.rs. Others
// (BertProcessing, RobertaProcessing, ...) are a ConfigError naming the JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1kit::tokenizer {

class PostProcessor {
 public:
  /// `where` e.g. "/m/tokenizer.json: $.post_processor".
  static PostProcessor from_json(const nlohmann::json& j, const std::string& where);

  /// Ids added before / after the sequence when special tokens are requested.
  const std::vector<int32_t>& prefix() const { return prefix_; }
  const std::vector<int32_t>& suffix() const { return suffix_; }

 private:
  void add(const nlohmann::json& j, const std::string& where);
  std::vector<int32_t> prefix_, suffix_;
};

}  // namespace r1kit::tokenizer
