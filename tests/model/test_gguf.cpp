// GGUF reader, dequantisation and GGUF -> Hugging Face conversion, against fixtures written by
// scripts/fixtures_gguf.py with gguf-py (GGUFWriter, gguf.quants) and transformers' own GGUF loading.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/gguf.h"
#include "model/gguf_convert.h"
#include "model/gguf_tokenizer.h"
#include "model_test_util.h"
#include "model/safetensors.h"

namespace fs = std::filesystem;
using namespace r1kit;
using namespace r1kit::model;

namespace {

const fs::path kFixtures = fs::path(R1KIT_FIXTURES_DIR) / "gguf";

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("r1kit_gguf_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

template <typename F>
std::string checkpoint_error(F&& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected CheckpointError";
  return "";
}

bool has(const std::string& s, const std::string& frag) { return s.find(frag) != std::string::npos; }

}  // namespace

TEST(Gguf, MetadataOfEveryValueKind) {
  const GgufFile f = GgufFile::open(kFixtures / "quants.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  const auto expected = nlohmann::json::parse(read_file(kFixtures / "quants_metadata.json"));
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    SCOPED_TRACE(it.key());
    ASSERT_TRUE(f.has(it.key()));
    EXPECT_EQ(f.metadata_type(it.key()), it.value()["type"].get<std::string>());
    if (it.value()["type"] == "float32") EXPECT_EQ(f.get_float(it.key()), it.value()["value"].get<double>());
    else EXPECT_EQ(f.metadata()[it.key()], it.value()["value"]);
  }
  EXPECT_EQ(f.get_int("t.i64"), -(int64_t{1} << 62));
  EXPECT_EQ(f.get_string("t.str"), "héllo wörld");
  EXPECT_TRUE(f.get_bool("t.bool"));
  EXPECT_TRUE(has(checkpoint_error([&] { f.get_int("t.str"); }), "t.str"));
  EXPECT_TRUE(has(checkpoint_error([&] { f.get_string("missing.key"); }), "missing.key"));
}

TEST(Gguf, DequantisesEveryTypeLikeGgufPy) {
  const GgufFile f = GgufFile::open(kFixtures / "quants.gguf");
  const SafetensorsFile expected(kFixtures / "quants_expected.safetensors");
  ASSERT_EQ(expected.names().size(), 9u);
  for (const auto& name : expected.names()) {
    SCOPED_TRACE(name);
    torch::Tensor want = expected.get(name);
    torch::Tensor got = f.dequantize(name);
    EXPECT_EQ(got.scalar_type(), torch::kFloat);
    ASSERT_EQ(got.sizes(), want.sizes());
    // r1kit's scalar dequantisation does gguf-py's float32 operations in gguf-py's order (≤ 2 roundings a value:
    // scale·q, then ± min), with no ISA- or thread-dependent kernel: equal results. Bound 2u of max|value|, the
    // most a fused multiply-add could change; relative, because the values reach 101 (Q6_K), where the former
    // absolute 1e-6 was below one ulp (7.6e-6) and 0.92-scale values where it was 17 ulp. A wrong scale, min or
    // nibble order is off by ≥ 1e-2 of the scale.
    EXPECT_TRUE(test::within(test::max_rel_diff(got, want), 2 * test::kU32));
    EXPECT_GT(want.abs().max().item<float>(), 0.0f);  // the fixture is not trivially zero
  }
  EXPECT_EQ(f.tensor("q8_0_3d").shape, (std::vector<int64_t>{2, 3, 32}));
  EXPECT_EQ(f.tensor("q8_0_3d").dims, (std::vector<int64_t>{32, 3, 2}));
}

TEST(Gguf, UnsupportedTypeNamesTensorAndType) {
  const GgufFile f = GgufFile::open(kFixtures / "quants.gguf");
  const std::string msg = checkpoint_error([&] { f.dequantize("q5_0"); });
  EXPECT_TRUE(has(msg, "'q5_0'")) << msg;
  EXPECT_TRUE(has(msg, "Q5_0")) << msg;
  EXPECT_TRUE(has(checkpoint_error([&] { f.dequantize("nope"); }), "nope"));
}

TEST(Gguf, BadMagicVersionAndTruncation) {
  const fs::path dir = temp_dir();
  const std::string bytes = read_file(kFixtures / "quants.gguf");
  std::string bad = bytes;
  bad[0] = 'X';
  write_file_atomic(dir / "magic.gguf", bad);
  std::string msg = checkpoint_error([&] { GgufFile::open(dir / "magic.gguf"); });
  EXPECT_TRUE(has(msg, "magic.gguf") && has(msg, "magic")) << msg;

  std::string v9 = bytes;
  v9[4] = 9;
  write_file_atomic(dir / "v9.gguf", v9);
  msg = checkpoint_error([&] { GgufFile::open(dir / "v9.gguf"); });
  EXPECT_TRUE(has(msg, "version 9")) << msg;

  // The last 0..31 bytes may be alignment padding, so cut deeper than that.
  for (size_t keep : {size_t{10}, size_t{200}, bytes.size() / 2, bytes.size() - 40}) {
    SCOPED_TRACE(keep);
    write_file_atomic(dir / "cut.gguf", bytes.substr(0, keep));
    msg = checkpoint_error([&] { GgufFile::open(dir / "cut.gguf"); });
    EXPECT_TRUE(has(msg, "cut.gguf") && has(msg, "truncated")) << msg;
  }
  EXPECT_THROW(GgufFile::open(dir / "absent.gguf"), IoError);
}

TEST(GgufConvert, UnpermuteInvertsLlamaCppPermutation) {
  torch::manual_seed(0);
  const int64_t heads = 3, rows = 3 * 8, cols = 5;
  auto w = torch::randn({rows, cols});
  // llama.cpp: w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols)
  auto permuted = w.reshape({heads, 2, rows / heads / 2, cols}).transpose(1, 2).reshape({rows, cols});
  EXPECT_TRUE(torch::equal(unpermute_rope_rows(permuted, heads), w));  // a permutation of rows: exact
  EXPECT_THROW(unpermute_rope_rows(w, 5), CheckpointError);
}

// Converts tiny_<arch>.gguf and compares weights, config and tokenizer with what transformers builds from it.
void check_against_transformers(const std::string& arch) {
  const fs::path out = temp_dir() / "hf";
  const auto summary = convert_gguf_to_hf(kFixtures / ("tiny_" + arch + ".gguf"), out);
  EXPECT_EQ(summary.architecture, arch);
  EXPECT_EQ(summary.layers, 2);
  EXPECT_EQ(summary.tensor_types.at("Q4_1"), 6);
  EXPECT_TRUE(summary.tokenizer_written);
  const auto expected = nlohmann::json::parse(read_file(kFixtures / ("tiny_" + arch + "_expected.json")));

  // Weights: the state dict transformers builds from the same GGUF (dequantised, Q/K un-permuted for llama).
  const SafetensorsFile want(kFixtures / ("tiny_" + arch + "_expected.safetensors"));
  const auto got = CheckpointReader::open(out);
  EXPECT_EQ(got.names(), want.names());
  for (const auto& name : want.names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(got.contains(name));
    torch::Tensor g = got.get(name), w = want.get(name);
    EXPECT_EQ(g.scalar_type(), torch::kFloat);
    ASSERT_EQ(g.sizes(), w.sizes());
    // The same dequantisation as DequantisesEveryTypeLikeGgufPy (Q/K rows un-permuted: a copy), against
    // transformers' (which calls gguf-py): bound 2u of the tensor's max|value|, as there.
    EXPECT_TRUE(test::within(test::max_rel_diff(g, w), 2 * test::kU32));
  }

  // config.json: the fields transformers derives from the GGUF.
  const auto cfg = nlohmann::json::parse(read_file(out / "config.json"));
  const auto& ref = expected["config"];
  std::vector<std::string> fields = {"model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                                     "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                                     "vocab_size", "tie_word_embeddings", "bos_token_id", "eos_token_id",
                                     "pad_token_id", "hidden_act"};
  if (arch == "llama") fields.insert(fields.end(), {"head_dim", "attention_bias", "mlp_bias"});
  else fields.push_back("use_sliding_window");
  for (const auto& k : fields) EXPECT_EQ(cfg[k], ref[k]) << k;
  EXPECT_DOUBLE_EQ(cfg["rms_norm_eps"].get<double>(), ref["rms_norm_eps"].get<double>());  // copied JSON numbers
  EXPECT_DOUBLE_EQ(cfg["rope_theta"].get<double>(), ref["rope_parameters"]["rope_theta"].get<double>());
  EXPECT_EQ(cfg["architectures"][0], arch == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM");
  EXPECT_EQ(cfg["torch_dtype"], "float32");

  // tokenizer.json: same vocabulary, merges and added tokens as transformers' GGUF tokenizer.
  const auto tok = nlohmann::json::parse(read_file(out / "tokenizer.json"));
  EXPECT_EQ(tok["model"]["type"], "BPE");
  EXPECT_EQ(tok["model"]["vocab"], expected["vocab"]);
  EXPECT_EQ(tok["model"]["merges"], expected["merges"]);
  ASSERT_EQ(tok["added_tokens"].size(), expected["added_tokens"].size());
  for (size_t i = 0; i < tok["added_tokens"].size(); ++i) {
    for (const char* k : {"id", "content", "special", "normalized", "lstrip", "rstrip", "single_word"})
      EXPECT_EQ(tok["added_tokens"][i][k], expected["added_tokens"][i][k]) << i << " " << k;
  }
  if (arch == "llama") {
    // tokenizer.ggml.pre = "smollm": llama.cpp splits digits before the GPT-2 regex.
    EXPECT_EQ(tok["pre_tokenizer"]["pretokenizers"][0]["type"], "Digits");
  } else {
    // tokenizer.ggml.pre = "qwen2": the Qwen2 split regex, as transformers builds it.
    EXPECT_EQ(tok["pre_tokenizer"]["pretokenizers"][0]["type"], "Split");
  }
  EXPECT_EQ(tok["pre_tokenizer"]["pretokenizers"][1]["type"], "ByteLevel");
  EXPECT_EQ(tok["decoder"]["type"], "ByteLevel");
  const auto tc = nlohmann::json::parse(read_file(out / "tokenizer_config.json"));
  for (const char* k : {"bos_token", "eos_token", "pad_token", "unk_token"}) EXPECT_EQ(tc[k], expected[k]) << k;
  EXPECT_EQ(tc["model_max_length"], 256);
  EXPECT_TRUE(has(tc["chat_template"].get<std::string>(), "<|im_start|>"));
  const auto gen = nlohmann::json::parse(read_file(out / "generation_config.json"));
  EXPECT_EQ(gen["eos_token_id"], 2);
}

TEST(GgufConvert, TinyLlamaMatchesTransformers) { check_against_transformers("llama"); }

// Tied embeddings (no output.weight -> no lm_head), q/k/v biases, no Q/K permutation.
TEST(GgufConvert, TinyQwen2MatchesTransformers) { check_against_transformers("qwen2"); }

TEST(GgufConvert, RefusesNonEmptyOutputUnlessForced) {
  const fs::path out = temp_dir() / "hf";
  fs::create_directories(out);
  write_file_atomic(out / "keep.txt", "x");
  EXPECT_THROW(convert_gguf_to_hf(kFixtures / "tiny_llama.gguf", out), IoError);
  EXPECT_TRUE(fs::exists(out / "keep.txt"));
  convert_gguf_to_hf(kFixtures / "tiny_llama.gguf", out, /*force=*/true);
  EXPECT_FALSE(fs::exists(out / "keep.txt"));
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
  for (const auto& e : fs::directory_iterator(out.parent_path()))  // no temporary directory left behind
    EXPECT_EQ(e.path().filename(), "hf");
}

TEST(GgufConvert, UnsupportedArchitecture) {
  const fs::path out = temp_dir() / "hf";
  const std::string msg = checkpoint_error([&] { convert_gguf_to_hf(kFixtures / "quants.gguf", out); });
  EXPECT_TRUE(has(msg, "architecture test is not supported by convert gguf; supported: llama")) << msg;
  EXPECT_FALSE(fs::exists(out));
}

TEST(GgufConvert, CommandLine) {
  const fs::path out = temp_dir() / "cli";
  const std::string cmd = std::string(R1KIT_BINARY) + " convert gguf " + (kFixtures / "tiny_llama.gguf").string() +
                          " --out " + out.string() + " 2>&1";
  auto run = [](const std::string& c, std::string& text) {
    FILE* p = ::popen(c.c_str(), "r");
    char buf[512];
    while (p && std::fgets(buf, sizeof buf, p)) text += buf;
    return p ? ::pclose(p) : -1;
  };
  std::string text;
  EXPECT_EQ(run(cmd, text), 0) << text;
  EXPECT_TRUE(has(text, "architecture  llama")) << text;
  EXPECT_TRUE(has(text, "Q8_0 x6")) << text;
  std::string again;
  EXPECT_NE(run(cmd, again), 0);
  EXPECT_TRUE(has(again, "--force")) << again;
}

// The real model, when scripts/fetch_smollm2.sh has downloaded it (the GGUF stays in models/.cache).
TEST(GgufSmolLM2, RealFileReadsAndTokenizerRebuilds) {
  const fs::path gguf = fs::path(R1KIT_SOURCE_DIR) / "models/.cache/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(gguf)) GTEST_SKIP() << gguf << " absent: run scripts/fetch_smollm2.sh to fetch SmolLM2";
  const GgufFile f = GgufFile::open(gguf);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.tensor("token_embd.weight").type, static_cast<uint32_t>(GgmlType::Q8_0));
  EXPECT_EQ(f.tensor("blk.0.attn_q.weight").type, static_cast<uint32_t>(GgmlType::Q4_1));
  EXPECT_EQ(f.dequantize("blk.0.attn_k.weight").sizes(), (std::vector<int64_t>{192, 576}));
  const auto tok = gguf_tokenizer_json(f);
  EXPECT_EQ(tok["model"]["vocab"].size(), 49152u);
  EXPECT_EQ(tok["model"]["merges"].size(), 48900u);
  EXPECT_EQ(tok["added_tokens"].size(), 17u);
  EXPECT_EQ(tok["added_tokens"][1]["content"], "<|im_start|>");
  const auto check = nlohmann::json::parse(read_file(kFixtures / "smollm2_check.json"));
  EXPECT_EQ(check["identical_ids_vs_transformers_with_llamacpp_smollm_pretokenizer"], check["strings"]);
  EXPECT_EQ(check["logits_max_abs_diff"].get<double>(), 0.0);  // recorded: identical weights and kernels, exact
}
