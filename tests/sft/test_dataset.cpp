// SFT data: loss masks against transformers / TRL for each data shape, non-chat templates, malformed records,
// length limits.
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "sft/dataset.h"
#include "sft_test_util.h"
#include "tokenizer/prompt_template.h"

namespace r1kit::sft {
namespace {
namespace fs = std::filesystem;
using testing::TinySftSetup;

SFTConfig config_for(const TinySftSetup& s, const std::string& tmpl) {
  auto j = s.config("unused", s.root / "none.jsonl");
  j["data"]["template"] = tmpl;
  return SFTConfig::from_json(j, "test");
}

TEST(SftLossMask, ChatShapesMatchTransformersAndTrl) {
  TinySftSetup s("mask");
  auto fixture = load_json_file(fs::path(R1KIT_FIXTURES_DIR) / "sft" / "masks.json");
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  auto cfg = config_for(s, "chat");
  ExampleRenderer renderer(cfg, tok, (s.root / "model" / "tokenizer_config.json").string());
  ASSERT_EQ(fixture["cases"].size(), 4u);
  for (const auto& c : fixture["cases"]) {
    const auto name = c["name"].get<std::string>();
    auto ex = renderer.render(c["record"], "masks.json", 1);
    EXPECT_EQ(ex.ids, c["ids"].get<std::vector<int64_t>>()) << name;
    std::vector<int64_t> mask(ex.loss_mask.begin(), ex.loss_mask.end());
    EXPECT_EQ(mask, c["mask"].get<std::vector<int64_t>>()) << name << " (TRL completion mask)";
    EXPECT_EQ(mask, c["hf_assistant_mask_last_turn"].get<std::vector<int64_t>>()) << name << " ({% generation %})";
    // The closing end-of-turn token is trained.
    EXPECT_EQ(ex.loss_mask.back(), 1) << name;
    EXPECT_EQ(tok.id_to_token(static_cast<int32_t>(ex.ids[ex.ids.size() - 2])), "<|im_end|>") << name;
  }
}

TEST(SftLossMask, PromptTemplatesTrainOnCompletionPlusEos) {
  TinySftSetup s("tmpl");
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  const nlohmann::json rec = {{"prompt", "What is 6 times 7?"}, {"completion", " <think> 6*7=42 </think> 42"}};
  for (const std::string name : {"r1_zero", "r1_zero_think", "qwen_math", "none"}) {
    auto cfg = config_for(s, name);
    ExampleRenderer renderer(cfg, tok, "cfg");
    auto ex = renderer.render(rec, "x.jsonl", 1);
    auto prompt = tok.encode(tokenizer::render_prompt(name, "What is 6 times 7?"), false);
    ASSERT_EQ(ex.prompt_tokens, static_cast<int64_t>(prompt.size())) << name;
    for (size_t i = 0; i < prompt.size(); ++i) {
      EXPECT_EQ(ex.ids[i], prompt[i]) << name;
      EXPECT_EQ(ex.loss_mask[i], 0) << name << " prompt token " << i;
    }
    std::vector<int32_t> target(ex.ids.begin() + ex.prompt_tokens, ex.ids.end());
    for (size_t i = prompt.size(); i < ex.ids.size(); ++i) EXPECT_EQ(ex.loss_mask[i], 1) << name;
    EXPECT_EQ(tok.decode(target), " <think> 6*7=42 </think> 42<|im_end|>") << name;
    EXPECT_EQ(ex.ids.back(), *tok.eos_token_id()) << name;
  }
}

TEST(SftLossMask, CompletionOnlyLossFalseTrainsEveryTokenButTheFirst) {
  TinySftSetup s("full");
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  auto j = s.config("unused", s.root / "none.jsonl");
  j["completion_only_loss"] = false;
  auto cfg = SFTConfig::from_json(j, "test");
  ExampleRenderer renderer(cfg, tok, "cfg");
  auto ex = renderer.render({{"prompt", "hi"}, {"completion", "there"}}, "x", 1);
  EXPECT_EQ(ex.loss_mask[0], 0);
  for (size_t i = 1; i < ex.loss_mask.size(); ++i) EXPECT_EQ(ex.loss_mask[i], 1);
}

TEST(SftData, MalformedRecordIsAnErrorWithFileAndLineOrSkippedAndCounted) {
  TinySftSetup s("bad");
  write_file_atomic(s.root / "bad.jsonl",
                    "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": 5, \"completion\": \"b\"}\nnot json\n"
                    "{\"question\": \"q\"}\n{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, "
                    "{\"role\": \"user\", \"content\": \"y\"}]}\n");
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  auto cfg = SFTConfig::from_json(s.config("x", s.root / "bad.jsonl"), "test");
  ExampleRenderer renderer(cfg, tok, "cfg");
  DatasetStats st;
  try {
    load_examples(s.root / "bad.jsonl", 0, renderer, cfg, &st);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string what = e.what();
    std::printf("error text: %s\n", what.c_str());
    EXPECT_NE(what.find("bad.jsonl:2"), std::string::npos) << what;
    EXPECT_NE(what.find("\"prompt\""), std::string::npos) << what;
    EXPECT_NE(what.find("not a string"), std::string::npos) << what;
    EXPECT_NE(what.find("skip_invalid"), std::string::npos) << what;
  }
  cfg.data.skip_invalid = true;
  DatasetStats st2;
  auto ex = load_examples(s.root / "bad.jsonl", 0, renderer, cfg, &st2);
  EXPECT_EQ(ex.size(), 1u);
  EXPECT_EQ(st2.records, 5);
  EXPECT_EQ(st2.skipped_invalid, 4);
  EXPECT_EQ(st2.examples, 1);
}

TEST(SftData, LongExamplesAreTruncatedOrDroppedAndCounted) {
  TinySftSetup s("len");
  std::string text;  // completions of different lengths
  for (int i = 0; i < 6; ++i)
    text += nlohmann::json{{"prompt", "Add " + std::to_string(i) + " and 3."},
                           {"completion", std::string(static_cast<size_t>(4 + 6 * i), 'x') + " done"}}.dump() + "\n";
  write_file_atomic(s.root / "d.jsonl", text);
  const auto path = s.root / "d.jsonl";
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  auto j = s.config("x", path);
  auto cfg = SFTConfig::from_json(j, "test");
  ExampleRenderer renderer(cfg, tok, "cfg");
  DatasetStats full_st;
  auto full = load_examples(path, 0, renderer, cfg, &full_st);
  int64_t shortest = 1 << 30, longest = 0, min_prompt = 1 << 30;
  for (const auto& e : full) {
    shortest = std::min<int64_t>(shortest, e.ids.size());
    longest = std::max<int64_t>(longest, e.ids.size());
    min_prompt = std::min(min_prompt, e.prompt_tokens);
  }
  ASSERT_LT(min_prompt + 1, shortest);
  cfg.max_length = min_prompt + 1;  // every example is too long; one target token left after truncation
  DatasetStats t;
  auto cut = load_examples(path, 0, renderer, cfg, &t);
  EXPECT_EQ(t.truncated + t.dropped_too_long, 6);
  for (const auto& e : cut) EXPECT_EQ(static_cast<int64_t>(e.ids.size()), cfg.max_length);
  cfg.truncation = "drop";
  cfg.max_length = longest - 1;  // drops the longest one(s) only
  DatasetStats d;
  auto kept = load_examples(path, 0, renderer, cfg, &d);
  EXPECT_GE(d.dropped_too_long, 1);
  EXPECT_EQ(static_cast<int64_t>(kept.size()) + d.dropped_too_long, 6);
  EXPECT_EQ(d.truncated, 0);
}

TEST(SftConfig, UnknownKeyAndBadValuesAreConfigErrors) {
  TinySftSetup s("cfg");
  auto j = s.config("x", s.root / "d.jsonl");
  j["learning_rat"] = 1e-5;
  try {
    SFTConfig::from_json(j, "cfg.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'learning_rate'"), std::string::npos) << e.what();
  }
  auto k = s.config("x", s.root / "d.jsonl");
  k["data"]["template"] = "chatt";
  EXPECT_THROW(SFTConfig::from_json(k, "cfg.json"), ConfigError);
  auto l = s.config("x", s.root / "d.jsonl");
  l["data"]["eval_fraction"] = 0.1;
  l["data"]["eval_file"] = "e.jsonl";
  EXPECT_THROW(SFTConfig::from_json(l, "cfg.json"), ConfigError);
}

}  // namespace
}  // namespace r1kit::sft
