// The GPT-2 byte-level alphabet: every byte 0..255 is shown as one printable Unicode character, so a BPE
// vocabulary over those characters covers any byte string. Source: openai/gpt-2 encoder.py bytes_to_unicode,
// as used by Hugging Face `tokenizers` (pre_tokenizers/byte_level.rs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace r1kit::tokenizer::byte_level {

/// The character that stands for `byte` (printable ASCII and most of Latin-1 map to themselves, the rest to
/// U+0100..U+0143 in order; e.g. ' ' -> U+0120 'Ġ', '\n' -> U+010A 'Ċ').
char32_t byte_to_char(uint8_t byte);

/// The byte that `c` stands for, or -1 if `c` is not in the byte-level alphabet.
int byte_of_char(char32_t c);

/// Maps raw bytes to their byte-level string (UTF-8): "Hi there" -> "HiĠthere".
std::string encode(std::string_view bytes);

/// Maps a byte-level token back to raw bytes, or nullopt if any character is outside the alphabet (HF's
/// ByteLevel decoder then uses the token's own UTF-8 bytes, e.g. for "<｜begin▁of▁sentence｜>").
std::optional<std::string> decode(std::string_view token);

/// The GPT-2 split regex HF's ByteLevel pre-tokenizer uses when use_regex is true.
inline constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace r1kit::tokenizer::byte_level
