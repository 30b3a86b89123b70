#include "model/deepseek_v3_checkpoint.h"

#include "core/error.h"

namespace r1kit::model {

torch::Tensor dequantize_fp8_blocks(const torch::Tensor& q, const torch::Tensor& scale_inv, int64_t bo, int64_t bi,
                                    const std::string& name) {
  if (q.dim() != 2 || scale_inv.dim() != 2 || bo <= 0 || bi <= 0)
    throw CheckpointError("FP8 tensor " + name + ": expected a 2-D weight and 2-D " + fp8_scale_name(name) +
                          ", got " + c10::str(q.sizes()) + " and " + c10::str(scale_inv.sizes()));
  const int64_t O = q.size(0), I = q.size(1);
  const int64_t no = (O + bo - 1) / bo, ni = (I + bi - 1) / bi;
  if (scale_inv.size(0) != no || scale_inv.size(1) != ni)
    throw CheckpointError("FP8 tensor " + name + " [" + std::to_string(O) + ", " + std::to_string(I) + "] with " +
                          "weight_block_size [" + std::to_string(bo) + ", " + std::to_string(bi) + "] needs " +
                          fp8_scale_name(name) + " of shape [" + std::to_string(no) + ", " + std::to_string(ni) +
                          "], got " + c10::str(scale_inv.sizes()) +
                          "; check quantization_config.weight_block_size in config.json");
  auto s = scale_inv.to(torch::kFloat32)
               .repeat_interleave(bo, 0)
               .narrow(0, 0, O)
               .repeat_interleave(bi, 1)
               .narrow(1, 0, I);
  return q.to(torch::kFloat32) * s;
}

std::string fp8_scale_name(const std::string& weight_name) { return weight_name + "_scale_inv"; }

bool is_mtp_tensor(const ModelConfig& c, const std::string& name) {
  if (c.model_type != "deepseek_v3") return false;
  static const std::string prefix = "model.layers.";
  if (!name.starts_with(prefix)) return false;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return false;
  const std::string idx = name.substr(prefix.size(), dot - prefix.size());
  if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos || idx.size() > 9) return false;
  const int64_t layer = std::stoll(idx);
  return layer >= c.num_hidden_layers && layer < c.num_hidden_layers + std::max<int64_t>(1, c.num_nextn_predict_layers);
}

}  // namespace r1kit::model
