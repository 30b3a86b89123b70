// Dequantisation of ggml block formats to float32.
//
// Block layouts (ggml `ggml-common.h`; arithmetic order as ggml-quants.c `dequantize_row_*` and gguf-py
// `gguf/quants.py`, so results are bit-identical to `gguf.quants.dequantize`):
//   Q8_0  32 values, 34 B: f16 d, i8 q[32]                         x = d * q
//   Q4_0  32 values, 18 B: f16 d, u8 qs[16]                        x[j] = d * (lo(qs[j]) - 8), x[j+16] = d * (hi - 8)
//   Q4_1  32 values, 20 B: f16 d, f16 m, u8 qs[16]                 x = d * nibble + m (same nibble order as Q4_0)
//   Q4_K 256 values, 144 B: f16 d, f16 dmin, u8 scales[12], u8 qs[128]
//        8 sub-blocks of 32 with 6-bit scale sc and 6-bit min mn: x = (d*sc) * nibble - (dmin*mn);
//        sub-blocks 2i and 2i+1 share qs[32i..32i+32) as low / high nibbles.
//   Q6_K 256 values, 210 B: u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits), i8 scales[16], f16 d
//        x = (d*scale) * (q6 - 32), 16 sub-blocks of 16.
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstring>

#include "core/error.h"
#include "model/gguf.h"

namespace r1kit::model {

namespace {

inline float f16(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return static_cast<float>(c10::Half(bits, c10::Half::from_bits()));
}

inline float bf16(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void block_q8_0(const uint8_t* b, float* y) {
  const float d = f16(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q[j]);
}

void block_q4_0(const uint8_t* b, float* y) {
  const float d = f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0x0F) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

void block_q4_1(const uint8_t* b, float* y) {
  const float d = f16(b);
  const float m = f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(qs[j] & 0x0F) + m;
    y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}

// 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of a Q4_K/Q5_K block:
// j < 4: low 6 bits of bytes j (scale) and j+4 (min); j >= 4: the low/high nibble of byte j+4 plus the top two
// bits of bytes j-4 (scale) and j (min) as bits 4..5.
inline void scale_min_k4(int j, const uint8_t* s, int& sc, int& mn) {
  if (j < 4) {
    sc = s[j] & 63;
    mn = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void block_q4_k(const uint8_t* b, float* y) {
  const float d = f16(b);
  const float dmin = f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qs = b + 16;
  for (int pair = 0; pair < 4; ++pair) {
    int sc, mn;
    scale_min_k4(2 * pair, scales, sc, mn);
    const float d_lo = d * static_cast<float>(sc), m_lo = dmin * static_cast<float>(mn);
    scale_min_k4(2 * pair + 1, scales, sc, mn);
    const float d_hi = d * static_cast<float>(sc), m_hi = dmin * static_cast<float>(mn);
    const uint8_t* q = qs + 32 * pair;
    float* out = y + 64 * pair;
    for (int l = 0; l < 32; ++l) {
      out[l] = d_lo * static_cast<float>(q[l] & 0x0F) - m_lo;
      out[l + 32] = d_hi * static_cast<float>(q[l] >> 4) - m_hi;
    }
  }
}

void block_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = f16(b + 208);
  // Two halves of 128 values; within a half, value index 32*k + l (k = 0..3) takes its low 4 bits from
  // ql[l + 32*(k&1)] (low nibble for k < 2, high for k >= 2) and its high 2 bits from qh[l] bits 2k..2k+1.
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      const int s = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = (d * static_cast<float>(sc[s + 0])) * static_cast<float>(q1);
      y[l + 32] = (d * static_cast<float>(sc[s + 2])) * static_cast<float>(q2);
      y[l + 64] = (d * static_cast<float>(sc[s + 4])) * static_cast<float>(q3);
      y[l + 96] = (d * static_cast<float>(sc[s + 6])) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q8_0: return block_q8_0;
    case GgmlType::Q4_0: return block_q4_0;
    case GgmlType::Q4_1: return block_q4_1;
    case GgmlType::Q4_K: return block_q4_k;
    case GgmlType::Q6_K: return block_q6_k;
    default: return nullptr;
  }
}

}  // namespace

std::optional<GgmlBlock> ggml_block_geometry(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: return GgmlBlock{1, 4};
    case GgmlType::F16: return GgmlBlock{1, 2};
    case GgmlType::BF16: return GgmlBlock{1, 2};
    case GgmlType::F64: return GgmlBlock{1, 8};
    case GgmlType::I8: return GgmlBlock{1, 1};
    case GgmlType::I16: return GgmlBlock{1, 2};
    case GgmlType::I32: return GgmlBlock{1, 4};
    case GgmlType::I64: return GgmlBlock{1, 8};
    case GgmlType::Q4_0: return GgmlBlock{32, 18};
    case GgmlType::Q4_1: return GgmlBlock{32, 20};
    case GgmlType::Q5_0: return GgmlBlock{32, 22};
    case GgmlType::Q5_1: return GgmlBlock{32, 24};
    case GgmlType::Q8_0: return GgmlBlock{32, 34};
    case GgmlType::Q8_1: return GgmlBlock{32, 36};
    case GgmlType::Q2_K: return GgmlBlock{256, 84};
    case GgmlType::Q3_K: return GgmlBlock{256, 110};
    case GgmlType::Q4_K: return GgmlBlock{256, 144};
    case GgmlType::Q5_K: return GgmlBlock{256, 176};
    case GgmlType::Q6_K: return GgmlBlock{256, 210};
    case GgmlType::Q8_K: return GgmlBlock{256, 292};
  }
  return std::nullopt;
}

bool ggml_can_dequantize(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16: return true;
    default: return block_fn(type) != nullptr;
  }
}

GgmlBlock ggml_block(uint32_t type, const std::string& tensor) {
  if (!ggml_can_dequantize(type))
    throw CheckpointError("tensor '" + tensor + "' has ggml type " + ggml_type_name(type) +
                          ", which r1kit cannot dequantise (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, "
                          "Q6_K); re-quantise the model to one of these with llama.cpp's llama-quantize");
  return *ggml_block_geometry(type);
}

void ggml_dequantize(uint32_t type, const uint8_t* src, int64_t n_blocks, float* dst, const std::string& tensor) {
  const GgmlBlock geo = ggml_block(type, tensor);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: std::memcpy(dst, src, static_cast<size_t>(n_blocks) * 4); return;
    case GgmlType::F16:
      at::parallel_for(0, n_blocks, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = f16(src + 2 * i);
      });
      return;
    case GgmlType::BF16:
      at::parallel_for(0, n_blocks, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = bf16(src + 2 * i);
      });
      return;
    default: break;
  }
  const BlockFn fn = block_fn(type);
  at::parallel_for(0, n_blocks, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fn(src + i * geo.bytes, dst + i * geo.elements);
  });
}

}  // namespace r1kit::model
