#include "model/decode_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define R1KIT_DECODE_X86 1
#define R1KIT_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace r1kit::model::decode {

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw InvalidArgument("decode kernels: " + what);
}

void check_f32(const torch::Tensor& t, const char* name, bool contiguous = true) {
  check(t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && (!contiguous || t.is_contiguous()),
        std::string(name) + " must be a contiguous float32 CPU tensor, got " +
            (t.defined() ? c10::str(t.scalar_type(), " ", t.device(), " ", t.sizes()) : std::string("undefined")));
}

}  // namespace

#if R1KIT_DECODE_X86

bool available() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

namespace {

/// e^x for 8 lanes: e^x = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 (ln 2 split into a 16-bit head, so
/// n·head is exact, and a tail), e^r by its degree-7 Taylor polynomial on |r| ≤ ln2 / 2 (truncation < 6e-9
/// relative). x is clamped to [−87.33, 88.37] so 2^n stays a normal float; −inf maps to 0 and NaN stays NaN.
R1KIT_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 neg_inf = _mm256_cmp_ps(x, _mm256_set1_ps(-std::numeric_limits<float>::infinity()), _CMP_EQ_OQ);
  // Operand order keeps NaN: max/min return their second operand when either is NaN.
  x = _mm256_min_ps(_mm256_set1_ps(88.37f), _mm256_max_ps(_mm256_set1_ps(-87.33f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723e-6f), r);
  __m256 p = _mm256_set1_ps(1.f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(neg_inf, _mm256_mul_ps(p, _mm256_castsi256_ps(two_n)));
}

R1KIT_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

R1KIT_AVX2 void exp_avx2(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, exp8(_mm256_loadu_ps(src + i)));
  if (i < n) {  // tail through a padded lane buffer, so every element takes the same path
    alignas(32) float buf[8] = {};
    std::memcpy(buf, src + i, (n - i) * sizeof(float));
    _mm256_store_ps(buf, exp8(_mm256_load_ps(buf)));
    std::memcpy(dst + i, buf, (n - i) * sizeof(float));
  }
}

R1KIT_AVX2 void add_rms_norm_rows(float* hidden, const float* delta, const float* weight, float* out, int64_t C,
                                  float eps, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float* x = hidden + r * C;
    const float* d = delta ? delta + r * C : nullptr;
    float* y = out + r * C;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= C; i += 16) {
      __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
      if (d) {
        a = _mm256_add_ps(a, _mm256_loadu_ps(d + i));
        b = _mm256_add_ps(b, _mm256_loadu_ps(d + i + 8));
        _mm256_storeu_ps(x + i, a);
        _mm256_storeu_ps(x + i + 8, b);
      }
      acc0 = _mm256_fmadd_ps(a, a, acc0);
      acc1 = _mm256_fmadd_ps(b, b, acc1);
    }
    float ss = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < C; ++i) {
      if (d) x[i] += d[i];
      ss += x[i] * x[i];
    }
    const float inv = 1.f / std::sqrt(ss / static_cast<float>(C) + eps);
    const __m256 vinv = _mm256_set1_ps(inv);
    i = 0;
    for (; i + 8 <= C; i += 8)
      _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(weight + i), _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv)));
    for (; i < C; ++i) y[i] = weight[i] * (x[i] * inv);
  }
}

/// out[i] = x[i]·cos[i] + rotate_half(x)[i]·sin[i], rotate_half(x) = (−x[D/2:], x[:D/2]).
R1KIT_AVX2 inline void rope_head(const float* x, const float* c, const float* s, float* out, int64_t D) {
  const int64_t half = D / 2;
  for (int64_t i = 0; i < half; ++i) out[i] = x[i] * c[i] + (-x[i + half]) * s[i];
  for (int64_t i = half; i < D; ++i) out[i] = x[i] * c[i] + x[i - half] * s[i];
}

constexpr int kMaxQueries = 16;  // query vectors one attention task serves (rows of a group × heads of a block)

/// Sums of 8 vectors, one per lane: lane j = Σ a[j].
R1KIT_AVX2 inline __m256 hsum8(const __m256* a) {
  const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/// scores[i·S + s] = (q_i · K[s]) · scale for the n queries and slots [s0, s1), eight slots at a time: the eight
/// key rows (2 KB at D = 64) stay in L1 while every query passes over them, and one query chunk feeds eight FMAs.
/// Slots past s1 in the last block re-read row s1 − 1 (never past the cache) and are not stored.
R1KIT_AVX2 void score_slots(const float* const* q, int n, const float* K, int64_t s0, int64_t s1, int64_t D,
                            float scale, float* scores, int64_t S) {
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t sb = s0; sb < s1; sb += 8) {
    const int64_t cnt = std::min<int64_t>(8, s1 - sb);
    const float* k[8];
    for (int j = 0; j < 8; ++j) k[j] = K + std::min<int64_t>(sb + j, s1 - 1) * D;
    // The cache streams from memory: ask for the block after next while this one computes.
    if (sb + 24 <= s1)
      for (int64_t off = 0; off < 8 * D; off += 16)
        _mm_prefetch(reinterpret_cast<const char*>(K + (sb + 16) * D + off), _MM_HINT_T0);
    for (int i = 0; i < n; ++i) {
      __m256 acc[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
      for (int64_t c = 0; c < D; c += 8) {
        const __m256 qv = _mm256_loadu_ps(q[i] + c);
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k[j] + c), acc[j]);
      }
      const __m256 r = _mm256_mul_ps(hsum8(acc), vscale);
      if (cnt == 8) {
        _mm256_storeu_ps(scores + i * S + sb, r);
      } else {
        alignas(32) float tmp[8];
        _mm256_store_ps(tmp, r);
        std::memcpy(scores + i * S + sb, tmp, cnt * sizeof(float));
      }
    }
  }
}

/// acc[i·D + c] += Σ_{s in [s0, s1)} p_i(s) · V[s][c] for the n queries (p_i(s) = scores[i·S + s]), 64 slots and
/// 64 columns at a time so the values block stays in L1 across queries and each query's 8 accumulators stay in
/// registers.
R1KIT_AVX2 void accumulate_slots(float* acc, int n, const float* V, int64_t s0, int64_t s1, int64_t D,
                                 const float* scores, int64_t S) {
  for (int64_t sb = s0; sb < s1; sb += 64) {
    const int64_t se = std::min<int64_t>(s1, sb + 64);
    // Prefetch the next values block while this one computes.
    if (se + 64 <= s1)
      for (int64_t off = 0; off < 64 * D; off += 16)
        _mm_prefetch(reinterpret_cast<const char*>(V + se * D + off), _MM_HINT_T1);
    for (int64_t c0 = 0; c0 < D; c0 += 64) {
      const int w = static_cast<int>(std::min<int64_t>(64, D - c0) / 8);  // vectors in this column block
      for (int i = 0; i < n; ++i) {
        float* a = acc + i * D + c0;
        const float* p = scores + i * S;
        __m256 r[8];
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) r[v] = v < w ? _mm256_load_ps(a + 8 * v) : _mm256_setzero_ps();
        if (w == 8) {
          for (int64_t s = sb; s < se; ++s) {
            const __m256 pb = _mm256_set1_ps(p[s]);
            const float* vs = V + s * D + c0;
#pragma GCC unroll 8
            for (int v = 0; v < 8; ++v) r[v] = _mm256_fmadd_ps(pb, _mm256_loadu_ps(vs + 8 * v), r[v]);
          }
        } else {
          for (int64_t s = sb; s < se; ++s) {
            const __m256 pb = _mm256_set1_ps(p[s]);
            const float* vs = V + s * D + c0;
#pragma GCC unroll 8
            for (int v = 0; v < 8; ++v)
              if (v < w) r[v] = _mm256_fmadd_ps(pb, _mm256_loadu_ps(vs + 8 * v), r[v]);
          }
        }
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v)
          if (v < w) _mm256_store_ps(a + 8 * v, r[v]);
      }
    }
  }
}

/// One attention task: the query heads [h0, h0 + nb) of `m` rows that share their first `shared` cache slots
/// (identical keys, values and mask there: the G samples of one prompt), all reading key/value head g. The shared
/// slots are read once for all m·nb queries; each row's own slots [shared, S) are read for its nb queries. Cache
/// rows stream from memory in order, once per pass.
struct AttendTask {
  const int64_t* rows;  // m row indices
  int m, nb;
  int64_t h0, g;
};

R1KIT_AVX2 void attend(const AttendTask& t, const float* qp, const float* kp, const float* vp, const bool* valid,
                       int64_t vstride, int64_t H, int64_t Hkv, int64_t cap, int64_t D, int64_t S, int64_t shared,
                       float scale, float* scores, float* acc, float* op) {
  const int n = t.m * t.nb;
  const float* q[kMaxQueries];
  for (int r = 0; r < t.m; ++r)
    for (int j = 0; j < t.nb; ++j) q[r * t.nb + j] = qp + (t.rows[r] * H + t.h0 + j) * D;
  auto kv_row = [&](const float* base, int r) { return base + (t.rows[r] * Hkv + t.g) * cap * D; };
  auto allowed = [&](int r, int64_t s) {
    return valid == nullptr || s == S - 1 || valid[t.rows[r] * vstride + s];
  };
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  // Scores: shared slots for all queries, then each row's own slots for its queries. Leading masked slots (left
  // padding) are skipped; masked slots elsewhere are computed, then overwritten with −inf.
  int64_t first = 0;  // first attended shared slot (the mask is the same for the group there)
  while (first < shared && !allowed(0, first)) ++first;
  for (int i = 0; i < n; ++i) std::fill(scores + i * S, scores + i * S + first, kNegInf);
  score_slots(q, n, kv_row(kp, 0), first, shared, D, scale, scores, S);
  for (int64_t s = first; s < shared; ++s)
    if (!allowed(0, s))
      for (int i = 0; i < n; ++i) scores[i * S + s] = kNegInf;
  int64_t own_first[kMaxQueries];
  for (int r = 0; r < t.m; ++r) {
    float* sc = scores + r * t.nb * S;
    int64_t f = shared;
    while (f < S - 1 && !allowed(r, f)) ++f;
    own_first[r] = f;
    for (int j = 0; j < t.nb; ++j) std::fill(sc + j * S + shared, sc + j * S + f, kNegInf);
    score_slots(q + r * t.nb, t.nb, kv_row(kp, r), f, S, D, scale, sc, S);
    for (int64_t s = f; s < S; ++s)
      if (!allowed(r, s))
        for (int j = 0; j < t.nb; ++j) sc[j * S + s] = kNegInf;
  }
  // Softmax numerators e^(score − max) over [lo, S) (masked slots give 0), normalised at the end. The vector sums
  // start at the first attended slot, not at slot 0, so a row's result does not depend on how much left padding
  // the batch gave it (with the per-row GEMM this makes a completion independent of the batch layout).
  const int64_t lo = shared > 0 ? first : own_first[0];
  float inv[kMaxQueries];
  for (int i = 0; i < n; ++i) {
    float* sc = scores + i * S + lo;
    const int64_t len = S - lo;
    float mx = kNegInf;
    for (int64_t s = 0; s < len; ++s) mx = std::max(mx, sc[s]);
    const __m256 m = _mm256_set1_ps(mx);
    int64_t s = 0;
    for (; s + 8 <= len; s += 8) _mm256_storeu_ps(sc + s, _mm256_sub_ps(_mm256_loadu_ps(sc + s), m));
    for (; s < len; ++s) sc[s] -= mx;
    exp_avx2(sc, sc, len);
    __m256 sum = _mm256_setzero_ps();
    s = 0;
    for (; s + 8 <= len; s += 8) sum = _mm256_add_ps(sum, _mm256_loadu_ps(sc + s));
    float total = hsum(sum);
    for (; s < len; ++s) total += sc[s];
    inv[i] = 1.f / total;
  }
  // Values: the same two parts (masked slots have p = 0).
  std::fill(acc, acc + n * D, 0.f);
  accumulate_slots(acc, n, kv_row(vp, 0), first, shared, D, scores, S);
  for (int r = 0; r < t.m; ++r)
    accumulate_slots(acc + r * t.nb * D, t.nb, kv_row(vp, r), own_first[r], S, D, scores + r * t.nb * S, S);
  for (int r = 0; r < t.m; ++r)
    for (int j = 0; j < t.nb; ++j) {
      const int i = r * t.nb + j;
      const __m256 scale_i = _mm256_set1_ps(inv[i]);
      float* o = op + (t.rows[r] * H + t.h0 + j) * D;
      for (int64_t c = 0; c < D; c += 8) _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_load_ps(acc + i * D + c), scale_i));
    }
}

R1KIT_AVX2 void silu_mul_rows(const float* gate_up, float* out, int64_t I, int64_t r0, int64_t r1) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 sign = _mm256_set1_ps(-0.f);
  for (int64_t r = r0; r < r1; ++r) {
    const float* a = gate_up + r * 2 * I;
    const float* b = a + I;
    float* y = out + r * I;
    int64_t i = 0;
    for (; i + 8 <= I; i += 8) {
      const __m256 av = _mm256_loadu_ps(a + i);
      const __m256 silu = _mm256_div_ps(av, _mm256_add_ps(one, exp8(_mm256_xor_ps(av, sign))));
      _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(b + i)));
    }
    if (i < I) {
      alignas(32) float e[8] = {};
      for (int64_t k = i; k < I; ++k) e[k - i] = -a[k];
      exp_avx2(e, e, 8);
      for (int64_t k = i; k < I; ++k) y[k] = a[k] / (1.f + e[k - i]) * b[k];
    }
  }
}

/// Rows per parallel task so each task does at least ~64k elements of work: a decode step's norms and RoPE (a few
/// microseconds for 32 rows) run on one thread, as an OpenMP fork/join would cost more than the work.
int64_t row_grain(int64_t elements_per_row) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, elements_per_row)); }

}  // namespace

void exp(const float* src, float* dst, int64_t n) {
  check(available(), "this CPU lacks AVX2/FMA");
  exp_avx2(src, dst, n);
}

namespace {
R1KIT_AVX2 float softmax_row_avx2(const float* x, int64_t n, float scale, float* probs) {
  // max(x)·scale = max(x·scale) for scale > 0 (rounding is monotonic).
  __m256 mv = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, mv);
  float mx = *std::max_element(lanes, lanes + 8);
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  const float m = mx * scale;
  const __m256 vs = _mm256_set1_ps(scale), vm = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), vm));
    _mm256_storeu_ps(probs + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = hsum(sum);
  if (i < n) {
    for (int64_t j = i; j < n; ++j) probs[j] = x[j] * scale - m;
    exp_avx2(probs + i, probs + i, n - i);
    for (int64_t j = i; j < n; ++j) total += probs[j];
  }
  const __m256 inv = _mm256_set1_ps(1.f / total);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(probs + i, _mm256_mul_ps(_mm256_loadu_ps(probs + i), inv));
  for (; i < n; ++i) probs[i] *= 1.f / total;
  return m + std::log(total);
}
}  // namespace

float softmax_row(const float* x, int64_t n, float scale, float* probs) {
  check(available(), "this CPU lacks AVX2/FMA");
  check(n > 0 && scale > 0, "softmax_row needs n > 0 and scale > 0");
  return softmax_row_avx2(x, n, scale, probs);
}

torch::Tensor add_rms_norm(torch::Tensor& hidden, const torch::Tensor& delta, const torch::Tensor& weight, double eps) {
  check(available(), "this CPU lacks AVX2/FMA");
  check_f32(hidden, "hidden");
  check_f32(weight, "weight");
  check(hidden.dim() == 2 && weight.dim() == 1 && weight.size(0) == hidden.size(1),
        "hidden must be [R,C] and weight [C], got " + c10::str(hidden.sizes(), " and ", weight.sizes()));
  if (delta.defined()) {
    check_f32(delta, "delta");
    check(delta.sizes() == hidden.sizes(), "delta " + c10::str(delta.sizes()) + " != hidden " + c10::str(hidden.sizes()));
  }
  const int64_t R = hidden.size(0), C = hidden.size(1);
  auto out = torch::empty_like(hidden);
  float* h = hidden.data_ptr<float>();
  const float* d = delta.defined() ? delta.data_ptr<float>() : nullptr;
  const float* w = weight.data_ptr<float>();
  float* y = out.data_ptr<float>();
  const auto feps = static_cast<float>(eps);
  at::parallel_for(0, R, row_grain(C), [&](int64_t r0, int64_t r1) { add_rms_norm_rows(h, d, w, y, C, feps, r0, r1); });
  return out;
}

torch::Tensor rope_into_cache(const torch::Tensor& qkv, const torch::Tensor& cos, const torch::Tensor& sin,
                              int64_t num_heads, int64_t num_kv_heads, torch::Tensor& key_cache,
                              torch::Tensor& value_cache, int64_t slot) {
  check(available(), "this CPU lacks AVX2/FMA");
  for (const torch::Tensor* t : std::initializer_list<const torch::Tensor*>{&qkv, &cos, &sin, &key_cache, &value_cache})
    check_f32(*t, "rope_into_cache input");
  const int64_t R = qkv.size(0), H = num_heads, Hkv = num_kv_heads;
  check(key_cache.dim() == 4 && key_cache.sizes() == value_cache.sizes() && key_cache.size(0) == R &&
            key_cache.size(1) == Hkv,
        "key/value caches must both be [R=" + std::to_string(R) + ", H_kv=" + std::to_string(Hkv) +
            ", capacity, D], got " + c10::str(key_cache.sizes(), " and ", value_cache.sizes()));
  const int64_t cap = key_cache.size(2), D = key_cache.size(3);
  check(qkv.dim() == 2 && qkv.size(1) == (H + 2 * Hkv) * D, "qkv must be [R, (H + 2 H_kv) D] = [" +
                                                                 std::to_string(R) + ", " +
                                                                 std::to_string((H + 2 * Hkv) * D) + "], got " +
                                                                 c10::str(qkv.sizes()));
  check(cos.sizes() == sin.sizes() && cos.dim() == 2 && cos.size(0) == R && cos.size(1) == D,
        "cos/sin must be [R, D], got " + c10::str(cos.sizes()));
  check(slot >= 0 && slot < cap, "cache slot " + std::to_string(slot) + " outside capacity " + std::to_string(cap));
  auto q = torch::empty({R, H, D}, qkv.options());
  const float* x = qkv.data_ptr<float>();
  const float* cs = cos.data_ptr<float>();
  const float* sn = sin.data_ptr<float>();
  float* qo = q.data_ptr<float>();
  float* kc = key_cache.data_ptr<float>();
  float* vc = value_cache.data_ptr<float>();
  const int64_t W = (H + 2 * Hkv) * D;
  at::parallel_for(0, R, row_grain(W), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * W;
      const float* c = cs + r * D;
      const float* s = sn + r * D;
      for (int64_t h = 0; h < H; ++h) rope_head(xr + h * D, c, s, qo + (r * H + h) * D, D);
      for (int64_t h = 0; h < Hkv; ++h) {
        const int64_t dst = ((r * Hkv + h) * cap + slot) * D;
        rope_head(xr + (H + h) * D, c, s, kc + dst, D);
        std::memcpy(vc + dst, xr + (H + Hkv + h) * D, D * sizeof(float));
      }
    }
  });
  return q;
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& key_cache, const torch::Tensor& value_cache,
                        int64_t S, const torch::Tensor& valid, double scale, const SharedPrefix& shared) {
  check(available(), "this CPU lacks AVX2/FMA");
  for (const auto* t : {&q, &key_cache, &value_cache}) check_f32(*t, "attention input");
  check(q.dim() == 3 && key_cache.dim() == 4 && key_cache.sizes() == value_cache.sizes() &&
            key_cache.size(0) == q.size(0) && key_cache.size(3) == q.size(2) && q.size(1) % key_cache.size(1) == 0,
        "q must be [R,H,D] and the caches [R,H_kv,capacity,D] with H a multiple of H_kv, got " +
            c10::str(q.sizes(), ", ", key_cache.sizes(), ", ", value_cache.sizes()));
  const int64_t R = q.size(0), H = q.size(1), D = q.size(2), Hkv = key_cache.size(1), cap = key_cache.size(2);
  check(D % 8 == 0 && D <= 256, "head dim " + std::to_string(D) + " is not a multiple of 8 up to 256");
  check(S >= 1 && S <= cap, "S = " + std::to_string(S) + " outside [1, capacity " + std::to_string(cap) + "]");
  const bool* vb = nullptr;
  int64_t vstride = 0;
  if (valid.defined()) {
    check(valid.device().is_cpu() && valid.scalar_type() == torch::kBool && valid.dim() == 2 && valid.size(0) == R &&
              valid.size(1) >= S && valid.stride(1) == 1,
          "valid must be a [R, >= S] bool CPU tensor with unit column stride, got " + c10::str(valid.sizes()));
    vb = valid.data_ptr<bool>();
    vstride = valid.stride(0);
  }
  const int64_t rep = H / Hkv;
  const int nb_max = static_cast<int>(std::min<int64_t>(rep, 4));  // query heads per task
  const int64_t blocks = (rep + nb_max - 1) / nb_max;
  // Groups: runs of consecutive rows with the same shared_prefix.group id whose masks agree on the shared slots,
  // cut to at most kMaxQueries / nb_max rows. Without sharing every row is its own group.
  const int64_t sh = shared.group.empty() ? 0 : std::min<int64_t>(shared.length, S - 1);
  check(shared.group.empty() || static_cast<int64_t>(shared.group.size()) == R,
        "shared-prefix groups: " + std::to_string(shared.group.size()) + " ids for " + std::to_string(R) + " rows");
  std::vector<int64_t> row_ids(R);
  std::iota(row_ids.begin(), row_ids.end(), 0);
  std::vector<std::pair<int64_t, int>> groups;  // (first row, rows)
  const int max_rows = std::max(1, kMaxQueries / nb_max);
  for (int64_t r = 0; r < R;) {
    int m = 1;
    while (sh > 0 && r + m < R && m < max_rows && shared.group[r + m] == shared.group[r] &&
           (vb == nullptr || std::memcmp(vb + r * vstride, vb + (r + m) * vstride, sh) == 0))
      ++m;
    groups.emplace_back(r, m);
    r += m;
  }
  const int64_t G = static_cast<int64_t>(groups.size());
  auto out = torch::empty({R, H * D}, q.options());
  const float* qp = q.data_ptr<float>();
  const float* kp = key_cache.data_ptr<float>();
  const float* vp = value_cache.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const auto fscale = static_cast<float>(scale);
  at::parallel_for(0, G * Hkv * blocks, 1, [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> scores, acc;
    scores.resize(static_cast<size_t>(kMaxQueries * S));
    acc.resize(static_cast<size_t>(kMaxQueries * 256 + 8));
    float* acc_aligned = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(acc.data()) + 31) & ~uintptr_t{31});
    for (int64_t t = t0; t < t1; ++t) {
      // Groups in zigzag order (0, last, 1, last − 1, …): the engine sorts prompts by length, so contiguous halves
      // would give one thread the long (less padded) rows and the other the short ones.
      const int64_t k = t / (Hkv * blocks), g = (t / blocks) % Hkv, b = t % blocks;
      const auto& [first, m] = groups[k % 2 == 0 ? k / 2 : G - 1 - k / 2];
      const int nb = static_cast<int>(std::min<int64_t>(nb_max, rep - b * nb_max));
      const AttendTask task{row_ids.data() + first, m, nb, g * rep + b * nb_max, g};
      attend(task, qp, kp, vp, vb, vstride, H, Hkv, cap, D, S, m > 1 ? sh : 0, fscale, scores.data(), acc_aligned, op);
    }
  });
  return out;
}

torch::Tensor silu_mul(const torch::Tensor& gate_up) {
  check(available(), "this CPU lacks AVX2/FMA");
  check_f32(gate_up, "gate_up");
  check(gate_up.dim() == 2 && gate_up.size(1) % 2 == 0, "gate_up must be [R, 2I], got " + c10::str(gate_up.sizes()));
  const int64_t R = gate_up.size(0), I = gate_up.size(1) / 2;
  auto out = torch::empty({R, I}, gate_up.options());
  const float* g = gate_up.data_ptr<float>();
  float* y = out.data_ptr<float>();
  // silu costs an exp per element: parallel from ~4k elements on.
  at::parallel_for(0, R, std::max<int64_t>(1, 4096 / I), [&](int64_t r0, int64_t r1) { silu_mul_rows(g, y, I, r0, r1); });
  return out;
}

#else  // not x86-64: the module path is used (available() is false)

bool available() { return false; }
void exp(const float*, float*, int64_t) { check(false, "needs an x86-64 CPU with AVX2/FMA"); }
float softmax_row(const float*, int64_t, float, float*) {
  check(false, "needs an x86-64 CPU with AVX2/FMA");
  return 0;
}
torch::Tensor add_rms_norm(torch::Tensor&, const torch::Tensor&, const torch::Tensor&, double) {
  check(false, "needs an x86-64 CPU with AVX2/FMA");
  return {};
}
torch::Tensor rope_into_cache(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, int64_t, int64_t,
                              torch::Tensor&, torch::Tensor&, int64_t) {
  check(false, "needs an x86-64 CPU with AVX2/FMA");
  return {};
}
torch::Tensor attention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, int64_t, const torch::Tensor&,
                        double, const SharedPrefix&) {
  check(false, "needs an x86-64 CPU with AVX2/FMA");
  return {};
}
torch::Tensor silu_mul(const torch::Tensor&) {
  check(false, "needs an x86-64 CPU with AVX2/FMA");
  return {};
}

#endif

}  // namespace r1kit::model::decode
