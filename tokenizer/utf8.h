// UTF-8 helpers for the tokenizer: decoding, validation with U+FFFD replacement, and the Unicode character
// predicates Hugging Face `tokenizers` uses (White_Space, Rust's char::is_numeric, regex \w).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace r1kit::tokenizer::utf8 {

/// Decodes the code point starting at s[i] of VALID UTF-8 and returns its length in bytes (1..4).
inline size_t decode(std::string_view s, size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 < 0xE0) {
    cp = (char32_t(b0 & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    return 2;
  }
  if (b0 < 0xF0) {
    cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
         (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    return 3;
  }
  cp = (char32_t(b0 & 0x07) << 18) | (char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 12) |
       (char32_t(static_cast<unsigned char>(s[i + 2]) & 0x3F) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3F);
  return 4;
}

/// Length in bytes of the code point that ends at s[end-1] (valid UTF-8, end > 0).
inline size_t last_char_length(std::string_view s, size_t end) {
  size_t n = 1;
  while (n < 4 && n < end && (static_cast<unsigned char>(s[end - n]) & 0xC0) == 0x80) ++n;
  return n;
}

/// Appends the UTF-8 encoding of `cp`.
void append(std::string& out, char32_t cp);

/// Length of the longest valid UTF-8 prefix of `s` (== s.size() when all of it is valid).
size_t valid_prefix_length(std::string_view s);

/// Replaces every ill-formed subsequence by U+FFFD, one per "maximal subpart" (Unicode §3.9, table 3-8) — the
/// same result as Python's bytes.decode("utf-8", errors="replace") and Rust's String::from_utf8_lossy.
std::string replace_invalid(std::string_view s);

/// Unicode White_Space (= Oniguruma's \s with UTF-8, Rust's char::is_whitespace).
bool is_whitespace(char32_t cp);

/// Rust's char::is_numeric: general category Nd, Nl or No (used by the Digits pre-tokenizer).
bool is_numeric(char32_t cp);

/// Rust regex's Unicode \w (alphabetic, marks, Nd, Pc, join controls), used by AddedToken::single_word.
bool is_word_char(char32_t cp);

}  // namespace r1kit::tokenizer::utf8
