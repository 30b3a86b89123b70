// Tokenizer API on the shared real tokenizers, round trips on random text, invalid UTF-8, the regex translation.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace fs = std::filesystem;
using r1kit::tokenizer::SplitRegex;
using r1kit::tokenizer::Tokenizer;
namespace utf8 = r1kit::tokenizer::utf8;

namespace {

const fs::path kTokenizers = fs::path(R1KIT_SOURCE_DIR) / ".." / "shared" / "data" / "tokenizers";

const Tokenizer& shared(const std::string& name) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, Tokenizer::from_dir(kTokenizers / name)).first;
  return it->second;
}

#define REQUIRE_SHARED() \
  if (!fs::exists(kTokenizers / "qwen3" / "tokenizer.json")) GTEST_SKIP() << "no shared tokenizers at " << kTokenizers

std::vector<std::string> split(const SplitRegex& re, std::string_view text) {
  std::vector<r1kit::tokenizer::ByteRange> m;
  re.find_matches(text, m);
  std::vector<std::string> out;
  for (const auto& [b, e] : m) out.emplace_back(text.substr(b, e - b));
  return out;
}

TEST(SplitRegexTest, LookaheadEmulation) {
  const SplitRegex re(r1kit::tokenizer::byte_level::kGpt2Regex, "test");
  using V = std::vector<std::string>;
  EXPECT_EQ(split(re, "a  b"), (V{"a", " ", " b"}));
  EXPECT_EQ(split(re, "a b"), (V{"a", " b"}));
  EXPECT_EQ(split(re, "a   "), (V{"a", "   "}));
  EXPECT_EQ(split(re, "a \n\tb"), (V{"a", " \n", "\t", "b"}));  // " ?" is a space, not a tab
  EXPECT_EQ(split(re, "x\u3000\u3000y"), (V{"x", "\u3000", "\u3000", "y"}));  // U+3000 is \s but not " ?"
  EXPECT_EQ(split(re, "I'M don't"), (V{"I", "'", "M", " don", "'t"}));          // GPT-2 regex is case-sensitive
  EXPECT_EQ(split(re, " !!  42"), (V{" !!", " ", " 42"}));
}

TEST(SplitRegexTest, LookaheadFallsThroughToLaterAlternatives) {
  // A lone space before a non-space: `\s+(?!\S)` fails there and the next alternative decides.
  const SplitRegex re(R"(\s+(?!\S)|x)", "test");
  using V = std::vector<std::string>;
  EXPECT_EQ(split(re, " a  b"), (V{" "}));
  const SplitRegex re2(R"(\s+(?!\S)| a)", "test");
  EXPECT_EQ(split(re2, " a  a"), (V{" a", " ", " a"}));
}

TEST(SplitRegexTest, TranslatesOnigurumaSyntax) {
  const SplitRegex re(R"((?i:'s|'t)|[^\r\n\p{L}\p{N}]?+\p{L}++|(\d)\d*|\w+)", "test");
  EXPECT_EQ(re.translated().find("++"), std::string::npos);
  using V = std::vector<std::string>;
  EXPECT_EQ(split(re, "DON'T ab1"), (V{"DON", "'T", " ab", "1"}));
  EXPECT_THROW(SplitRegex("(a)\\1", "t"), r1kit::ConfigError);
  EXPECT_THROW(SplitRegex("(?<=a)b", "t"), r1kit::ConfigError);
  EXPECT_THROW(SplitRegex("[a[b]]", "t"), r1kit::ConfigError);
}

TEST(Utf8Test, ReplaceInvalidUsesMaximalSubparts) {
  EXPECT_EQ(utf8::replace_invalid("a\xF0\x9F\x98" "b"), "a\uFFFD" "b");  // one U+FFFD for a truncated sequence
  EXPECT_EQ(utf8::replace_invalid("\xC0\xAF"), "\uFFFD\uFFFD");            // overlong: two bad bytes
  EXPECT_EQ(utf8::replace_invalid("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(utf8::replace_invalid("ok\u00e9"), "ok\u00e9");
}

TEST(ByteLevelTest, Alphabet) {
  EXPECT_EQ(r1kit::tokenizer::byte_level::encode(" \n!"), "ĠĊ!");
  EXPECT_EQ(r1kit::tokenizer::byte_level::decode("ĠĊ!").value(), " \n!");
  EXPECT_FALSE(r1kit::tokenizer::byte_level::decode("｜").has_value());
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(r1kit::tokenizer::byte_level::byte_of_char(r1kit::tokenizer::byte_level::byte_to_char(b)), b);
}

TEST(TokenizerApi, SpecialTokensFromConfig) {
  REQUIRE_SHARED();
  const Tokenizer& q = shared("qwen3");
  EXPECT_EQ(q.token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(q.id_to_token(151644), "<|im_start|>");
  EXPECT_TRUE(q.is_special(151644));
  EXPECT_FALSE(q.is_special(9707));
  EXPECT_EQ(q.eos_token_id(), 151645);
  EXPECT_EQ(q.eos_token(), "<|im_end|>");
  EXPECT_EQ(q.pad_token_id(), 151643);
  EXPECT_FALSE(q.bos_token_id().has_value());
  EXPECT_EQ(q.token_to_id("Hello"), 9707);
  EXPECT_EQ(q.token_to_id("not a token at all"), -1);
  EXPECT_EQ(q.id_to_token(-5), "");
  EXPECT_EQ(q.id_to_token(10'000'000), "");
  EXPECT_TRUE(q.config()["chat_template"].is_string());
  EXPECT_EQ(q.vocab_size(), 151669u);

  const Tokenizer& d = shared("deepseek_v3");
  EXPECT_EQ(d.bos_token_id(), 0);
  EXPECT_EQ(d.eos_token_id(), 1);
  EXPECT_EQ(d.bos_token(), "<｜begin▁of▁sentence｜>");
  const Tokenizer& l = shared("llama3");
  EXPECT_EQ(l.bos_token_id(), 128000);
  EXPECT_EQ(l.eos_token_id(), 128001);
  EXPECT_EQ(l.vocab_size(), 128256u);
}

TEST(TokenizerApi, EncodeBatchEqualsEncode) {
  REQUIRE_SHARED();
  const Tokenizer& t = shared("deepseek_v3");
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("item " + std::to_string(i * 7919) + " 中文 <｜User｜>x  y\n");
  texts.push_back("");
  const auto batch = t.encode_batch(texts, true);
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], t.encode(texts[i], true)) << i;
  EXPECT_TRUE(t.encode("", true).empty());
}

// Random valid UTF-8 over ASCII, Latin, CJK, emoji, combining marks and whitespace.
std::string random_text(std::mt19937& rng, size_t n) {
  static const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x400, 0x4FF}, {0x600, 0x6FF},
      {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0x1F300, 0x1F6FF}, {0xFF00, 0xFFEF}, {0x0, 0x1F}};
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const auto& [lo, hi] = ranges[rng() % ranges.size()];
    utf8::append(s, lo + rng() % (hi - lo + 1));
  }
  return s;
}

TEST(TokenizerApi, RoundTripRandomText) {
  REQUIRE_SHARED();
  std::mt19937 rng(1234);
  for (const char* name : {"deepseek_v3", "llama3"}) {  // identity normalizers
    const Tokenizer& t = shared(name);
    for (int i = 0; i < 300; ++i) {
      const std::string s = random_text(rng, 1 + rng() % 80);
      ASSERT_EQ(t.decode(t.encode(s, false)), s) << name << " case " << i;
    }
  }
}

TEST(TokenizerApi, InvalidUtf8NeverCrashesAndDecodesAsReplaced) {
  REQUIRE_SHARED();
  std::mt19937 rng(99);
  const Tokenizer& t = shared("llama3");
  for (int i = 0; i < 300; ++i) {
    std::string s(1 + rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    const auto ids = t.encode(s, false);
    EXPECT_EQ(t.decode(ids), utf8::replace_invalid(s)) << i;
  }
}

TEST(TokenizerApi, QwenNormalizesToNfc) {
  REQUIRE_SHARED();
  const Tokenizer& q = shared("qwen3");
  EXPECT_EQ(q.decode(q.encode("e\u0301", false)), "\u00e9");
  EXPECT_EQ(q.encode("e\u0301", false), q.encode("\u00e9", false));
}

}  // namespace
