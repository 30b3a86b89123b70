// Checkpoints shared by both trainers (SFT and GRPO): the run directory's checkpoints/step_N/ folders.
//
//   checkpoints/step_N/   model in Hugging Face layout (config.json, model.safetensors, tokenizer files) — what
//                         `r1kit grpo --set model.path=…/step_N` or transformers' from_pretrained loads
//                         trainer_state.json  {"format": "r1kit-<trainer>-trainer-state", "version": 1, "step": N, …}
//                         optimizer.pt        AdamW moments (train/optimizer.h)
//                         rng_state.pt        LibTorch's default CPU generator state (when the trainer saves it)
//
// A checkpoint is written into a hidden sibling (.step_N.tmp) and renamed into place only once complete, so a
// crash mid-save leaves the previous checkpoints intact and never a half-written step_N (latest_checkpoint only
// considers step_N folders that contain trainer_state.json).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/causal_lm.h"

namespace r1kit::train {

/// Writes RUN_DIR/checkpoints/step_<step>/ atomically: `write_contents(tmp_dir)` fills a temporary directory
/// (model, optimizer, …); then `trainer_state` (must hold "format") is written as trainer_state.json with "step"
/// and "version" added, and the directory is renamed over any previous step_<step>. Returns the final path.
/// Throws IoError (or whatever write_contents throws; the temporary directory is then removed).
std::filesystem::path write_checkpoint(const std::filesystem::path& run_dir, int64_t step,
                                       const std::function<void(const std::filesystem::path&)>& write_contents,
                                       nlohmann::json trainer_state);

struct CheckpointRef {
  int64_t step = 0;
  std::filesystem::path dir;  // RUN_DIR/checkpoints/step_N
  nlohmann::json state;       // its trainer_state.json
};

/// Newest complete checkpoint (highest N with a trainer_state.json) in RUN_DIR/checkpoints, or nullopt.
/// When `expected_format` is not empty, a trainer_state.json of another format is a CheckpointError (e.g. resuming
/// an SFT run with `r1kit grpo`), naming the file and how to fix it.
std::optional<CheckpointRef> latest_checkpoint(const std::filesystem::path& run_dir,
                                               const std::string& expected_format = {});

/// Copies the parameters of the Hugging Face checkpoint in `dir` into `model` in place (same architecture and
/// shapes; the optimizer keeps pointing at the same tensors). Throws CheckpointError / IoError from loading.
void load_weights_into(model::CausalLM& model, const std::filesystem::path& dir);

/// LibTorch's default CPU generator state <-> `path` (rng_state.pt). Throws IoError.
void save_rng_state(const std::filesystem::path& path);
void load_rng_state(const std::filesystem::path& path);

}  // namespace r1kit::train
