// Added and special tokens (tokenizer.json "added_tokens"): they are cut out of the text before normalization /
// pre-tokenization / BPE, and map straight to their id. Mirrors Hugging Face `tokenizers` AddedVocabulary:
// leftmost-longest matching over all contents; tokens with "normalized": false are matched in the raw text,
// those with "normalized": true in each normalized segment (their content normalized too); then
//   single_word: only when not touching a word character (Unicode \w) on either side;
//   lstrip / rstrip: the match absorbs the whitespace to its left / right.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::tokenizer {

struct AddedToken {
  std::string content;  // e.g. "<|im_start|>"
  int32_t id = -1;
  bool special = false;
  bool lstrip = false, rstrip = false, normalized = false, single_word = false;
};

/// One piece of a text after added-token extraction: either plain text (token < 0) or one added token.
struct Segment {
  size_t begin = 0, end = 0;  // byte range in the searched text
  int32_t token = -1;         // index into the token list given to AddedTokenMatcher, or -1 for plain text
};

/// Leftmost-longest matcher over a fixed set of token contents (a byte trie).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  /// `patterns[i]` is the string to find for tokens[indices[i]] (content, or normalized content).
  AddedTokenMatcher(const std::vector<AddedToken>& tokens, const std::vector<int32_t>& indices,
                    const std::vector<std::string>& patterns);

  bool empty() const { return nodes_.size() <= 1; }

  /// Cuts `text` into segments (HF AddedVocabulary::find_matches). Empty text gives no segments.
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // (byte, child node)
    int32_t token = -1;                             // token index ending here
  };
  int32_t child(int32_t node, uint8_t byte) const;
  const std::vector<AddedToken>* tokens_ = nullptr;
  std::vector<Node> nodes_{1};
  bool first_byte_[256] = {};
};

}  // namespace r1kit::tokenizer
