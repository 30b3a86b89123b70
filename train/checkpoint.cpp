#include "train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/config.h"
#include "core/error.h"

namespace r1kit::train {
namespace fs = std::filesystem;

fs::path write_checkpoint(const fs::path& run_dir, int64_t step, const std::function<void(const fs::path&)>& write_contents,
                          nlohmann::json trainer_state) {
  const fs::path final_dir = run_dir / "checkpoints" / ("step_" + std::to_string(step));
  const fs::path tmp = run_dir / "checkpoints" / (".step_" + std::to_string(step) + ".tmp");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    write_contents(tmp);  // creates tmp (model::save_pretrained does)
    fs::create_directories(tmp);
    trainer_state["step"] = step;
    if (!trainer_state.contains("version")) trainer_state["version"] = 1;
    write_json_atomic(tmp / "trainer_state.json", trainer_state);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec)
    throw IoError("cannot rename " + tmp.string() + " to " + final_dir.string() + ": " + ec.message() +
                  " — check free space and permissions in " + run_dir.string());
  return final_dir;
}

std::optional<CheckpointRef> latest_checkpoint(const fs::path& run_dir, const std::string& expected_format) {
  std::optional<CheckpointRef> best;
  const fs::path dir = run_dir / "checkpoints";
  if (!fs::exists(dir)) return best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (!name.starts_with("step_") || !fs::exists(e.path() / "trainer_state.json")) continue;
    int64_t s = 0;
    try {
      s = std::stoll(name.substr(5));
    } catch (const std::exception&) {
      continue;  // not one of ours (e.g. step_final copied by a user)
    }
    if (!best || s > best->step) best = CheckpointRef{s, e.path(), {}};
  }
  if (best) {
    best->state = load_json_file(best->dir / "trainer_state.json");
    if (!expected_format.empty() && best->state.value("format", std::string()) != expected_format)
      throw CheckpointError((best->dir / "trainer_state.json").string() + ": format \"" +
                            best->state.value("format", std::string()) + "\" is not \"" + expected_format +
                            "\" — this run directory was written by another trainer; resume it with that command, "
                            "or start a new run from its model with --set model.path=" + best->dir.string());
  }
  return best;
}

void load_weights_into(model::CausalLM& model, const fs::path& dir) {
  auto loaded = model::load_pretrained(dir, model.device(), model.dtype());
  torch::NoGradGuard ng;
  auto dst = model.parameters();
  auto src = loaded->parameters();
  if (dst.size() != src.size())
    throw CheckpointError(dir.string() + ": " + std::to_string(src.size()) + " parameters, the model has " +
                          std::to_string(dst.size()) + " — the checkpoint is of another architecture");
  for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
}

void save_rng_state(const fs::path& path) {
  auto gen = at::detail::getDefaultCPUGenerator();
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  torch::save(state, path.string());
}

void load_rng_state(const fs::path& path) {
  if (!fs::exists(path)) throw IoError(path.string() + ": missing (the checkpoint is incomplete)");
  torch::Tensor state;
  torch::load(state, path.string());
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace r1kit::train
