#include "model/inference_weights.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include "core/error.h"
#include "model/panel_gemm.h"

namespace r1kit::model {

namespace {

using ReorderFn = at::Tensor(const at::Tensor&, std::optional<int64_t>);
using LinearFn = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::string_view,
                            c10::List<std::optional<at::Scalar>>, std::optional<c10::string_view>);

/// The oneDNN ops, looked up once; nullopt when this LibTorch build does not register them.
const std::optional<std::pair<c10::TypedOperatorHandle<ReorderFn>, c10::TypedOperatorHandle<LinearFn>>>& onednn_ops() {
  static const auto ops =
      []() -> std::optional<std::pair<c10::TypedOperatorHandle<ReorderFn>, c10::TypedOperatorHandle<LinearFn>>> {
    auto& d = c10::Dispatcher::singleton();
    auto reorder = d.findSchema({"mkldnn::_reorder_linear_weight", ""});
    auto linear = d.findSchema({"mkldnn::_linear_pointwise", ""});
    if (!reorder || !linear || !at::hasMKLDNN()) return std::nullopt;
    return std::make_pair(reorder->typed<ReorderFn>(), linear->typed<LinearFn>());
  }();
  return ops;
}

}  // namespace

InferenceGemm parse_inference_gemm(const std::string& name) {
  if (name == "default") return InferenceGemm::kDefault;
  if (name == "onednn") return InferenceGemm::kOneDnnPacked;
  if (name == "avx2") return InferenceGemm::kAvx2Panels;
  if (name == "auto") return panel_gemm::available() ? InferenceGemm::kAvx2Panels : InferenceGemm::kOneDnnPacked;
  throw InvalidArgument("unknown inference GEMM '" + name + "'; use \"auto\", \"default\", \"avx2\" or \"onednn\"");
}

bool PreparedLinear::packs(const torch::Tensor& weight, InferenceGemm gemm) {
  if (!weight.device().is_cpu() || weight.scalar_type() != torch::kFloat32) return false;
  if (gemm == InferenceGemm::kOneDnnPacked) return onednn_ops().has_value();
  if (gemm == InferenceGemm::kAvx2Panels) return panel_gemm::available();
  return false;
}

PreparedLinear PreparedLinear::make(const torch::Tensor& weight, const torch::Tensor& bias, InferenceGemm gemm,
                                    int64_t rows_hint) {
  PreparedLinear p;
  p.bias = bias.defined() ? bias.detach().contiguous() : torch::Tensor();
  p.out_features = weight.size(0);
  if (!packs(weight, gemm)) {
    p.weight = weight.detach().contiguous();
  } else if (gemm == InferenceGemm::kOneDnnPacked) {
    p.weight = onednn_ops()->first.call(weight.detach().contiguous(), std::max<int64_t>(1, rows_hint));
    p.kind = gemm;
  } else {
    p.weight = panel_gemm::pack(weight);
    p.kind = gemm;
  }
  return p;
}

torch::Tensor PreparedLinear::operator()(const torch::Tensor& x) const {
  if (kind == InferenceGemm::kDefault) return torch::linear(x, weight, bias);
  if (kind == InferenceGemm::kAvx2Panels) return panel_gemm::linear(x, weight, out_features, bias);
  c10::List<std::optional<at::Scalar>> scalars;
  scalars.push_back(std::nullopt);
  return onednn_ops()->second.call(x.contiguous(), weight, bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt,
                                   "none", scalars, std::string_view(""));
}

}  // namespace r1kit::model
