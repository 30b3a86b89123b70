#include "model/causal_lm.h"

#include <unistd.h>

#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "model/deepseek_v3.h"
#include "model/deepseek_v3_checkpoint.h"
#include "model/llama.h"
#include "model/safetensors.h"

namespace r1kit::model {
namespace fs = std::filesystem;

std::vector<std::pair<std::string, torch::Tensor>> CausalLM::hf_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
  return out;
}

torch::ScalarType CausalLM::dtype() const { return parameters().front().scalar_type(); }
torch::Device CausalLM::device() const { return parameters().front().device(); }

std::shared_ptr<CausalLM> create_causal_lm(const ModelConfig& config, bool tied) {
  if (config.model_type == "llama" || config.model_type == "qwen2")
    return std::make_shared<LlamaForCausalLM>(config, tied);
  if (config.model_type == "deepseek_v3") return std::make_shared<DeepseekV3ForCausalLM>(config, tied);
  throw CheckpointError("no implementation for model_type \"" + config.model_type + "\"");
}

torch::ScalarType dtype_from_name(const std::string& name) {
  if (name == "float32" || name == "fp32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16") return torch::kFloat16;
  throw InvalidArgument("unknown dtype \"" + name + "\"; use float32, bfloat16 or float16");
}

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: throw InvalidArgument(std::string("unsupported model dtype ") + c10::toString(dtype));
  }
}

namespace {

bool ignorable_extra(const std::string& name, bool tied) {
  if (name.ends_with("rotary_emb.inv_freq")) return true;  // older checkpoints saved the RoPE buffer
  if (tied && name == "lm_head.weight") return true;       // tied model saved with an explicit copy of the head
  return false;
}

}  // namespace

std::shared_ptr<CausalLM> load_pretrained(const fs::path& dir, torch::Device device, torch::ScalarType dtype) {
  if (!fs::exists(dir)) throw IoError(dir.string() + ": no such model directory");
  const ModelConfig config = ModelConfig::from_file(dir);
  const CheckpointReader reader = CheckpointReader::open(dir);
  const bool has_head = reader.contains("lm_head.weight");
  const bool tied = config.tie_word_embeddings.value_or(!has_head);
  if (!tied && !has_head)
    throw CheckpointError(dir.string() + ": missing tensor lm_head.weight, and config.json says "
                          "tie_word_embeddings=false; if the output head shares the embedding matrix set "
                          "\"tie_word_embeddings\": true");
  auto model = create_causal_lm(config, tied);
  std::set<std::string> consumed;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, param] : model->hf_state()) {
      if (!reader.contains(name))
        throw CheckpointError(dir.string() + ": missing tensor " + name + " (expected shape " +
                              c10::str(param.sizes()) + "); the checkpoint does not match config.json");
      torch::Tensor t = reader.get(name);
      if (t.scalar_type() == torch::kFloat8_e4m3fn || t.scalar_type() == torch::kFloat8_e5m2) {
        // Block-quantised FP8 weight (DeepSeek-V3 release): dequantise with its weight_scale_inv.
        const std::string scale = fp8_scale_name(name);
        if (!reader.contains(scale))
          throw CheckpointError(dir.string() + ": tensor " + name + " is FP8 but " + scale + " is missing; "
                                "FP8 weights need their block scales (quantization_config.weight_block_size)");
        const auto& block = config.fp8_weight_block_size;
        if (block.size() != 2)
          throw CheckpointError(dir.string() + ": tensor " + name + " is FP8 but config.json has no fp8 "
                                "quantization_config; add {\"quant_method\": \"fp8\", \"fmt\": \"e4m3\", "
                                "\"weight_block_size\": [128, 128]}");
        t = dequantize_fp8_blocks(t, reader.get(scale), block[0], block[1], name);
        consumed.insert(scale);
      }
      if (t.sizes() != param.sizes())
        throw CheckpointError(dir.string() + ": tensor " + name + " has shape " + c10::str(t.sizes()) +
                              " but config.json implies " + c10::str(param.sizes()));
      param.copy_(t);
      consumed.insert(name);
    }
  }
  std::vector<std::string> extra;
  int64_t mtp_skipped = 0;
  for (const auto& name : reader.names()) {
    if (consumed.count(name) || ignorable_extra(name, tied)) continue;
    if (is_mtp_tensor(config, name)) ++mtp_skipped;
    else extra.push_back(name);
  }
  if (mtp_skipped > 0)
    log_info_line(dir.string() + ": skipped " + std::to_string(mtp_skipped) +
                  " multi-token-prediction tensors (model.layers." + std::to_string(config.num_hidden_layers) +
                  ".*); r1kit does not use the MTP module");
  if (!extra.empty()) {
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", " : "") + extra[i];
    if (extra.size() > 5) list += ", … (" + std::to_string(extra.size()) + " in all)";
    throw CheckpointError(dir.string() + ": unexpected tensors not used by " + config.architecture + ": " + list +
                          "; the checkpoint does not match config.json");
  }
  model->to(device, dtype);
  model->eval();
  return model;
}

void save_pretrained(const CausalLM& model, const fs::path& dir, const fs::path& tokenizer_dir) {
  const fs::path target = fs::absolute(dir).lexically_normal();
  const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw IoError("cannot create " + tmp.string() + ": " + ec.message());
  try {
    const std::string dt = dtype_name(model.dtype());
    write_file_atomic(tmp / "config.json", model.config().to_json(dt, model.tied_embeddings()).dump(2) + "\n");
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto& [name, t] : model.hf_state()) tensors.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
    save_safetensors(tmp / "model.safetensors", tensors);
    bool have_gen = false;
    if (!tokenizer_dir.empty()) {
      for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                            "generation_config.json", "chat_template.jinja"}) {
        if (fs::exists(tokenizer_dir / f)) {
          fs::copy_file(tokenizer_dir / f, tmp / f, fs::copy_options::overwrite_existing, ec);
          if (ec) throw IoError("cannot copy " + (tokenizer_dir / f).string() + ": " + ec.message());
          if (std::string(f) == "generation_config.json") have_gen = true;
        }
      }
    }
    if (!have_gen) {
      nlohmann::json gen = {{"_from_model_config", true}};
      const auto& c = model.config();
      if (!c.bos_token_ids.empty()) gen["bos_token_id"] = c.bos_token_ids[0];
      if (c.eos_token_ids.size() == 1) gen["eos_token_id"] = c.eos_token_ids[0];
      else if (!c.eos_token_ids.empty()) gen["eos_token_id"] = c.eos_token_ids;
      write_file_atomic(tmp / "generation_config.json", gen.dump(2) + "\n");
    }
    // Swap in: old -> .old, tmp -> target, drop .old. A crash leaves either the old or the new directory.
    const fs::path old = target.parent_path() / ("." + target.filename().string() + ".old-" + std::to_string(::getpid()));
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(tmp, target);
    fs::remove_all(old, ec);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace r1kit::model
