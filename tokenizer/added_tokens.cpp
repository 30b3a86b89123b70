#include "tokenizer/added_tokens.h"

#include "tokenizer/utf8.h"

namespace r1kit::tokenizer {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens, const std::vector<int32_t>& indices,
                                     const std::vector<std::string>& patterns)
    : tokens_(&tokens) {
  for (size_t k = 0; k < indices.size(); ++k) {
    const std::string& p = patterns[k];
    if (p.empty()) continue;
    first_byte_[static_cast<uint8_t>(p[0])] = true;
    int32_t node = 0;
    for (const char ch : p) {
      int32_t c = child(node, static_cast<uint8_t>(ch));
      if (c < 0) {
        c = static_cast<int32_t>(nodes_.size());
        nodes_[node].next.emplace_back(static_cast<uint8_t>(ch), c);
        nodes_.emplace_back();
      }
      node = c;
    }
    if (nodes_[node].token < 0) nodes_[node].token = indices[k];  // first of duplicate contents wins
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  for (const auto& [b, c] : nodes_[node].next)
    if (b == byte) return c;
  return -1;
}

namespace {

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  char32_t c;
  utf8::decode(s, s.size() - utf8::last_char_length(s, s.size()), c);
  return utf8::is_word_char(c);
}

bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  char32_t c;
  utf8::decode(s, 0, c);
  return utf8::is_word_char(c);
}

// Byte offset where the trailing whitespace of `s` starts.
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    const size_t n = utf8::last_char_length(s, end);
    char32_t c;
    utf8::decode(s, end - n, c);
    if (!utf8::is_whitespace(c)) break;
    end -= n;
  }
  return end;
}

// Byte length of the leading whitespace of `s`.
size_t leading_space_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t c;
    const size_t n = utf8::decode(s, i, c);
    if (!utf8::is_whitespace(c)) break;
    i += n;
  }
  return i;
}

}  // namespace

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  if (text.empty()) return;
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    // Longest pattern starting at pos.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      node = child(node, static_cast<uint8_t>(text[i]));
      if (node < 0) break;
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = i + 1;
      }
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = (*tokens_)[best];
    size_t start = pos, stop = best_end;
    pos = best_end;  // the automaton resumes after the raw match, as aho-corasick's find_iter does
    if (tok.single_word) {
      const bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
      const bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (tok.rstrip) stop += leading_space_length(text.substr(stop));
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, best});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
}

}  // namespace r1kit::tokenizer
