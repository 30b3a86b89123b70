// Bad checkpoints and configs fail loudly, naming the tensor / key and the fix.
#include "core/atomic_file.h"
#include "core/error.h"
#include "model/causal_lm.h"
#include "model/safetensors.h"
#include "model_test_util.h"

namespace r1kit::model {
namespace {

using test::fixtures;

/// Copies the tiny_llama fixture into a temp dir, applying `edit` to its tensor list and `edit_config` to config.json.
std::filesystem::path broken_copy(test::TempDir& tmp,
                                  const std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)>& edit,
                                  const std::function<void(nlohmann::json&)>& edit_config = {}) {
  auto src = fixtures() / "models" / "tiny_llama";
  auto dst = tmp.path / "ckpt";
  std::filesystem::create_directories(dst);
  auto cfg = nlohmann::json::parse(read_file(src / "config.json"));
  if (edit_config) edit_config(cfg);
  write_file_atomic(dst / "config.json", cfg.dump(2));
  SafetensorsFile f(src / "model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& n : f.names()) tensors.emplace_back(n, f.get(n));
  edit(tensors);
  save_safetensors(dst / "model.safetensors", tensors);
  return dst;
}

template <class E>
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    FAIL() << "no exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

TEST(ModelErrors, MissingTensorIsNamed) {
  test::TempDir tmp("missing");
  auto dir = broken_copy(tmp, [](auto& t) {
    std::erase_if(t, [](auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; });
  });
  expect_error<CheckpointError>([&] { load_pretrained(dir); },
                                {"missing tensor model.layers.1.mlp.up_proj.weight", "[160, 64]"});
}

TEST(ModelErrors, ShapeMismatchIsNamed) {
  test::TempDir tmp("shape");
  auto dir = broken_copy(tmp, [](auto& t) {
    for (auto& p : t)
      if (p.first == "model.norm.weight") p.second = torch::ones({63});
  });
  expect_error<CheckpointError>([&] { load_pretrained(dir); }, {"model.norm.weight", "[63]", "[64]"});
}

TEST(ModelErrors, UnexpectedTensorIsAnError) {
  test::TempDir tmp("extra");
  auto dir = broken_copy(tmp, [](auto& t) { t.emplace_back("model.layers.9.foo.weight", torch::ones({2})); });
  expect_error<CheckpointError>([&] { load_pretrained(dir); }, {"unexpected tensors", "model.layers.9.foo.weight"});
}

TEST(ModelErrors, IgnorableExtraTensorsAreAccepted) {
  test::TempDir tmp("ignorable");
  auto dir = broken_copy(tmp, [](auto& t) {
    t.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({8}));
  });
  EXPECT_NO_THROW(load_pretrained(dir));
}

TEST(ModelErrors, UntiedWithoutHeadIsAnError) {
  test::TempDir tmp("nohead");
  auto dir = broken_copy(tmp, [](auto& t) { std::erase_if(t, [](auto& p) { return p.first == "lm_head.weight"; }); });
  expect_error<CheckpointError>([&] { load_pretrained(dir); }, {"lm_head.weight", "tie_word_embeddings"});
}

TEST(ModelErrors, TieDecidedByCheckpointWhenConfigIsSilent) {
  test::TempDir tmp("tie");
  auto dir = broken_copy(
      tmp, [](auto& t) { std::erase_if(t, [](auto& p) { return p.first == "lm_head.weight"; }); },
      [](nlohmann::json& c) { c.erase("tie_word_embeddings"); });
  auto m = load_pretrained(dir);
  EXPECT_TRUE(m->tied_embeddings());
}

TEST(ModelErrors, UnknownArchitecture) {
  nlohmann::json j = nlohmann::json::parse(read_file(fixtures() / "models" / "tiny_llama" / "config.json"));
  j["architectures"] = {"GPTNeoXForCausalLM"};
  j["model_type"] = "gpt_neox";
  expect_error<CheckpointError>([&] { ModelConfig::from_json(j, "x/config.json"); },
                                {"x/config.json", "GPTNeoXForCausalLM", "supported: LlamaForCausalLM"});
}

TEST(ModelErrors, MissingAndMistypedFields) {
  nlohmann::json j = nlohmann::json::parse(read_file(fixtures() / "models" / "tiny_llama" / "config.json"));
  auto k = j;
  k.erase("hidden_size");
  expect_error<CheckpointError>([&] { ModelConfig::from_json(k, "c.json"); }, {"c.json: $.hidden_size is missing"});
  k = j;
  k["num_hidden_layers"] = "two";
  expect_error<CheckpointError>([&] { ModelConfig::from_json(k, "c.json"); }, {"$.num_hidden_layers", "integer"});
  k = j;
  k["hidden_act"] = "gelu";
  expect_error<CheckpointError>([&] { ModelConfig::from_json(k, "c.json"); }, {"hidden_act", "gelu"});
  k = j;
  k["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error<CheckpointError>([&] { ModelConfig::from_json(k, "c.json"); }, {"yarn", "default, linear, llama3"});
}

TEST(ModelErrors, MissingDirectoryAndConfig) {
  expect_error<IoError>([] { load_pretrained("/nonexistent/r1kit/model"); }, {"/nonexistent/r1kit/model"});
  test::TempDir tmp("noconfig");
  expect_error<IoError>([&] { load_pretrained(tmp.path); }, {"config.json"});
}

TEST(ModelErrors, KVCacheOverflowIsAnError) {
  auto model = load_pretrained(fixtures() / "models" / "tiny_llama");
  auto cache = model->make_cache(1, 4);
  torch::NoGradGuard ng;
  auto ids = torch::zeros({1, 5}, torch::kInt64);
  auto pos = torch::arange(5).view({1, 5});
  expect_error<InvalidArgument>([&] { model->forward(ids, pos, {}, cache.get()); }, {"capacity of 4"});
}

}  // namespace
}  // namespace r1kit::model
