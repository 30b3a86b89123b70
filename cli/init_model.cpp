// `r1kit init-model --config CONFIG.json --tokenizer DIR [--seed S] --out DIR`: a randomly initialised model.
#include "cli/init_model.h"

#include <cstdio>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "model/causal_lm.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::cli {

InitModelResult init_random_model(nlohmann::json cfg, const std::filesystem::path& tokenizer_dir, uint64_t seed,
                                  const std::filesystem::path& out, const std::string& source) {
  if (!cfg.is_object()) throw ConfigError(source + ": expected a config.json object");
  auto tok = tokenizer::Tokenizer::from_dir(tokenizer_dir);
  if (!cfg.contains("vocab_size")) cfg["vocab_size"] = static_cast<int64_t>(tok.vocab_size());
  if (cfg["vocab_size"].is_number_integer() && cfg["vocab_size"].get<int64_t>() < static_cast<int64_t>(tok.vocab_size()))
    throw ConfigError(source + ": vocab_size " + cfg["vocab_size"].dump() + " is smaller than the tokenizer's " +
                      std::to_string(tok.vocab_size()) + " tokens (" + tokenizer_dir.string() + "); raise it or leave "
                      "it out to use the tokenizer's");
  if (!cfg.contains("eos_token_id") && tok.eos_token_id()) cfg["eos_token_id"] = *tok.eos_token_id();
  if (!cfg.contains("pad_token_id") && tok.eos_token_id()) cfg["pad_token_id"] = *tok.eos_token_id();
  const auto mc = model::ModelConfig::from_json(cfg, source);
  auto model = model::create_causal_lm(mc, cfg.value("tie_word_embeddings", false));
  model->init_weights(seed);
  model::save_pretrained(*model, out, tokenizer_dir);
  InitModelResult r;
  r.config = cfg;
  for (const auto& p : model->parameters()) r.parameters += p.numel();
  return r;
}

void register_init_model(CLI::App& app) {
  auto* cmd = app.add_subcommand("init-model", "A randomly initialised model directory from a Hugging Face "
                                               "config.json and a tokenizer (to train from scratch)");
  static std::string config, tok, out;
  static uint64_t seed = 0;
  cmd->add_option("--config", config, "config.json of the architecture (fields as in transformers)")->required();
  cmd->add_option("--tokenizer", tok, "tokenizer directory (tokenizer.json, tokenizer_config.json)")->required();
  cmd->add_option("--seed", seed, "initialisation seed (0 .. 2^64 - 1)")->check(CLI::Validator(
      [](std::string& v) { return !v.empty() && v[0] == '-' ? "must be 0 or more, got " + v : std::string(); },
      "NONNEGATIVE"))->capture_default_str();
  cmd->add_option("--out", out, "output model directory")->required();
  cmd->callback([] {
    if (std::filesystem::exists(out) && !std::filesystem::is_empty(out))
      throw IoError(out + " exists and is not empty; choose another --out or delete it");
    auto r = init_random_model(load_json_file(config), tok, seed, out, config);
    std::printf("%s: %s, %lld parameters, vocabulary %s, seed %llu\n", out.c_str(),
                r.config.value("model_type", std::string("?")).c_str(), static_cast<long long>(r.parameters),
                r.config["vocab_size"].dump().c_str(), static_cast<unsigned long long>(seed));
  });
}

}  // namespace r1kit::cli
