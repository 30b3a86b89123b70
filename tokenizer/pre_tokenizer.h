// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): they cut normalized text into pieces that BPE encodes
// independently. Supported, with Hugging Face `tokenizers` semantics (pre_tokenizers/*.rs, SplitDelimiterBehavior):
//   Split {pattern: {Regex|String}, behavior: Removed|Isolated|MergedWithPrevious|MergedWithNext|Contiguous, invert}
//   Digits {individual_digits}            (digits = Rust char::is_numeric: Nd, Nl, No)
//   ByteLevel {add_prefix_space, use_regex (GPT-2 regex)}   — must be the last step; it marks the model byte-level
//   Sequence {pretokenizers: [...]}
// Anything else (Metaspace, Whitespace, BertPreTokenizer, Punctuation, ...) is a ConfigError naming the JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/split_regex.h"

namespace r1kit::tokenizer {

/// How a Split step treats the matched delimiters (HF SplitDelimiterBehavior).
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

class PreTokenizer {
 public:
  /// `j` is the "pre_tokenizer" value; `where` e.g. "/m/tokenizer.json: $.pre_tokenizer". Throws ConfigError on an
  /// unsupported type, a bad field, or when the chain does not end with ByteLevel (r1kit is byte-level BPE only).
  static PreTokenizer from_json(const nlohmann::json& j, const std::string& where);

  /// Cuts valid UTF-8 `text` into non-empty pieces (raw bytes, before the byte-level mapping), appended to
  /// `pieces`. A piece views `text` or a string owned by `arena` (a prefix space may be added). Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& pieces, std::deque<std::string>& arena) const;

 private:
  enum class Kind { split_regex, split_string, digits, byte_level };
  struct Step {
    Kind kind = Kind::split_regex;
    std::shared_ptr<const SplitRegex> regex;  // split_regex, or byte_level with use_regex
    std::string literal;                      // split_string
    SplitBehavior behavior = SplitBehavior::isolated;
    bool invert = false;
    bool individual_digits = false;
    bool add_prefix_space = false;
  };
  void add(const nlohmann::json& j, const std::string& where);
  void apply(const Step& step, std::string_view piece, std::vector<std::string_view>& out,
             std::deque<std::string>& arena) const;
  std::vector<Step> steps_;
};

}  // namespace r1kit::tokenizer
