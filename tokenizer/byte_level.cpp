#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace r1kit::tokenizer::byte_level {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 0x144> to_byte{};  // every alphabet character is < U+0144
  Tables() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? char32_t(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) { return tables().to_char[byte]; }

int byte_of_char(char32_t c) { return c < 0x144 ? tables().to_byte[c] : -1; }

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) utf8::append(out, byte_to_char(static_cast<uint8_t>(ch)));
  return out;
}

std::optional<std::string> decode(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  const std::string_view valid = token.substr(0, utf8::valid_prefix_length(token));
  if (valid.size() != token.size()) return std::nullopt;
  for (size_t i = 0; i < token.size();) {
    char32_t c;
    i += utf8::decode(token, i, c);
    const int b = byte_of_char(c);
    if (b < 0) return std::nullopt;
    out.push_back(static_cast<char>(b));
  }
  return out;
}

}  // namespace r1kit::tokenizer::byte_level
