#include "sft/sft_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "core/log.h"
#include "core/strings.h"
#include "rollout/engine.h"
#include "rollout/stop.h"
#include "train/checkpoint.h"

namespace r1kit::sft {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
constexpr const char* kStateFormat = "r1kit-sft-trainer-state";
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
}  // namespace

SFTTrainer::SFTTrainer(SFTConfig config)
    : cfg_(std::move(config)), run_dir_(cfg_.output_dir), tokenizer_(tokenizer::Tokenizer::from_dir(cfg_.model_path)) {
  dist_ = train::DistributedContext::process_default({cfg_.ddp_timeout, torch::kCPU});
  model_ = model::load_pretrained(cfg_.model_path, torch::kCPU, model::dtype_from_name(cfg_.dtype));
  model_->train();
  if (auto p = tokenizer_.pad_token_id()) pad_id_ = *p;
  else if (auto e = tokenizer_.eos_token_id()) pad_id_ = *e;  // pad positions are masked; any id works

  ExampleRenderer renderer(cfg_, tokenizer_, cfg_.model_path + "/tokenizer_config.json");
  train_ = load_examples(cfg_.data.train_file, cfg_.data.limit, renderer, cfg_, &train_stats_);
  log_info_line("train data " + cfg_.data.train_file + ": " + train_stats_.summary());
  if (!cfg_.data.eval_file.empty()) {
    eval_ = load_examples(cfg_.data.eval_file, 0, renderer, cfg_, &eval_stats_);
    log_info_line("eval data " + cfg_.data.eval_file + ": " + eval_stats_.summary());
  } else if (cfg_.data.eval_fraction > 0) {
    // A seeded held-out split of the training examples; the rest keep their file order.
    const size_t n_eval = std::max<size_t>(1, static_cast<size_t>(std::llround(cfg_.data.eval_fraction * train_.size())));
    if (n_eval >= train_.size())
      throw ConfigError("data.eval_fraction " + std::to_string(cfg_.data.eval_fraction) + " leaves no training "
                        "examples out of " + std::to_string(train_.size()) + " — lower it or give data.eval_file");
    std::vector<size_t> idx(train_.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::mt19937_64 rng(cfg_.seed * 2654435761ULL + 17);
    std::shuffle(idx.begin(), idx.end(), rng);
    std::vector<uint8_t> is_eval(train_.size(), 0);
    for (size_t i = 0; i < n_eval; ++i) is_eval[idx[i]] = 1;
    std::vector<SFTExample> rest;
    for (size_t i = 0; i < train_.size(); ++i) (is_eval[i] ? eval_ : rest).push_back(std::move(train_[i]));
    train_ = std::move(rest);
    log_info_line("eval split: " + std::to_string(eval_.size()) + " examples held out of the training file (" +
                  std::to_string(train_.size()) + " left for training)");
  }
  // Under torchrun every rank takes per_device_train_batch_size rows per micro-batch (as TRL / transformers).
  const int64_t per_step = cfg_.per_device_train_batch_size * cfg_.gradient_accumulation_steps * dist_->world_size();
  if (cfg_.max_steps > 0) {
    total_steps_ = cfg_.max_steps;
  } else {
    const double units = static_cast<double>(epoch_units(0).size());
    total_steps_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(cfg_.num_train_epochs * units / per_step)));
  }
  optimizer_ = std::make_unique<train::Optimizer>(model_->named_parameters(), cfg_.optim, total_steps_);
}

std::vector<std::vector<size_t>> SFTTrainer::epoch_units(int64_t epoch) const {
  std::vector<size_t> order(train_.size());
  std::iota(order.begin(), order.end(), 0);
  if (cfg_.data.shuffle) {
    std::mt19937_64 rng(cfg_.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), rng);
  }
  if (cfg_.packing) return pack_examples(train_, order, cfg_.max_length);
  std::vector<std::vector<size_t>> units;
  units.reserve(order.size());
  for (size_t i : order) units.push_back({i});
  return units;
}

Batch SFTTrainer::make_batch(const std::vector<std::vector<size_t>>& units, const std::vector<SFTExample>& pool) const {
  if (cfg_.packing) {
    std::vector<std::vector<const SFTExample*>> rows;
    for (const auto& u : units) {
      rows.emplace_back();
      for (size_t i : u) rows.back().push_back(&pool[i]);
    }
    return make_packed_batch(rows, pad_id_);
  }
  std::vector<const SFTExample*> rows;
  for (const auto& u : units)
    for (size_t i : u) rows.push_back(&pool[i]);
  return make_padded_batch(rows, pad_id_);
}

std::vector<Batch> SFTTrainer::next_step_batches() {
  std::vector<Batch> out;
  if (units_.empty()) units_ = epoch_units(epoch_);
  // Every rank walks the same global order; micro-batch k of the step is W × per_device units, of which rank r
  // trains on the r-th slice (a single process: all of them).
  const int64_t pd = cfg_.per_device_train_batch_size, W = dist_->world_size(), r = dist_->rank();
  for (int64_t k = 0; k < cfg_.gradient_accumulation_steps; ++k) {
    std::vector<std::vector<size_t>> take;
    while (static_cast<int64_t>(take.size()) < pd * W) {
      if (cursor_ >= static_cast<int64_t>(units_.size())) {
        ++epoch_;
        units_ = epoch_units(epoch_);
        cursor_ = 0;
      }
      take.push_back(units_[cursor_++]);
    }
    if (W > 1) take = std::vector<std::vector<size_t>>(take.begin() + r * pd, take.begin() + (r + 1) * pd);
    out.push_back(make_batch(take, train_));
  }
  return out;
}

double SFTTrainer::train_step(const std::vector<Batch>& micro, int64_t step, double* grad_norm) {
  // Normaliser: every target token of the optimizer step (all micro-batches) — TRL's num_items_in_batch.
  // Under torchrun the normaliser is the whole step's count over all ranks, so summed gradients are the update of
  // the combined batch.
  std::vector<double> total_v{0.0};
  for (const auto& b : micro) total_v[0] += static_cast<double>(b.num_target_tokens);
  dist_->all_reduce_sum(total_v);
  const double total = total_v[0];
  optimizer_->zero_grad();
  std::vector<double> nll{0.0};
  if (total > 0) {
    for (const auto& b : micro) {
      if (b.num_target_tokens == 0) continue;
      auto sum = token_nll_sum(*model_, b, cfg_.logprob_chunk_rows);
      (sum / total).backward();
      nll[0] += sum.item<double>();
    }
  }
  if (dist_->is_distributed()) {
    dist_->all_reduce_gradients(*model_);
    dist_->all_reduce_sum(nll);
  }
  const double gn = optimizer_->step(step);  // non-finite norm: no update, gradients zeroed
  if (grad_norm) *grad_norm = gn;
  optimizer_->zero_grad();
  return total > 0 ? nll[0] / total : std::nan("");
}

double SFTTrainer::evaluate_loss() {
  if (eval_.empty()) return std::nan("");
  torch::NoGradGuard ng;
  double nll = 0;
  int64_t n = 0;
  for (size_t s = 0; s < eval_.size(); s += cfg_.per_device_eval_batch_size) {
    std::vector<const SFTExample*> rows;
    for (size_t i = s; i < std::min(eval_.size(), s + cfg_.per_device_eval_batch_size); ++i) rows.push_back(&eval_[i]);
    auto b = make_padded_batch(rows, pad_id_);
    nll += token_nll_sum(*model_, b, cfg_.logprob_chunk_rows).item<double>();
    n += b.num_target_tokens;
  }
  return n > 0 ? nll / static_cast<double>(n) : std::nan("");
}

void SFTTrainer::save_checkpoint(int64_t step) {
  nlohmann::json state = {{"format", kStateFormat}, {"version", 1}, {"epoch", epoch_}, {"cursor", cursor_},
                          {"num_tokens", num_tokens_}, {"total_steps", total_steps_}};
  const auto dir = train::write_checkpoint(run_dir_, step, [&](const fs::path& tmp) {
    model::save_pretrained(*model_, tmp, cfg_.model_path);  // + tokenizer files: a model dir `r1kit grpo` loads
    optimizer_->save((tmp / "optimizer.pt").string());
    train::save_rng_state(tmp / "rng_state.pt");
  }, state);
  log_info_line("saved checkpoint " + dir.string());
}

int64_t SFTTrainer::load_checkpoint(const fs::path& run_dir) {
  const auto ckpt = train::latest_checkpoint(run_dir, kStateFormat);
  if (!ckpt) {
    log_warn_line(run_dir.string() + ": no checkpoint yet (the run stopped before its first save); starting it "
                  "again from step 0");
    return 0;
  }
  train::load_weights_into(*model_, ckpt->dir);
  optimizer_->load((ckpt->dir / "optimizer.pt").string());
  train::load_rng_state(ckpt->dir / "rng_state.pt");
  epoch_ = ckpt->state.at("epoch").get<int64_t>();
  cursor_ = ckpt->state.at("cursor").get<int64_t>();
  num_tokens_ = ckpt->state.at("num_tokens").get<int64_t>();
  units_ = epoch_units(epoch_);  // the epoch's order, rebuilt exactly
  log_info_line("resumed from " + ckpt->dir.string() + " (step " + std::to_string(ckpt->step) + ")");
  return ckpt->step;
}

void SFTTrainer::write_samples(int64_t step) {
  if (cfg_.sample_prompts <= 0) return;
  const auto& pool = eval_.empty() ? train_ : eval_;
  std::vector<std::vector<int64_t>> prompts;
  std::vector<const SFTExample*> src;
  for (const auto& ex : pool) {
    if (static_cast<int64_t>(prompts.size()) >= cfg_.sample_prompts) break;
    if (ex.prompt_tokens < 1 || ex.prompt_tokens >= static_cast<int64_t>(ex.ids.size())) continue;
    prompts.emplace_back(ex.ids.begin(), ex.ids.begin() + ex.prompt_tokens);
    src.push_back(&ex);
  }
  if (prompts.empty()) return;
  rollout::RolloutEngine engine(model_, &tokenizer_);
  rollout::SamplingParams sp;
  sp.n = 1;
  sp.temperature = 0;  // greedy
  sp.max_new_tokens = static_cast<int>(cfg_.sample_max_new_tokens);
  sp.stop_token_ids =
      rollout::default_stop_token_ids(cfg_.model_path, model_->config().eos_token_ids, tokenizer_.eos_token_id());
  std::vector<rollout::Completion> comps;
  {
    torch::NoGradGuard ng;
    comps = engine.generate(prompts, sp);
  }
  model_->train();
  JsonlWriter w(run_dir_ / "samples" / ("step_" + std::to_string(step) + ".jsonl"), false);
  for (const auto& c : comps)
    w.write({{"prompt", src[c.prompt_index]->prompt}, {"completion", c.text}, {"reference", src[c.prompt_index]->target},
             {"finish_reason", rollout::finish_name(c.finish)}, {"completion_tokens", c.ids.size()}});
}

SFTSummary SFTTrainer::train(const std::optional<fs::path>& resume) {
  SFTSummary summary;
  int64_t start = 0;
  if (resume) {
    run_dir_ = *resume;
    start = load_checkpoint(*resume);
  } else if (fs::exists(run_dir_ / "checkpoints") ||
             (fs::exists(run_dir_ / "metrics.jsonl") && fs::file_size(run_dir_ / "metrics.jsonl") > 0)) {
    throw IoError(run_dir_.string() + " already holds a run (metrics.jsonl); continue it with --resume " +
                  run_dir_.string() + " or choose another output_dir (--set output_dir=...)");
  }
  // Same weights on every rank (rank 0's, after its load or resume); rank 0 alone writes the run directory.
  dist_->broadcast_parameters(*model_);
  const bool main = dist_->is_main();
  if (main) {
    fs::create_directories(run_dir_ / "samples");
    start_log_file("info", run_dir_ / "log.txt");
    write_json_atomic(run_dir_ / "config.json", cfg_.resolved());
    write_json_atomic(run_dir_ / "data_stats.json", {{"train", train_stats_.to_json()}, {"eval", eval_stats_.to_json()},
                                                     {"train_examples", train_.size()}, {"eval_examples", eval_.size()}});
  }
  summary.run_dir = run_dir_;
  if (main && resume && fs::exists(run_dir_ / "metrics.jsonl")) {  // keep only the steps the checkpoint covers
    std::string kept;
    for (const auto& r : read_jsonl(run_dir_ / "metrics.jsonl"))
      if (!r.contains("step") || r["step"].get<int64_t>() <= start) kept += r.dump() + "\n";
    write_file_atomic(run_dir_ / "metrics.jsonl", kept);
  }
  if (main && start == 0 && fs::exists(run_dir_ / "metrics.jsonl")) fs::remove(run_dir_ / "metrics.jsonl");
  if (start >= total_steps_) {
    log_info_line("the run is already at step " + std::to_string(start) + " of " + std::to_string(total_steps_) +
                  "; nothing to do (raise it with --set max_steps=N)");
    summary.steps = start;
    return summary;
  }
  std::optional<JsonlWriter> metrics;
  if (main) metrics.emplace(run_dir_ / "metrics.jsonl", /*append=*/true);
  log_info_line("SFT of " + cfg_.model_path + " for " + std::to_string(total_steps_ - start) + " steps (" +
                std::to_string(train_.size()) + " examples" + (cfg_.packing ? ", packed" : "") + ") into " +
                run_dir_.string());
  if (start == 0) {
    summary.eval_loss_before = evaluate_loss();
    if (main && !std::isnan(summary.eval_loss_before))
      metrics->write({{"step", 0}, {"eval_loss", summary.eval_loss_before}});
  }
  const auto t_run = Clock::now();
  for (int64_t step = start; step < total_steps_; ++step) {
    const auto t_step = Clock::now();
    auto batches = next_step_batches();
    dist_->test_failure_point(step);
    std::vector<double> counts{0.0, 0.0};  // tokens, target tokens of the step over all ranks
    for (const auto& b : batches) counts[0] += b.num_tokens, counts[1] += b.num_target_tokens;
    dist_->all_reduce_sum(counts);
    const auto tokens = static_cast<int64_t>(counts[0]), targets = static_cast<int64_t>(counts[1]);
    const auto t_opt = Clock::now();
    double grad_norm = 0;
    const double loss = train_step(batches, step, &grad_norm);
    const double opt_seconds = seconds_since(t_opt);
    num_tokens_ += tokens;
    const bool last = step + 1 == total_steps_;
    nlohmann::json m;
    m["step"] = step + 1;
    m["epoch"] = static_cast<double>(epoch_) + static_cast<double>(cursor_) / static_cast<double>(units_.size());
    m["loss"] = finite_or_null(loss);
    m["grad_norm"] = finite_or_null(grad_norm);
    m["learning_rate"] = optimizer_->current_lr();
    m["num_tokens"] = num_tokens_;
    m["num_target_tokens"] = targets;
    m["train/tokens_per_s"] = static_cast<double>(tokens) / std::max(1e-9, opt_seconds);
    if (!std::isfinite(grad_norm)) log_warn_line("step " + std::to_string(step + 1) + ": non-finite gradient; skipped");
    const bool do_eval = (cfg_.eval_steps > 0 && (step + 1) % cfg_.eval_steps == 0) || last;
    if (do_eval && !eval_.empty()) {
      const double el = evaluate_loss();
      m["eval_loss"] = finite_or_null(el);
      if (last) summary.eval_loss_after = el;
    }
    m["step_time"] = seconds_since(t_step);
    if (main && ((step + 1) % cfg_.logging_steps == 0 || last || m.contains("eval_loss"))) metrics->write(m);
    if (step == start) summary.first_metrics = m;
    summary.last_metrics = m;
    const double elapsed = seconds_since(t_run);
    const double eta = elapsed / static_cast<double>(step + 1 - start) * static_cast<double>(total_steps_ - step - 1);
    char eval_buf[48] = "";
    if (m.contains("eval_loss") && m["eval_loss"].is_number())
      std::snprintf(eval_buf, sizeof eval_buf, "  eval_loss %.4f", m["eval_loss"].get<double>());
    std::fprintf(stderr, "[sft] step %lld/%lld  epoch %.2f  loss %.4f%s  lr %.3g  grad_norm %.3f  %.0f tok/s  %.1fs/step  ETA %s\n",
                 static_cast<long long>(step + 1), static_cast<long long>(total_steps_), m["epoch"].get<double>(), loss,
                 eval_buf, optimizer_->current_lr(), grad_norm, m["train/tokens_per_s"].get<double>(),
                 seconds_since(t_step), human_duration(eta).c_str());
    if ((cfg_.save_steps > 0 && (step + 1) % cfg_.save_steps == 0) || last) {
      if (main) {
        save_checkpoint(step + 1);
        write_samples(step + 1);
      }
      dist_->barrier();  // no rank runs ahead of a checkpoint it may be asked to resume from
    }
  }
  summary.steps = total_steps_;
  summary.final_checkpoint = run_dir_ / "checkpoints" / ("step_" + std::to_string(total_steps_));
  return summary;
}

}  // namespace r1kit::sft
