// The SmolLM2 tokenizer rebuilt from its GGUF by `r1kit convert gguf` (models/smollm2-135m-instruct, made by
// `make models`): r1kit's ids equal Hugging Face `tokenizers` on the same file (scripts/fixtures_smollm2_tokenizer.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::tokenizer {
namespace {

TEST(SmolLM2Tokenizer, IdsEqualHuggingFaceOnTheConvertedFile) {
  const auto dir = std::filesystem::path(R1KIT_SOURCE_DIR) / "models" / "smollm2-135m-instruct";
  if (!std::filesystem::exists(dir / "tokenizer.json"))
    GTEST_SKIP() << "SmolLM2 not converted at " << dir << ": run `make models` (`make test` does it)";
  const auto golden = nlohmann::json::parse(read_file(std::filesystem::path(R1KIT_FIXTURES_DIR) / "tokenizer" /
                                                      "smollm2_converted.json"));
  const auto tok = Tokenizer::from_dir(dir);
  EXPECT_EQ(tok.vocab_size(), golden.at("vocab_size").get<size_t>());
  size_t mismatches = 0, n = 0;
  for (const auto& c : golden.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const auto ids = tok.encode(text, false);
    const auto want = c.at("ids").get<std::vector<int32_t>>();
    const auto ids_special = tok.encode(text, true);
    if (ids != want || ids_special != c.at("ids_special").get<std::vector<int32_t>>()) {
      if (++mismatches <= 5) ADD_FAILURE() << "ids differ for: " << text.substr(0, 80);
    }
    EXPECT_EQ(tok.decode(ids), text);
    ++n;
  }
  EXPECT_EQ(mismatches, 0u) << "of " << n << " texts";
}

}  // namespace
}  // namespace r1kit::tokenizer
