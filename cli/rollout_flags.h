// The rollout-engine flags shared by `r1kit generate` and `r1kit eval` (rollout::RolloutOptions).
#pragma once

#include <CLI/CLI.hpp>

#include "rollout/engine.h"

namespace r1kit::cli {

/// Adds --max-batch-rows, --kv-cache-tokens and --gemm, writing into `ro` (defaults shown in --help).
inline void add_rollout_flags(CLI::App* cmd, rollout::RolloutOptions& ro) {
  cmd->add_option("--max-batch-rows", ro.max_batch_rows, "Sequences decoded together")->capture_default_str();
  cmd->add_option("--kv-cache-tokens", ro.kv_cache_tokens, "KV-cache budget in token slots")->capture_default_str();
  cmd->add_option("--gemm", ro.gemm,
                  "Generation GEMM: auto (avx2, else onednn, where it applies) | default (the training kernels) | "
                  "avx2 (r1kit's kernels, CPU fp32) | onednn (CPU fp32)")
      ->check(CLI::IsMember({"auto", "default", "avx2", "onednn"}))
      ->capture_default_str();
}

}  // namespace r1kit::cli
