#include "rl/grpo_config.h"

#include "core/config.h"
#include "train/optimizer_config.h"
#include "core/error.h"

namespace r1kit::rl {

namespace {
const std::vector<std::string> kLossTypes{"grpo", "bnpo", "dr_grpo", "dapo"};
const std::vector<std::string> kKl{"k1", "k2", "k3"};
const std::vector<std::string> kScale{"group", "batch", "none"};
}  // namespace

GRPOConfig GRPOConfig::from_json(const nlohmann::json& j, const std::string& source) {
  ConfigReader r(j, "$", source);
  GRPOConfig c;
  auto m = r.child("model");
  c.model_path = m.require<std::string>("path", "the Hugging Face model directory, e.g. models/smollm2-135m-instruct");
  c.dtype = m.get_choice("dtype", "float32", {"float32", "bfloat16", "float16"});
  auto d = r.child("data");
  c.data.path = d.require<std::string>("path", "a JSONL prompt set, e.g. ../shared/data/gsm8k/train.jsonl");
  c.data.question_field = d.get<std::string>("question_field", c.data.question_field);
  c.data.prompt_template =
      d.get_choice("prompt_template", c.data.prompt_template, {"r1_zero", "r1_zero_think", "qwen_math", "none", "chat"});
  c.data.shuffle = d.get<bool>("shuffle", c.data.shuffle);
  c.data.limit = d.get<int64_t>("limit", c.data.limit);
  c.rewards = r.raw("rewards");
  if (!c.rewards.is_array() || c.rewards.empty())
    r.fail("rewards", "must be a non-empty list of rewarders, e.g. [{\"type\": \"math_accuracy\", \"weight\": 1.0}]");
  c.eval = r.raw("eval");
  if (!c.eval.is_null()) {
    ConfigReader e(c.eval, "$.eval", source);
    e.require<std::string>("path", "a JSONL evaluation set, e.g. ../shared/data/gsm8k/test.jsonl");
    e.get<int64_t>("limit", 0);
    e.get<std::string>("question_field", "question");
    e.get<int64_t>("max_new_tokens", 0);
    e.get<std::string>("name", "");  // metric keys eval/<name>/...; default from the file (eval/presets.h)
    if (e.get<int64_t>("num_generations", 1) < 1) e.fail("num_generations", "must be >= 1 (samples per problem)");
    if (e.get<double>("temperature", 0.0) < 0) e.fail("temperature", "must be >= 0 (0 = greedy)");
    const double top_p = e.get<double>("top_p", 1.0);
    if (!(top_p > 0 && top_p <= 1)) e.fail("top_p", "must be in (0, 1]");
    e.finish();
  }
  auto ro = r.child("rollout");
  c.rollout.max_batch_rows = ro.get<int64_t>("max_batch_rows", c.rollout.max_batch_rows);
  c.rollout.kv_cache_tokens = ro.get<int64_t>("kv_cache_tokens", c.rollout.kv_cache_tokens);
  c.rollout.gemm = ro.get_choice("gemm", c.rollout.gemm, {"auto", "default", "avx2", "onednn"});

  c.output_dir = r.get<std::string>("output_dir", c.output_dir);
  c.seed = r.get<uint64_t>("seed", c.seed);
  c.max_steps = r.get<int64_t>("max_steps", c.max_steps);
  c.per_device_train_batch_size = r.get<int64_t>("per_device_train_batch_size", c.per_device_train_batch_size);
  c.gradient_accumulation_steps = r.get<int64_t>("gradient_accumulation_steps", c.gradient_accumulation_steps);
  c.num_generations = r.get<int>("num_generations", c.num_generations);
  c.max_prompt_length = r.get<int64_t>("max_prompt_length", c.max_prompt_length);
  c.max_completion_length = r.get<int64_t>("max_completion_length", c.max_completion_length);
  c.temperature = r.get<double>("temperature", c.temperature);
  c.top_p = r.get<double>("top_p", c.top_p);
  c.top_k = r.get<int>("top_k", c.top_k);
  c.min_p = r.get<double>("min_p", c.min_p);
  c.scale_rewards = parse_scale_rewards(r.get_choice("scale_rewards", "group", kScale));
  c.loss.loss_type = parse_loss_type(r.get_choice("loss_type", "dapo", kLossTypes));
  c.loss.epsilon = r.get<double>("epsilon", 0.2);
  c.loss.epsilon_high = r.get<double>("epsilon_high", c.loss.epsilon);
  c.loss.delta = r.get_optional<double>("delta");
  c.loss.beta = r.get<double>("beta", 0.0);
  c.loss.use_bias_correction_kl = r.get<bool>("use_bias_correction_kl", false);
  c.loss.kl_estimator = parse_kl_estimator(r.get_choice("kl_estimator", "k3", kKl));
  c.num_iterations = r.get<int>("num_iterations", c.num_iterations);
  c.mask_truncated_completions = r.get<bool>("mask_truncated_completions", c.mask_truncated_completions);
  c.dynamic_sampling = r.get<bool>("dynamic_sampling", c.dynamic_sampling);
  c.max_num_gen_batches = r.get<int64_t>("max_num_gen_batches", c.max_num_gen_batches);
  c.sync_ref_model = r.get<bool>("sync_ref_model", c.sync_ref_model);
  c.ref_model_mixup_alpha = r.get<double>("ref_model_mixup_alpha", c.ref_model_mixup_alpha);
  c.ref_model_sync_steps = r.get<int64_t>("ref_model_sync_steps", c.ref_model_sync_steps);
  c.optim = train::read_optimizer_config(r, 1e-6);
  c.logging_steps = r.get<int64_t>("logging_steps", c.logging_steps);
  c.save_steps = r.get<int64_t>("save_steps", c.save_steps);
  c.samples_steps = r.get<int64_t>("samples_steps", c.samples_steps);
  c.eval_steps = r.get<int64_t>("eval_steps", c.eval_steps);
  c.max_consecutive_nonfinite = r.get<int64_t>("max_consecutive_nonfinite", c.max_consecutive_nonfinite);
  c.logprob_chunk_rows = r.get<int64_t>("logprob_chunk_rows", c.logprob_chunk_rows);
  c.ddp_timeout = r.get<double>("ddp_timeout", c.ddp_timeout);
  r.finish();
  c.loss.max_completion_length = c.max_completion_length;

  auto bad = [&](const std::string& key, const std::string& msg) { r.fail(key, msg); };
  if (c.num_generations < 2)
    bad("num_generations", "must be >= 2: GRPO's advantages compare completions within a group (G = 1 has none)");
  if (c.per_device_train_batch_size < 1) bad("per_device_train_batch_size", "must be >= 1");
  if (c.gradient_accumulation_steps < 1) bad("gradient_accumulation_steps", "must be >= 1");
  if (c.completions_per_step() % c.num_generations != 0)
    bad("num_generations", "per_device_train_batch_size × gradient_accumulation_steps = " +
                               std::to_string(c.completions_per_step()) + " must be divisible by num_generations = " +
                               std::to_string(c.num_generations) + " (whole groups per optimizer step)");
  if (c.max_steps < 1) bad("max_steps", "must be >= 1");
  if (c.eval_steps < 0) bad("eval_steps", "must be >= 0 (0 = evaluate only before and after training)");
  if (c.eval_steps > 0 && c.eval.is_null())
    bad("eval_steps", "needs an \"eval\" section (e.g. {\"path\": \"../shared/data/gsm8k/test.jsonl\", \"limit\": 64})");
  if (c.num_iterations < 1) bad("num_iterations", "must be >= 1");
  if (c.max_num_gen_batches < 0) bad("max_num_gen_batches", "must be >= 0 (0 = unbounded)");
  if (c.save_steps > 0 && c.save_steps % c.num_iterations != 0)
    bad("save_steps", "must be a multiple of num_iterations = " + std::to_string(c.num_iterations) +
                          " (checkpoints are taken between generation batches)");
  if (c.max_completion_length < 1) bad("max_completion_length", "must be >= 1");
  if (c.max_prompt_length < 1) bad("max_prompt_length", "must be >= 1");
  if (!(c.temperature > 0)) bad("temperature", "must be > 0 for GRPO (log-probs are taken at the sampling temperature)");
  if (c.loss.beta < 0) bad("beta", "must be >= 0");
  if (c.loss.epsilon < 0 || c.loss.epsilon_high < 0) bad("epsilon", "epsilon and epsilon_high must be >= 0");
  if (c.loss.delta && !(*c.loss.delta > 1.0 + c.loss.epsilon_high))
    bad("delta", "caps the unclipped ratio term and must be > 1 + epsilon_high = " +
                     std::to_string(1.0 + c.loss.epsilon_high) + " (TRL recommends e.g. 1.5), or null to disable");
  if (c.ref_model_mixup_alpha < 0 || c.ref_model_mixup_alpha > 1) bad("ref_model_mixup_alpha", "must be in [0, 1]");
  if (!(c.ddp_timeout > 0)) bad("ddp_timeout", "must be > 0 seconds (default 1800)");
  return c;
}

nlohmann::json GRPOConfig::resolved() const {
  nlohmann::json j;
  j["model"] = {{"path", model_path}, {"dtype", dtype}};
  j["data"] = {{"path", data.path}, {"question_field", data.question_field}, {"prompt_template", data.prompt_template},
               {"shuffle", data.shuffle}, {"limit", data.limit}};
  j["rewards"] = rewards;
  if (!eval.is_null()) j["eval"] = eval;
  j["rollout"] = {{"max_batch_rows", rollout.max_batch_rows}, {"kv_cache_tokens", rollout.kv_cache_tokens},
                  {"gemm", rollout.gemm}};
  j["output_dir"] = output_dir;
  j["seed"] = seed;
  j["max_steps"] = max_steps;
  j["per_device_train_batch_size"] = per_device_train_batch_size;
  j["gradient_accumulation_steps"] = gradient_accumulation_steps;
  j["num_generations"] = num_generations;
  j["max_prompt_length"] = max_prompt_length;
  j["max_completion_length"] = max_completion_length;
  j["temperature"] = temperature;
  j["top_p"] = top_p;
  j["top_k"] = top_k;
  j["min_p"] = min_p;
  j["scale_rewards"] = to_string(scale_rewards);
  j["loss_type"] = to_string(loss.loss_type);
  j["epsilon"] = loss.epsilon;
  j["epsilon_high"] = loss.epsilon_high;
  j["delta"] = loss.delta ? nlohmann::json(*loss.delta) : nlohmann::json(nullptr);
  j["beta"] = loss.beta;
  j["kl_estimator"] = to_string(loss.kl_estimator);
  j["use_bias_correction_kl"] = loss.use_bias_correction_kl;
  j["num_iterations"] = num_iterations;
  j["mask_truncated_completions"] = mask_truncated_completions;
  j["dynamic_sampling"] = dynamic_sampling;
  j["max_num_gen_batches"] = max_num_gen_batches;
  j["sync_ref_model"] = sync_ref_model;
  j["ref_model_mixup_alpha"] = ref_model_mixup_alpha;
  j["ref_model_sync_steps"] = ref_model_sync_steps;
  train::write_optimizer_config(optim, j);
  j["logging_steps"] = logging_steps;
  j["save_steps"] = save_steps;
  j["samples_steps"] = samples_steps;
  j["eval_steps"] = eval_steps;
  j["max_consecutive_nonfinite"] = max_consecutive_nonfinite;
  j["logprob_chunk_rows"] = logprob_chunk_rows;
  j["ddp_timeout"] = ddp_timeout;
  return j;
}

}  // namespace r1kit::rl
