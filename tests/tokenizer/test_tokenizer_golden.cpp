// Token ids must equal Hugging Face `tokenizers` 100 % on a corpus of GSM8K / MATH-500 / HumanEval / MBPP
// texts and hand-made hard cases, for DeepSeek-V3, Qwen3, Llama-3 and small synthetic tokenizers (SmolLM2 shape
// and pre-tokenizer variants). Golden values: scripts/fixtures_tokenizer.py -> tests/fixtures/tokenizer/.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace fs = std::filesystem;
using nlohmann::json;
using r1kit::tokenizer::Tokenizer;

namespace {

const fs::path kFixtures = fs::path(R1KIT_FIXTURES_DIR) / "tokenizer";
const fs::path kShared = fs::path(R1KIT_SOURCE_DIR) / ".." / "shared" / "data";

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

struct Corpus {
  std::vector<std::string> texts;  // inputs as given to encode (invalid UTF-8 kept raw)
  size_t hand_from = 0;            // index of the first hand-made case
};

// Rebuilds the corpus of scripts/fixtures_tokenizer.py: referenced records, hand cases, invalid byte strings.
const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus c;
    const json spec = json::parse(r1kit::read_file(kFixtures / "corpus.json"));
    for (const auto& src : spec["sources"]) {
      std::ifstream in(kShared / src["file"].get<std::string>());
      if (!in) throw std::runtime_error("cannot read " + (kShared / src["file"].get<std::string>()).string());
      std::string line;
      for (int i = 0; i < src["count"].get<int>() && std::getline(in, line); ++i) {
        const json rec = json::parse(line);
        std::string text;
        bool first = true;
        for (const auto& f : src["fields"]) {
          if (!first) text += src["separator"].get<std::string>();
          first = false;
          text += rec[f.get<std::string>()].get<std::string>();
        }
        c.texts.push_back(std::move(text));
      }
    }
    c.hand_from = c.texts.size();
    for (const auto& h : spec["hand"]) c.texts.push_back(h.get<std::string>());
    for (const auto& h : spec["invalid_utf8_hex"]) c.texts.push_back(unhex(h.get<std::string>()));
    return c;
  }();
  return c;
}

std::vector<std::vector<int32_t>> read_ids(const fs::path& path) {
  const std::string blob = r1kit::read_file(path);
  std::vector<std::vector<int32_t>> out;
  size_t pos = 0;
  auto next = [&] {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(blob.at(pos++));
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return static_cast<int32_t>(v);
    }
  };
  while (pos < blob.size()) {
    const int32_t n = next();
    std::vector<int32_t> ids(n);
    for (auto& x : ids) x = next();
    out.push_back(std::move(ids));
  }
  return out;
}

std::string show(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < 60; ++i) s += std::to_string(v[i]) + " ";
  return s + (v.size() > 60 ? "..." : "");
}

// Checks one tokenizer against its golden file; `texts` are the inputs in golden order.
void check(const Tokenizer& tok, const std::string& name, const std::vector<std::string>& texts, size_t hand_from) {
  const json meta = json::parse(r1kit::read_file(kFixtures / (name + ".json")));
  const auto expected = read_ids(kFixtures / (name + ".ids.bin"));
  ASSERT_EQ(expected.size(), texts.size()) << name << ": golden file and corpus disagree; rerun the fixture script";
  ASSERT_EQ(meta["num_texts"].get<size_t>(), texts.size());
  EXPECT_EQ(tok.vocab_size(), meta["vocab_size"].get<size_t>()) << name;
  const auto prefix = meta["prefix"].get<std::vector<int32_t>>();
  const auto suffix = meta["suffix"].get<std::vector<int32_t>>();
  size_t mismatches = 0, tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok.encode(texts[i], false);
    tokens += ids.size();
    if (ids != expected[i]) {
      if (++mismatches <= 5) {
        size_t k = 0;
        while (k < ids.size() && k < expected[i].size() && ids[k] == expected[i][k]) ++k;
        ADD_FAILURE() << name << " text " << i << ": ids differ from HF at position " << k << "\n  text: "
                      << texts[i].substr(0, 200) << "\n  ours: " << show(ids) << "\n  HF:   " << show(expected[i]);
      }
      continue;
    }
    std::vector<int32_t> with = prefix;
    with.insert(with.end(), expected[i].begin(), expected[i].end());
    with.insert(with.end(), suffix.begin(), suffix.end());
    EXPECT_EQ(tok.encode(texts[i], true), with) << name << " text " << i << " (add_special_tokens=true)";
    const std::string key = std::to_string(i);
    const std::string want = meta["decode_differs"].contains(key) ? meta["decode_differs"][key].get<std::string>()
                                                                   : r1kit::tokenizer::utf8::replace_invalid(texts[i]);
    EXPECT_EQ(tok.decode(expected[i]), want) << name << " text " << i << ": decode differs from HF";
    if (i >= hand_from) {
      EXPECT_EQ(tok.decode(expected[i], true), meta["decode_skip_special"][key].get<std::string>())
          << name << " text " << i << ": decode(skip_special_tokens=true) differs from HF";
    }
  }
  EXPECT_EQ(mismatches, 0u) << name << ": " << mismatches << " of " << texts.size() << " texts differ";
  EXPECT_GT(tokens, 0u);
}

bool have_shared_data() { return fs::exists(kShared / "tokenizers" / "qwen3" / "tokenizer.json"); }

class RealTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(RealTokenizer, IdsAndDecodeMatchHuggingFace) {
  if (!have_shared_data()) GTEST_SKIP() << "shared data not found at " << kShared;
  const Tokenizer tok = Tokenizer::from_dir(kShared / "tokenizers" / GetParam());
  check(tok, GetParam(), corpus().texts, corpus().hand_from);
}

INSTANTIATE_TEST_SUITE_P(Shared, RealTokenizer, ::testing::Values("deepseek_v3", "qwen3", "llama3"));

class SyntheticTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(SyntheticTokenizer, IdsAndDecodeMatchHuggingFace) {
  if (!have_shared_data()) GTEST_SKIP() << "shared data not found at " << kShared << " (the corpus lives there)";
  const Tokenizer tok = Tokenizer::from_dir(kFixtures / GetParam());
  std::vector<std::string> sub;
  for (size_t i = 0; i < corpus().texts.size(); ++i)
    if (i >= corpus().hand_from || i % 10 == 0) sub.push_back(corpus().texts[i]);
  const size_t hand_from = sub.size() - (corpus().texts.size() - corpus().hand_from);
  check(tok, GetParam(), sub, hand_from);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SyntheticTokenizer,
                         ::testing::Values("synthetic_smollm2", "synthetic_cl100k", "synthetic_o200k",
                                           "synthetic_behaviors", "synthetic_prefix"));

}  // namespace
