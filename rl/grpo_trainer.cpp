#include "rl/grpo_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "core/log.h"
#include "core/strings.h"
#include "eval/evaluator.h"
#include "eval/presets.h"
#include "rl/grpo_distributed.h"
#include "rollout/stop.h"
#include "tokenizer/prompt_template.h"
#include "train/checkpoint.h"
#include "train/token_logprobs.h"

namespace r1kit::rl {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double mean_of(const std::vector<double>& v) {
  double s = 0;
  size_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}
double std_of(const std::vector<double>& v) {  // Bessel-corrected, NaN skipped
  const double m = mean_of(v);
  double s = 0;
  size_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) s += (x - m) * (x - m), ++n;
  return n > 1 ? std::sqrt(s / (n - 1)) : 0.0;
}
nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
}  // namespace

struct GRPOTrainer::Generation {
  struct MicroBatch {
    torch::Tensor ids, attn;        // [b, P+C] int64
    torch::Tensor mask;             // [b, C] float32: completion tokens that count in the loss
    torch::Tensor advantages;       // [b] float32
    torch::Tensor old_logp, ref_logp;  // [b, C] or undefined
    int64_t completion_start = 0;   // P
  };
  std::vector<MicroBatch> micro;
  std::vector<std::string> prompt_text;            // [B]
  std::vector<size_t> record_index;                // [B]
  std::vector<rollout::Completion> completions;    // [B·G]
  rewards::BatchScores scores;
  Advantages adv;
  rollout::RolloutStats rollout_stats;
  double rollout_seconds = 0, reward_seconds = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int64_t gen_batches = 1;            // generation batches sampled (> 1 only with dynamic sampling)
  double frac_reward_zero_std = 0.0;  // over every generated group, before dynamic-sampling filtering
  StepView all;                       // the step over all ranks, for metrics (rl/grpo_distributed.h)
};

struct GRPOTrainer::StepOutcome {
  double loss = 0, grad_norm = 0, kl = 0, entropy = 0, clip_low = 0, clip_high = 0, clip_region = 0;
  bool skipped = false;
  double seconds = 0;
};

GRPOTrainer::GRPOTrainer(GRPOConfig config)
    : cfg_(std::move(config)), eval_section_(cfg_.eval),
      tokenizer_(tokenizer::Tokenizer::from_dir(cfg_.model_path)) {
  run_dir_ = cfg_.output_dir;
  dist_ = train::DistributedContext::process_default({cfg_.ddp_timeout, torch::kCPU});
  if (cfg_.data.prompt_template == "chat")
    chat_ = tokenizer::ChatTemplate::from_tokenizer_config(tokenizer_.config(), cfg_.model_path + "/tokenizer_config.json");
  const auto dtype = model::dtype_from_name(cfg_.dtype);
  policy_ = model::load_pretrained(cfg_.model_path, torch::kCPU, dtype);
  policy_->train();
  if (cfg_.loss.beta != 0.0) {  // β = 0 loads no reference model (DESIGN.md)
    reference_ = model::load_pretrained(cfg_.model_path, torch::kCPU, dtype);
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  rewards_ = std::make_unique<rewards::RewardSet>(rewards::RewardSet::from_json(cfg_.rewards, "$.rewards", "config"));
  engine_ = std::make_unique<rollout::RolloutEngine>(policy_, &tokenizer_, cfg_.rollout);
  stop_ids_ = rollout::default_stop_token_ids(cfg_.model_path, policy_->config().eos_token_ids, tokenizer_.eos_token_id());
  optimizer_ = std::make_unique<train::Optimizer>(policy_->named_parameters(), cfg_.optim, cfg_.max_steps);

  auto load = [&](const std::string& path, int64_t limit, const std::string& field) {
    std::vector<nlohmann::json> out;
    JsonlReader reader(path);
    nlohmann::json rec;
    while ((limit <= 0 || static_cast<int64_t>(out.size()) < limit) && reader.next(rec)) {
      auto it = rec.find(field);
      if (it == rec.end() || !it->is_string())
        throw DataError(format_record_error(path, reader.record_number(), "field \"" + field +
                                            "\" is missing or not a string; set data.question_field"));
      out.push_back(std::move(rec));
    }
    if (out.empty()) throw DataError(path + ": no records");
    return out;
  };
  records_ = load(cfg_.data.path, cfg_.data.limit, cfg_.data.question_field);
  if (!eval_section_.is_null() && eval_section_.contains("path"))
    eval_records_ = load(eval_section_["path"].get<std::string>(), eval_section_.value("limit", int64_t{0}),
                         eval_section_.value("question_field", cfg_.data.question_field));
}

std::vector<int64_t> GRPOTrainer::encode_prompt(const nlohmann::json& record, std::string* rendered) const {
  *rendered = tokenizer::render_prompt(cfg_.data.prompt_template,
                                       record.at(cfg_.data.question_field).get<std::string>(), chat_ ? &*chat_ : nullptr);
  auto ids32 = tokenizer_.encode(*rendered, /*add_special_tokens=*/false);  // as TRL: templates carry their BOS
  std::vector<int64_t> ids(ids32.begin(), ids32.end());
  if (static_cast<int64_t>(ids.size()) > cfg_.max_prompt_length)  // TRL keeps the end of an over-long prompt
    ids.erase(ids.begin(), ids.end() - cfg_.max_prompt_length);
  return ids;
}

std::vector<size_t> GRPOTrainer::next_prompt_indices(int64_t count) {
  std::vector<size_t> out;
  while (static_cast<int64_t>(out.size()) < count) {
    if (order_.empty() || cursor_ >= static_cast<int64_t>(order_.size())) {
      if (!order_.empty()) ++epoch_;
      order_.resize(records_.size());
      std::iota(order_.begin(), order_.end(), 0);
      if (cfg_.data.shuffle) {
        std::mt19937_64 rng(cfg_.seed * 1000003ULL + static_cast<uint64_t>(epoch_));
        std::shuffle(order_.begin(), order_.end(), rng);
      }
      cursor_ = 0;
    }
    out.push_back(order_[cursor_++]);
  }
  return out;
}

std::unique_ptr<GRPOTrainer::Generation> GRPOTrainer::generate(int64_t step) {
  auto gen = std::make_unique<Generation>();
  const int G = cfg_.num_generations;
  const int64_t B = cfg_.prompts_per_step();
  std::vector<std::vector<int64_t>> prompts;  // [kept groups] token ids

  rollout::SamplingParams sp;
  sp.n = G;
  sp.temperature = cfg_.temperature;
  sp.top_p = cfg_.top_p;
  sp.top_k = cfg_.top_k;
  sp.min_p = cfg_.min_p;
  sp.max_new_tokens = static_cast<int>(cfg_.max_completion_length);
  sp.stop_token_ids = stop_ids_;

  // One generation batch of B prompts; with dynamic sampling, more batches until B groups have a non-zero reward
  // std (DAPO §3.2), keeping only those groups, at most max_num_gen_batches batches.
  int64_t zero_std_groups = 0, generated_groups = 0, signal_groups = 0;
  for (int64_t batch = 0;; ++batch) {
    std::vector<size_t> idx = next_prompt_indices(B * dist_->world_size());  // the same global order on every rank
    idx = std::vector<size_t>(idx.begin() + B * dist_->rank(), idx.begin() + B * (dist_->rank() + 1));
    std::vector<std::vector<int64_t>> batch_prompts;
    std::vector<std::string> batch_text;
    for (size_t i : idx) {
      std::string text;
      batch_prompts.push_back(encode_prompt(records_[i], &text));
      batch_text.push_back(std::move(text));
    }
    // Per step (and per extra batch): resumable, reproducible.
    sp.seed = cfg_.seed * 7919ULL + static_cast<uint64_t>(step) + static_cast<uint64_t>(batch) * 1000003ULL;
    auto t0 = Clock::now();
    std::vector<rollout::Completion> completions;
    rollout::RolloutStats st;
    {
      torch::NoGradGuard ng;
      if (dist_->is_distributed()) {  // seeds per global prompt: samples independent of the ranks' split
        completions = generate_per_prompt(*engine_, batch_prompts, sp, B * dist_->rank(), &st);
      } else {
        completions = engine_->generate(batch_prompts, sp);
        st = engine_->last_stats();
      }
    }
    gen->rollout_seconds += seconds_since(t0);
    gen->rollout_stats.prefill_seconds += st.prefill_seconds;
    gen->rollout_stats.decode_seconds += st.decode_seconds;
    gen->rollout_stats.sample_seconds += st.sample_seconds;
    gen->rollout_stats.prompt_tokens += st.prompt_tokens;
    gen->rollout_stats.generated_tokens += st.generated_tokens;

    t0 = Clock::now();
    std::vector<rewards::Sample> samples;
    samples.reserve(completions.size());
    for (const auto& c : completions)
      samples.push_back(rewards::Sample{batch_text[c.prompt_index], c.text, records_[idx[c.prompt_index]],
                                        c.finish == rollout::Completion::Finish::length,
                                        static_cast<int64_t>(c.ids.size())});
    auto scores = rewards_->score_batch(samples);
    gen->reward_seconds += seconds_since(t0);
    const auto batch_adv = compute_advantages(scores.totals, G, cfg_.scale_rewards);

    const bool last_try = !cfg_.dynamic_sampling ||
                          (cfg_.max_num_gen_batches > 0 && batch + 1 >= cfg_.max_num_gen_batches);
    if (batch == 0) {
      gen->scores.names = scores.names;
      gen->scores.weights = scores.weights;
      gen->scores.per_rewarder.assign(scores.names.size(), {});
      gen->scores.timeouts.assign(scores.names.size(), 0);
      gen->scores.errors.assign(scores.names.size(), 0);
      gen->scores.seconds.assign(scores.names.size(), 0.0);
    }
    for (size_t k = 0; k < scores.names.size(); ++k) {
      gen->scores.timeouts[k] += scores.timeouts[k];
      gen->scores.errors[k] += scores.errors[k];
      gen->scores.seconds[k] += scores.seconds[k];
    }
    // Without dynamic sampling every group is kept. With it, groups without signal are dropped — unless the last
    // allowed batch still leaves the step empty: then that batch is kept whole (the step trains only on the KL
    // term, and its metrics stay comparable).
    const bool keep_all = !cfg_.dynamic_sampling || (last_try && prompts.empty());
    for (size_t b = 0; b < idx.size(); ++b) {
      ++generated_groups;
      const bool signal = batch_adv.group_std[b] > 0.0;
      zero_std_groups += !signal;
      const bool room = static_cast<int64_t>(prompts.size()) < B;
      if (!room || (!keep_all && !signal)) continue;  // surplus groups of the last batch are dropped (as verl)
      signal_groups += signal;
      const size_t new_index = prompts.size();
      prompts.push_back(batch_prompts[b]);
      gen->prompt_text.push_back(batch_text[b]);
      gen->record_index.push_back(idx[b]);
      for (int g = 0; g < G; ++g) {
        const size_t i = b * G + g;
        auto c = completions[i];
        c.prompt_index = new_index;
        gen->completions.push_back(std::move(c));
        gen->scores.totals.push_back(scores.totals[i]);
        for (size_t k = 0; k < scores.names.size(); ++k) gen->scores.per_rewarder[k].push_back(scores.per_rewarder[k][i]);
      }
    }
    gen->gen_batches = batch + 1;
    if (static_cast<int64_t>(prompts.size()) >= B || last_try) break;
  }
  if (cfg_.dynamic_sampling && signal_groups < B)
    log_warn_line("step " + std::to_string(step + 1) + ": dynamic sampling found " + std::to_string(signal_groups) +
                  " of " + std::to_string(B) + " groups with a non-zero reward std in " +
                  std::to_string(gen->gen_batches) + " generation batches (max_num_gen_batches); " +
                  (signal_groups > 0 ? std::string("training on those")
                                     : std::string("training on the whole last batch (its advantages are 0)")));
  gen->frac_reward_zero_std =
      generated_groups ? static_cast<double>(zero_std_groups) / static_cast<double>(generated_groups) : 0.0;
  gen->adv = advantages_over_ranks(*dist_, gen->scores.totals, G, cfg_.scale_rewards);  // whole-step std

  // Micro-batches of per_device_train_batch_size completions, in (prompt, sample) order.
  const int64_t N = static_cast<int64_t>(gen->completions.size());
  const int64_t mb = cfg_.per_device_train_batch_size;
  for (int64_t s = 0; s < N; s += mb) {
    const int64_t b = std::min(mb, N - s);
    int64_t P = 1, C = 1;
    for (int64_t i = s; i < s + b; ++i) {
      const auto& c = gen->completions[i];
      P = std::max<int64_t>(P, prompts[c.prompt_index].size());
      C = std::max<int64_t>(C, c.ids.size());
    }
    Generation::MicroBatch m;
    m.completion_start = P;
    m.ids = torch::zeros({b, P + C}, torch::kInt64);
    m.attn = torch::zeros({b, P + C}, torch::kInt64);
    m.mask = torch::zeros({b, C}, torch::kFloat32);
    m.advantages = torch::zeros({b}, torch::kFloat32);
    for (int64_t r = 0; r < b; ++r) {
      const auto& c = gen->completions[s + r];
      const auto& p = prompts[c.prompt_index];
      const int64_t lp = p.size(), lc = c.ids.size();
      m.ids[r].narrow(0, P - lp, lp).copy_(torch::tensor(p, torch::kInt64));
      m.attn[r].narrow(0, P - lp, lp).fill_(1);
      if (lc > 0) {
        m.ids[r].narrow(0, P, lc).copy_(torch::tensor(c.ids, torch::kInt64));
        m.attn[r].narrow(0, P, lc).fill_(1);
      }
      const bool truncated = c.finish == rollout::Completion::Finish::length;
      const bool counts = gen->adv.valid[s + r] && !(cfg_.mask_truncated_completions && truncated);
      // Completion mask: tokens up to and including the first stop token (the engine already cut there).
      if (counts && lc > 0) m.mask[r].narrow(0, 0, lc).fill_(1.0);
      m.advantages[r] = static_cast<float>(gen->adv.advantages[s + r]);
      gen->prompt_tokens += lp;
      gen->completion_tokens += lc;
    }
    torch::NoGradGuard ng;
    if (cfg_.num_iterations > 1)
      m.old_logp = train::completion_logprobs(*policy_, m.ids, m.attn, P, cfg_.temperature, cfg_.logprob_chunk_rows).logp;
    if (reference_)
      m.ref_logp = train::completion_logprobs(*reference_, m.ids, m.attn, P, cfg_.temperature, cfg_.logprob_chunk_rows).logp;
    gen->micro.push_back(std::move(m));
  }
  gen->all = gather_step(*dist_, gen->scores, gen->completions, gen->prompt_tokens + gen->completion_tokens,
                         cfg_.dynamic_sampling ? signal_groups : static_cast<int64_t>(gen->record_index.size()),
                         zero_std_groups, generated_groups);
  return gen;
}

GRPOTrainer::StepOutcome GRPOTrainer::optimize(Generation& gen, int64_t step) {
  StepOutcome out;
  auto t0 = Clock::now();
  StepTotals totals{0, 0, static_cast<int>(gen.micro.size())};
  for (const auto& m : gen.micro) {
    totals.num_tokens += m.mask.sum().item<double>();
    totals.num_sequences += static_cast<double>(m.mask.size(0));  // every row, as TRL (grpo / dr_grpo)
  }
  if (dist_->is_distributed()) {  // normalise by the whole step over all ranks, so the summed gradients are right
    std::vector<double> t{totals.num_tokens, totals.num_sequences};
    dist_->all_reduce_sum(t);
    totals.num_tokens = t[0];
    totals.num_sequences = t[1];
    totals.num_micro_batches *= dist_->world_size();  // bnpo: the mean over ranks, as DDP's averaged gradients
  }
  optimizer_->zero_grad();
  double token_weight = 0;
  bool finite = true;
  if (totals.num_tokens > 0) {
    for (auto& m : gen.micro) {
      auto lp = train::completion_logprobs(*policy_, m.ids, m.attn, m.completion_start, cfg_.temperature,
                                           cfg_.logprob_chunk_rows);
      LossInputs in{lp.logp, m.old_logp, m.ref_logp, m.advantages, m.mask};
      LossStats st{};
      auto loss = grpo_loss(in, cfg_.loss, totals, &st);
      const double l = loss.item<double>();
      if (!std::isfinite(l)) {
        finite = false;
        break;
      }
      loss.backward();
      const double w = m.mask.sum().item<double>();
      out.loss += l;
      out.kl += st.kl_mean * w;
      out.clip_low += st.clip_low * w;
      out.clip_high += st.clip_high * w;
      out.clip_region += st.clip_region * w;
      out.entropy += (lp.entropy * m.mask).sum().item<double>();
      token_weight += w;
    }
  }
  if (dist_->is_distributed()) {
    std::vector<double> r{finite ? 0.0 : 1.0, out.loss, out.kl, out.clip_low, out.clip_high, out.clip_region,
                          out.entropy, token_weight};
    dist_->all_reduce_sum(r);
    finite = r[0] == 0.0;
    out.loss = r[1], out.kl = r[2], out.clip_low = r[3], out.clip_high = r[4], out.clip_region = r[5];
    out.entropy = r[6], token_weight = r[7];
    if (finite) dist_->all_reduce_gradients(*policy_);  // summed: the loss is normalised by whole-step totals
  }
  if (token_weight > 0) {
    out.kl /= token_weight;
    out.clip_low /= token_weight;
    out.clip_high /= token_weight;
    out.clip_region /= token_weight;
    out.entropy /= token_weight;
  }
  if (finite) {
    out.grad_norm = optimizer_->step(step);
    finite = std::isfinite(out.grad_norm);
  }
  if (!finite) {
    optimizer_->zero_grad();
    out.skipped = true;
    log_warn_line("step " + std::to_string(step + 1) + ": non-finite loss or gradient; the update was skipped");
  }
  optimizer_->zero_grad();
  out.seconds = seconds_since(t0);
  return out;
}

void GRPOTrainer::sync_reference() {
  // TRL sync_ref_model (TR-DPO, arXiv 2404.09656): π_ref ← α·π_θ + (1 − α)·π_ref.
  torch::NoGradGuard ng;
  auto ref = reference_->parameters();
  auto pol = policy_->parameters();
  for (size_t i = 0; i < ref.size(); ++i)
    ref[i].mul_(1.0 - cfg_.ref_model_mixup_alpha).add_(pol[i].detach(), cfg_.ref_model_mixup_alpha);
}

nlohmann::json GRPOTrainer::evaluate(const std::string& tag) {
  // eval/evaluator.h: K samples per problem (greedy K = 1 by default), pass@k, maj@k, length, format rate.
  if (eval_records_.empty()) return {};
  auto text = [&](const char* key, const std::string& def) {
    auto it = eval_section_.find(key);
    return it == eval_section_.end() || it->is_null() ? def : it->get<std::string>();
  };
  auto number = [&](const char* key, double def) {
    auto it = eval_section_.find(key);
    return it == eval_section_.end() || it->is_null() ? def : it->get<double>();
  };
  eval::EvalTask task;
  task.path = text("path", "");
  task.name = text("name", eval::dataset_name_for(task.path));
  task.records = eval_records_;
  const std::string field = text("question_field", cfg_.data.question_field);
  for (const auto& rec : eval_records_) task.questions.push_back(rec.at(field).get<std::string>());
  eval::EvalOptions opt;
  opt.prompt_template = cfg_.data.prompt_template;
  opt.max_prompt_length = cfg_.max_prompt_length;
  opt.sampling.n = static_cast<int>(number("num_generations", 1));
  opt.sampling.temperature = number("temperature", 0.0);
  opt.sampling.top_p = number("top_p", 1.0);
  const int64_t max_new = static_cast<int64_t>(number("max_new_tokens", 0));
  opt.sampling.max_new_tokens = static_cast<int>(max_new > 0 ? max_new : cfg_.max_completion_length);
  opt.sampling.stop_token_ids = stop_ids_;
  opt.sampling.seed = cfg_.seed;  // the same samples for the same policy at every evaluation
  const auto result = eval::evaluate(*engine_, tokenizer_, chat_ ? &*chat_ : nullptr, *rewards_, task, opt);
  result.write_samples(run_dir_ / "samples" / ("eval_" + tag + ".jsonl"));
  const auto& s = result.summary;
  nlohmann::json m = s.metrics("eval/" + task.name + "/");  // eval/<dataset>/pass@1, maj@K, mean_length, ...
  m["eval/" + task.name + "/seconds"] = s.seconds;
  m["eval/reward"] = finite_or_null(s.reward);
  for (size_t k = 0; k < s.reward_names.size(); ++k)
    m["eval/rewards/" + s.reward_names[k] + "/mean"] = finite_or_null(s.reward_means[k]);
  m["eval/completions/mean_length"] = s.mean_length;
  m["eval/num_prompts"] = s.num_problems;
  return m;
}

void GRPOTrainer::save_checkpoint(int64_t step) {
  nlohmann::json state = {{"epoch", epoch_}, {"cursor", cursor_}, {"consecutive_nonfinite", consecutive_nonfinite_},
                          {"num_tokens", num_tokens_}, {"format", "r1kit-grpo-trainer-state"}, {"version", 1}};
  const auto dir = train::write_checkpoint(run_dir_, step, [&](const fs::path& tmp) {
    model::save_pretrained(*policy_, tmp, cfg_.model_path);
    optimizer_->save((tmp / "optimizer.pt").string());
    if (reference_ && cfg_.sync_ref_model) model::save_pretrained(*reference_, tmp / "ref");
  }, state);
  log_info_line("saved checkpoint " + dir.string());
}

int64_t GRPOTrainer::load_checkpoint(const fs::path& run_dir) {
  const auto ckpt = train::latest_checkpoint(run_dir, "r1kit-grpo-trainer-state");
  if (!ckpt) {
    log_warn_line(run_dir.string() + ": no checkpoint yet (the run stopped before its first save); starting it "
                  "again from step 0");
    return 0;
  }
  const int64_t best = ckpt->step;
  const fs::path& best_dir = ckpt->dir;
  const auto& state = ckpt->state;
  train::load_weights_into(*policy_, best_dir);
  if (reference_ && cfg_.sync_ref_model) train::load_weights_into(*reference_, best_dir / "ref");
  optimizer_->load((best_dir / "optimizer.pt").string());
  epoch_ = state.at("epoch").get<int64_t>();
  cursor_ = state.at("cursor").get<int64_t>();
  consecutive_nonfinite_ = state.at("consecutive_nonfinite").get<int64_t>();
  num_tokens_ = state.at("num_tokens").get<int64_t>();
  // Rebuild the epoch's order exactly as it was generated.
  order_.resize(records_.size());
  std::iota(order_.begin(), order_.end(), 0);
  if (cfg_.data.shuffle) {
    std::mt19937_64 rng(cfg_.seed * 1000003ULL + static_cast<uint64_t>(epoch_));
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  log_info_line("resumed from " + best_dir.string() + " (step " + std::to_string(best) + ")");
  return best;
}

RunSummary GRPOTrainer::train(const std::optional<fs::path>& resume) {
  RunSummary summary;
  int64_t start = 0;
  if (resume) {
    run_dir_ = *resume;
    start = load_checkpoint(*resume);
  } else if (fs::exists(run_dir_ / "checkpoints") ||
             (fs::exists(run_dir_ / "metrics.jsonl") && fs::file_size(run_dir_ / "metrics.jsonl") > 0)) {
    throw IoError(run_dir_.string() + " already holds a run (metrics.jsonl); continue it with --resume " +
                  run_dir_.string() + " or choose another output_dir (--set output_dir=...)");
  }
  // Under torchrun: the same start everywhere (rank 0's weights), and rank 0 alone writes the run directory —
  // after every rank has checked it above.
  dist_->broadcast_parameters(*policy_);
  if (reference_) dist_->broadcast_parameters(*reference_);
  const bool rank0 = dist_->is_main();
  dist_->barrier();
  summary.run_dir = run_dir_;
  if (rank0) {
    fs::create_directories(run_dir_ / "samples");
    start_log_file("info", run_dir_ / "log.txt");
    write_json_atomic(run_dir_ / "config.json", cfg_.resolved());
  }

  // metrics.jsonl: on resume, keep only the records of the steps the checkpoint covers.
  if (rank0 && resume && fs::exists(run_dir_ / "metrics.jsonl")) {
    auto old = read_jsonl(run_dir_ / "metrics.jsonl");
    std::string kept;
    for (const auto& r : old)
      if (!r.contains("step") || r["step"].get<int64_t>() <= start) kept += r.dump() + "\n";
    write_file_atomic(run_dir_ / "metrics.jsonl", kept);
  }
  if (rank0 && start == 0 && fs::exists(run_dir_ / "metrics.jsonl")) fs::remove(run_dir_ / "metrics.jsonl");
  if (start >= cfg_.max_steps) {
    log_info_line("the run is already at step " + std::to_string(start) + " of max_steps = " +
                  std::to_string(cfg_.max_steps) + "; nothing to do (raise it with --set max_steps=N)");
    summary.steps = start;
    return summary;
  }
  std::optional<JsonlWriter> metrics;  // rank 0 only
  if (rank0) metrics.emplace(run_dir_ / "metrics.jsonl", /*append=*/true);
  log_info_line("training " + cfg_.model_path + " for " + std::to_string(cfg_.max_steps - start) + " steps into " +
                run_dir_.string());
  if (start == 0 && rank0) {
    summary.eval_before = evaluate("before");
    if (!summary.eval_before.empty()) {
      auto rec = summary.eval_before;
      rec["step"] = 0;
      if (metrics) metrics->write(rec);
    }
  }
  const auto t_run = Clock::now();
  std::unique_ptr<Generation> gen;
  for (int64_t step = start; step < cfg_.max_steps; ++step) {
    const auto t_step = Clock::now();
    dist_->test_failure_point(step);
    if (step % cfg_.num_iterations == 0 || !gen) gen = generate(step);
    auto res = optimize(*gen, step);
    if (res.skipped) {
      if (++consecutive_nonfinite_ >= cfg_.max_consecutive_nonfinite)
        throw Error("stopping at step " + std::to_string(step + 1) + ": " + std::to_string(consecutive_nonfinite_) +
                    " non-finite steps in a row; the last checkpoint is in " + (run_dir_ / "checkpoints").string());
    } else {
      consecutive_nonfinite_ = 0;
    }
    if (reference_ && cfg_.sync_ref_model && (step + 1) % cfg_.ref_model_sync_steps == 0) sync_reference();
    num_tokens_ += gen->all.tokens;  // all ranks

    // Metrics, TRL names.
    const auto& sc = gen->all.scores;  // all ranks (= gen->scores with one process)
    nlohmann::json m;
    m["step"] = step + 1;
    m["epoch"] = epoch_ + static_cast<double>(cursor_) / static_cast<double>(records_.size());
    m["reward"] = finite_or_null(mean_of(sc.totals));
    m["reward_std"] = finite_or_null(gen->adv.reward_std);  // TRL: std of all rewards in the batch
    for (size_t k = 0; k < sc.names.size(); ++k) {
      m["rewards/" + sc.names[k] + "/mean"] = finite_or_null(mean_of(sc.per_rewarder[k]));
      m["rewards/" + sc.names[k] + "/std"] = finite_or_null(std_of(sc.per_rewarder[k]));
    }
    m["frac_reward_zero_std"] = gen->all.frac_reward_zero_std;
    if (cfg_.dynamic_sampling) {
      m["dynamic_sampling/num_gen_batches"] = gen->gen_batches;
      m["dynamic_sampling/kept_groups"] = gen->all.kept_groups;
    }
    const std::vector<double>& lens = gen->all.lengths;
    const int64_t clipped = gen->all.clipped;
    m["completions/mean_length"] = mean_of(lens);
    m["completions/min_length"] = *std::min_element(lens.begin(), lens.end());
    m["completions/max_length"] = *std::max_element(lens.begin(), lens.end());
    m["completions/clipped_ratio"] = static_cast<double>(clipped) / static_cast<double>(lens.size());
    if (const auto acc_k = eval::find_accuracy_rewarder(*rewards_)) {
      const size_t acc = *acc_k;
      // Dr. GRPO §3.1: the length of incorrect responses is where GRPO's 1/|o_i| bias shows.
      double ok_len = 0, bad_len = 0;
      int64_t ok = 0, bad = 0;
      for (size_t i = 0; i < lens.size(); ++i) {
        const double a = sc.per_rewarder[acc][i];
        if (std::isnan(a)) continue;
        if (a >= 1.0) ok_len += lens[i], ++ok;
        else bad_len += lens[i], ++bad;
      }
      m["completions/mean_length_correct"] = ok > 0 ? nlohmann::json(ok_len / ok) : nlohmann::json(nullptr);
      m["completions/mean_length_incorrect"] = bad > 0 ? nlohmann::json(bad_len / bad) : nlohmann::json(nullptr);
    }
    m["kl"] = cfg_.loss.beta != 0.0 ? finite_or_null(res.kl) : nlohmann::json(nullptr);
    m["entropy"] = finite_or_null(res.entropy);
    m["clip_ratio/low_mean"] = res.clip_low;
    m["clip_ratio/high_mean"] = res.clip_high;
    m["clip_ratio/region_mean"] = res.clip_region;
    m["loss"] = finite_or_null(res.loss);
    m["grad_norm"] = finite_or_null(res.grad_norm);
    m["learning_rate"] = optimizer_->current_lr();
    m["num_tokens"] = num_tokens_;
    m["step_time"] = seconds_since(t_step);
    m["skipped"] = res.skipped;
    if (step % cfg_.num_iterations == 0) {
      m["rollout/seconds"] = gen->rollout_seconds;
      m["rollout/tokens_per_s"] = gen->rollout_stats.generated_tokens / std::max(1e-9, gen->rollout_seconds);
      m["rewards/seconds"] = gen->reward_seconds;
    }
    m["train/tokens_per_s"] = (gen->prompt_tokens + gen->completion_tokens) / std::max(1e-9, res.seconds);
    if (metrics && ((step + 1) % cfg_.logging_steps == 0 || step + 1 == cfg_.max_steps)) metrics->write(m);
    if (step == start) summary.first_metrics = m;
    summary.last_metrics = m;

    if (rank0 && cfg_.samples_steps > 0 && ((step + 1) % cfg_.samples_steps == 0 || step == start)) {
      // Rank 0's share of the step; gen->all.scores starts with rank 0's samples, in the same order.
      JsonlWriter w(run_dir_ / "samples" / ("step_" + std::to_string(step + 1) + ".jsonl"), false);
      for (size_t i = 0; i < gen->completions.size(); ++i) {
        const auto& c = gen->completions[i];
        nlohmann::json line = {{"prompt", gen->prompt_text[c.prompt_index]}, {"completion", c.text},
                               {"reward", finite_or_null(sc.totals[i])}, {"advantage", gen->adv.advantages[i]},
                               {"finish_reason", rollout::finish_name(c.finish)}, {"completion_tokens", c.ids.size()}};
        for (size_t k = 0; k < sc.names.size(); ++k) line["rewards"][sc.names[k]] = finite_or_null(sc.per_rewarder[k][i]);
        w.write(line);
      }
    }
    // Progress line.
    const double elapsed = seconds_since(t_run);
    const double eta = elapsed / static_cast<double>(step + 1 - start) * static_cast<double>(cfg_.max_steps - step - 1);
    const std::string acc_name = sc.names.empty() ? "" : sc.names[0];
    char kl_buf[32] = "-";
    if (cfg_.loss.beta != 0) std::snprintf(kl_buf, sizeof kl_buf, "%.4f", res.kl);
    const std::string kl_text = kl_buf;
    if (rank0)
      std::fprintf(stderr, "[grpo] step %lld/%lld  reward %.3f  %s %.3f  len %.1f  kl %s  loss %.4f  %.1fs/step  ETA %s\n",
                 static_cast<long long>(step + 1), static_cast<long long>(cfg_.max_steps), mean_of(sc.totals),
                 acc_name.c_str(), sc.names.empty() ? 0.0 : mean_of(sc.per_rewarder[0]), mean_of(lens),
                 kl_text.c_str(), res.loss, seconds_since(t_step),
                 human_duration(eta).c_str());
    const bool last = step + 1 == cfg_.max_steps;
    if (rank0 && cfg_.eval_steps > 0 && (step + 1) % cfg_.eval_steps == 0 && !last) {  // periodic evaluation (TRL eval_steps)
      auto rec = evaluate("step_" + std::to_string(step + 1));
      if (!rec.empty()) {
        rec["step"] = step + 1;
        if (metrics) metrics->write(rec);
      }
    }
    if (rank0 && ((cfg_.save_steps > 0 && (step + 1) % cfg_.save_steps == 0) || last)) save_checkpoint(step + 1);
  }
  summary.steps = cfg_.max_steps;
  if (rank0) summary.eval_after = evaluate("after");
  if (!summary.eval_after.empty()) {
    auto rec = summary.eval_after;
    rec["step"] = cfg_.max_steps;
    if (metrics) metrics->write(rec);
  }
  return summary;
}

}  // namespace r1kit::rl
