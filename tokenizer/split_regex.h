// A pre-tokenizer split regex written for Oniguruma (what Hugging Face `tokenizers` uses), run on RE2 with the
// same matches. RE2 has the Unicode classes but no lookaround, possessive quantifiers or atomic groups, so the
// pattern is translated:
//  - \s, \S, \d, \w (Unicode in Oniguruma, ASCII in RE2) become explicit Unicode classes: \s = White_Space.
//  - The top-level alternative `\s+(?!\S)` (GPT-2, Llama-3, Qwen, DeepSeek) is emulated exactly: it matches like
//    `\s+`, and when the run is followed by a non-space character it gives back its last whitespace character;
//    a single whitespace character followed by a non-space is left to the alternatives after it, as a
//    backtracking engine would. Any other lookaround is a ConfigError.
//  - Possessive quantifiers (`?+`, `*+`, `++`, `{n,m}+`) and atomic groups `(?>...)` become their plain forms.
//    This is exact when backtracking into them cannot produce a match (the tiktoken cl100k / o200k patterns:
//    the quantified class is disjoint from what follows); tests compare such patterns with HF.
//  - Capturing groups become non-capturing; named groups likewise; backreferences are a ConfigError.
//  - `^`/`$` are line anchors (Ruby syntax), (?m) is dot-all (Ruby) -> RE2's (?s).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace re2 {
class RE2;
}

namespace r1kit::tokenizer {

/// A byte range [first, second) in the searched text.
using ByteRange = std::pair<uint32_t, uint32_t>;

class SplitRegex {
 public:
  /// `where` names the pattern's location for errors, e.g. "tokenizer.json: $.pre_tokenizer.pattern.Regex".
  /// Throws ConfigError (naming `where`) on an unsupported construct or a pattern RE2 rejects.
  SplitRegex(std::string_view pattern, const std::string& where);
  ~SplitRegex();
  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;

  /// Appends the successive non-overlapping leftmost-first matches in `text` (valid UTF-8), as Oniguruma's
  /// find_iter gives them (an empty match is reported as an empty range). Thread-safe.
  void find_matches(std::string_view text, std::vector<ByteRange>& out) const;

  /// The RE2 pattern actually compiled (for debugging and tests).
  const std::string& translated() const { return translated_; }

 private:
  std::unique_ptr<re2::RE2> re_;        // all alternatives; the lookahead one (if any) is capture group 1
  std::unique_ptr<re2::RE2> fallback_;  // alternatives after the lookahead one (null if none)
  bool has_lookahead_ = false;
  std::string translated_;
};

}  // namespace r1kit::tokenizer
