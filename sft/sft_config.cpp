#include "sft/sft_config.h"

#include "core/config.h"
#include "train/optimizer_config.h"
#include "core/error.h"

namespace r1kit::sft {

SFTConfig SFTConfig::from_json(const nlohmann::json& j, const std::string& source) {
  ConfigReader r(j, "$", source);
  SFTConfig c;
  auto m = r.child("model");
  c.model_path = m.require<std::string>("path", "the Hugging Face model directory, e.g. models/smollm2-135m-instruct");
  c.dtype = m.get_choice("dtype", "float32", {"float32", "bfloat16", "float16"});
  auto d = r.child("data");
  auto& D = c.data;
  D.train_file = d.require<std::string>("train_file", "a JSONL file of SFT records, e.g. runs/cold_start/gsm8k.jsonl");
  D.eval_file = d.get<std::string>("eval_file", D.eval_file);
  D.eval_fraction = d.get<double>("eval_fraction", D.eval_fraction);
  D.format = d.get_choice("format", D.format, {"auto", "messages", "prompt_completion", "prompt_reasoning_answer"});
  D.messages_field = d.get<std::string>("messages_field", D.messages_field);
  D.prompt_field = d.get<std::string>("prompt_field", D.prompt_field);
  D.completion_field = d.get<std::string>("completion_field", D.completion_field);
  D.reasoning_field = d.get<std::string>("reasoning_field", D.reasoning_field);
  D.answer_field = d.get<std::string>("answer_field", D.answer_field);
  D.template_name = d.get_choice("template", D.template_name, {"chat", "r1_zero", "r1_zero_think", "qwen_math", "none"});
  D.shuffle = d.get<bool>("shuffle", D.shuffle);
  D.limit = d.get<int64_t>("limit", D.limit);
  D.skip_invalid = d.get<bool>("skip_invalid", D.skip_invalid);
  auto s = r.child("samples");
  c.sample_prompts = s.get<int64_t>("num_prompts", c.sample_prompts);
  c.sample_max_new_tokens = s.get<int64_t>("max_new_tokens", c.sample_max_new_tokens);

  c.output_dir = r.get<std::string>("output_dir", c.output_dir);
  c.seed = r.get<uint64_t>("seed", c.seed);
  c.max_steps = r.get<int64_t>("max_steps", c.max_steps);
  c.num_train_epochs = r.get<double>("num_train_epochs", c.num_train_epochs);
  c.per_device_train_batch_size = r.get<int64_t>("per_device_train_batch_size", c.per_device_train_batch_size);
  c.per_device_eval_batch_size = r.get<int64_t>("per_device_eval_batch_size", c.per_device_eval_batch_size);
  c.gradient_accumulation_steps = r.get<int64_t>("gradient_accumulation_steps", c.gradient_accumulation_steps);
  c.max_length = r.get<int64_t>("max_length", c.max_length);
  c.truncation = r.get_choice("truncation", c.truncation, {"truncate", "drop"});
  c.packing = r.get<bool>("packing", c.packing);
  c.completion_only_loss = r.get<bool>("completion_only_loss", c.completion_only_loss);
  c.assistant_only_loss = r.get<bool>("assistant_only_loss", c.assistant_only_loss);
  c.optim = train::read_optimizer_config(r, 2e-5);
  c.logging_steps = r.get<int64_t>("logging_steps", c.logging_steps);
  c.eval_steps = r.get<int64_t>("eval_steps", c.eval_steps);
  c.save_steps = r.get<int64_t>("save_steps", c.save_steps);
  c.logprob_chunk_rows = r.get<int64_t>("logprob_chunk_rows", c.logprob_chunk_rows);
  c.ddp_timeout = r.get<double>("ddp_timeout", c.ddp_timeout);
  r.finish();

  auto bad = [&](const std::string& key, const std::string& msg) { r.fail(key, msg); };
  if (!D.eval_file.empty() && D.eval_fraction > 0)
    d.fail("eval_fraction", "give either data.eval_file or data.eval_fraction, not both");
  if (D.eval_fraction < 0 || D.eval_fraction >= 1) d.fail("eval_fraction", "must be in [0, 1)");
  if (c.per_device_train_batch_size < 1) bad("per_device_train_batch_size", "must be >= 1");
  if (c.per_device_eval_batch_size < 1) bad("per_device_eval_batch_size", "must be >= 1");
  if (c.gradient_accumulation_steps < 1) bad("gradient_accumulation_steps", "must be >= 1");
  if (c.max_steps <= 0 && !(c.num_train_epochs > 0))
    bad("num_train_epochs", "must be > 0 when max_steps is not set (or set max_steps)");
  if (c.max_length < 2) bad("max_length", "must be >= 2 tokens");
  if (c.logging_steps < 1) bad("logging_steps", "must be >= 1");
  if (c.eval_steps < 0) bad("eval_steps", "must be >= 0 (0 = only at the end)");
  if (c.save_steps < 0) bad("save_steps", "must be >= 0 (0 = only at the end)");
  if (c.logprob_chunk_rows < 1) bad("logprob_chunk_rows", "must be >= 1");
  if (!(c.ddp_timeout > 0)) bad("ddp_timeout", "must be > 0 seconds (default 1800)");
  if (c.sample_prompts < 0) s.fail("num_prompts", "must be >= 0");
  if (c.sample_max_new_tokens < 1) s.fail("max_new_tokens", "must be >= 1");
  return c;
}

nlohmann::json SFTConfig::resolved() const {
  nlohmann::json j;
  j["model"] = {{"path", model_path}, {"dtype", dtype}};
  j["data"] = {{"train_file", data.train_file}, {"eval_file", data.eval_file}, {"eval_fraction", data.eval_fraction},
               {"format", data.format}, {"messages_field", data.messages_field}, {"prompt_field", data.prompt_field},
               {"completion_field", data.completion_field}, {"reasoning_field", data.reasoning_field},
               {"answer_field", data.answer_field}, {"template", data.template_name}, {"shuffle", data.shuffle},
               {"limit", data.limit}, {"skip_invalid", data.skip_invalid}};
  j["samples"] = {{"num_prompts", sample_prompts}, {"max_new_tokens", sample_max_new_tokens}};
  j["output_dir"] = output_dir;
  j["seed"] = seed;
  j["max_steps"] = max_steps;
  j["num_train_epochs"] = num_train_epochs;
  j["per_device_train_batch_size"] = per_device_train_batch_size;
  j["per_device_eval_batch_size"] = per_device_eval_batch_size;
  j["gradient_accumulation_steps"] = gradient_accumulation_steps;
  j["max_length"] = max_length;
  j["truncation"] = truncation;
  j["packing"] = packing;
  j["completion_only_loss"] = completion_only_loss;
  j["assistant_only_loss"] = assistant_only_loss;
  train::write_optimizer_config(optim, j);
  j["logging_steps"] = logging_steps;
  j["eval_steps"] = eval_steps;
  j["save_steps"] = save_steps;
  j["logprob_chunk_rows"] = logprob_chunk_rows;
  j["ddp_timeout"] = ddp_timeout;
  return j;
}

}  // namespace r1kit::sft
