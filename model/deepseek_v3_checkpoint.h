// Checkpoint details of released DeepSeek-V3/R1 weights that load_pretrained needs: FP8 (e4m3) block-quantised
// linear weights with a float32 `weight_scale_inv` per block, and the multi-token-prediction (MTP) module stored as
// extra decoder layers model.layers.{num_hidden_layers + i}.*.
//
// Block convention (DeepSeek-V3 inference/kernel.py `weight_dequant`; transformers finegrained_fp8): for a weight
// W [O,I] and weight_block_size [bo,bi], scale_inv has shape [ceil(O/bo), ceil(I/bi)] and
// W[o,i] = float(q[o,i]) * scale_inv[o / bo, i / bi]; the last row/column blocks may be partial.
#pragma once

#include <torch/torch.h>

#include <string>

#include "model/model_config.h"

namespace r1kit::model {

/// Dequantises q [O,I] (float8_e4m3fn / float8_e5m2, or any float dtype) with scale_inv [ceil(O/bo), ceil(I/bi)]
/// to float32 [O,I]. Throws CheckpointError (naming `name`) when the scale shape does not match.
torch::Tensor dequantize_fp8_blocks(const torch::Tensor& q, const torch::Tensor& scale_inv, int64_t block_rows,
                                    int64_t block_cols, const std::string& name = "weight");

/// The scale tensor name of an FP8 weight: "<prefix>.weight" -> "<prefix>.weight_scale_inv".
std::string fp8_scale_name(const std::string& weight_name);

/// True for tensors of the MTP module(s) of a deepseek_v3 checkpoint: model.layers.{L..L+n-1}.* with
/// L = num_hidden_layers and n = num_nextn_predict_layers (at least 1). Always false for other model types.
bool is_mtp_tensor(const ModelConfig& config, const std::string& name);

}  // namespace r1kit::model
