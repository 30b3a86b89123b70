// Evaluator: samples K completions per problem of a data set with the rollout engine, scores them with a reward
// set, and aggregates pass@k, maj@k, response length and format rate (eval/metrics.h). Used by `r1kit eval` and
// by the GRPO trainer's evaluation (before / every eval_steps / after training).
//
//   records ─► question ─► prompt template ─► tokens (no added special tokens, as TRL) ─► RolloutEngine (K each)
//   ─► RewardSet (+ a format rewarder for the format rate) ─► per-problem results ─► summary
//
// "Correct" is decided by one rewarder of the set, the accuracy reward: by default the first entry of type
// math_accuracy, code_execution or countdown (else the first entry); a sample is correct when its score is
// >= correct_threshold (1.0: the math answer is right / every code test passes).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rewards/reward_set.h"
#include "rollout/engine.h"
#include "rollout/sampling_params.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::eval {

/// A data set ready to evaluate.
struct EvalTask {
  std::string name;                      // used in metric keys eval/<name>/<metric>, e.g. "gsm8k"
  std::string path;                      // the JSONL file it came from
  std::vector<nlohmann::json> records;   // [P] dataset records (gold answers, tests) handed to the rewarders
  std::vector<std::string> questions;    // [P] question text, before the prompt template
};

/// Loads `path` (JSONL): the question of each record is its string field `question_field`; `limit` > 0 keeps the
/// first N records. `name` "" = dataset_name_for(path). Throws IoError / DataError (FILE:LINE, how to fix) for a
/// missing file, a bad line, a missing question field or an empty file.
EvalTask load_task(const std::filesystem::path& path, const std::string& question_field, int64_t limit = 0,
                   std::string name = "");

struct EvalOptions {
  std::string prompt_template = "r1_zero";  // r1_zero | r1_zero_think | qwen_math | none | chat
  rollout::SamplingParams sampling;         // n = K samples per problem, temperature (0 = greedy), top_p, seed,
                                            // max_new_tokens, stop_token_ids (set them: usually the EOS ids)
  int64_t max_prompt_length = 0;            // tokens; a longer prompt keeps its end (TRL); 0 = no limit
  std::string accuracy_reward;              // rewarder name deciding "correct"; "" = automatic (header comment)
  double correct_threshold = 1.0;           // correct ⇔ accuracy score >= this
};

struct SampleResult {
  std::string completion;
  int64_t tokens = 0;                 // completion length in tokens
  bool truncated = false;             // stopped by max_new_tokens
  std::vector<double> scores;         // [K rewarders], NaN = not applicable
  double reward = 0;                  // weighted total (NaN when every rewarder is NaN)
  double format = 0;                  // format rewarder score (the format rate counts > 0)
  std::optional<std::string> answer;  // extracted final answer (math accuracy only)
  bool correct = false;
};

struct ProblemResult {
  size_t index = 0;                   // record index in the task
  std::string prompt;                 // rendered prompt
  std::vector<SampleResult> samples;  // [n] in sampling order
  int64_t correct = 0;                // c
  std::map<int64_t, double> pass_at;  // k -> pass@k for k in reported_ks(n)
  std::optional<bool> maj_correct;    // maj@n (math accuracy only)
  std::optional<std::string> maj_answer;
  int64_t maj_votes = 0;
};

struct EvalSummary {
  std::string dataset, path, accuracy_reward, prompt_template;
  int64_t num_problems = 0, n = 0;     // problems, samples per problem (K)
  double temperature = 0;
  std::map<int64_t, double> pass_at;   // mean over problems
  std::optional<double> maj_at_n;      // mean over problems (math accuracy only)
  double mean_length = 0;              // completion tokens, mean over every sample
  double mean_length_correct = 0;      // … over correct samples only (NaN when none; Dr. GRPO §3.1 compares
  double mean_length_incorrect = 0;    //   the length of incorrect responses under GRPO and Dr. GRPO)
  double format_rate = 0;              // fraction of samples with format score > 0
  double truncated_rate = 0;           // fraction of samples cut by max_new_tokens
  double reward = 0;                   // mean weighted reward (NaN skipped)
  std::vector<std::string> reward_names;
  std::vector<double> reward_means;    // [K] mean per rewarder (NaN skipped)
  double seconds = 0;                  // wall time of generation + scoring

  /// Flat metric map with `prefix`: {prefix+"pass@1", prefix+"pass@8", prefix+"maj@8", prefix+"mean_length",
  /// prefix+"mean_length_correct", prefix+"mean_length_incorrect", prefix+"format_rate", prefix+"truncated_rate", prefix+"reward", prefix+"num_problems"}. Non-finite -> null.
  nlohmann::json metrics(const std::string& prefix) const;
  /// Everything above as one object (summary.json of `r1kit eval`).
  nlohmann::json to_json() const;
};

struct EvalResult {
  EvalSummary summary;
  std::vector<ProblemResult> problems;

  /// One line per problem: index, question, gold (when the record has an "answer"), correct, pass@k, maj, and the
  /// samples (completion, answer, correct, reward, scores, tokens, truncated).
  void write_problems(const std::filesystem::path& path, const EvalTask& task) const;
  /// One line per sample (the trainer's samples/eval_*.jsonl): prompt, completion, reward, rewards, correct.
  void write_samples(const std::filesystem::path& path) const;
};

/// Index in `set` of the rewarder deciding "correct": the one named `wanted` when given (InvalidArgument naming the
/// rewarders when absent), else the first math_accuracy / code_execution / countdown rewarder, else 0.
size_t accuracy_index(const rewards::RewardSet& set, const std::string& wanted);
/// The first math_accuracy / code_execution / countdown rewarder of `set`, if any.
std::optional<size_t> find_accuracy_rewarder(const rewards::RewardSet& set);

/// Runs the evaluation. `chat` is needed only for the "chat" template. Throws InvalidArgument for bad sampling
/// parameters or an unknown accuracy_reward (listing the names), ConfigError for an unknown template.
EvalResult evaluate(rollout::RolloutEngine& engine, const tokenizer::Tokenizer& tokenizer,
                    const tokenizer::ChatTemplate* chat, const rewards::RewardSet& rewards, const EvalTask& task,
                    const EvalOptions& options, const rollout::ProgressFn& progress = {});

/// A fixed-width table of summaries (one row each): dataset, problems, K, pass@1, pass@K, maj@K, length, format.
std::string format_summary_table(const std::vector<EvalSummary>& rows);

}  // namespace r1kit::eval
