// Safetensors reader/writer: Python-written fixtures (scripts/fixtures_gguf.py), byte-identical output, round
// trips, sharding, and every corruption the reader must name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/safetensors.h"

namespace fs = std::filesystem;
using namespace r1kit;
using namespace r1kit::model;

namespace {

const fs::path kFixtures = fs::path(R1KIT_FIXTURES_DIR) / "safetensors";

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("r1kit_st_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Writes [u64 len][header][data] by hand, for corrupt-file tests.
fs::path write_raw(const fs::path& file, const std::string& header, const std::string& data, int64_t len = -1) {
  std::ofstream out(file, std::ios::binary);
  uint64_t n = len < 0 ? header.size() : static_cast<uint64_t>(len);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
  return file;
}

// Expects CheckpointError whose message contains every fragment.
template <typename F>
void expect_checkpoint_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "missing '" << frag << "' in: " << msg;
  }
}

}  // namespace

TEST(Safetensors, ReadsPythonWrittenFileExactly) {
  SafetensorsFile f(kFixtures / "all_dtypes.safetensors");
  const auto expected = nlohmann::json::parse(read_file(kFixtures / "all_dtypes.json"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.names().size(), expected.size());
  const std::map<std::string, torch::ScalarType> dtypes = {
      {"float32", torch::kFloat},  {"float16", torch::kHalf}, {"bfloat16", torch::kBFloat16},
      {"float64", torch::kDouble}, {"int64", torch::kLong},   {"int32", torch::kInt},
      {"int16", torch::kShort},    {"int8", torch::kChar},    {"uint8", torch::kByte},
      {"bool", torch::kBool}};
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    SCOPED_TRACE(it.key());
    ASSERT_TRUE(f.contains(it.key()));
    torch::Tensor t = f.get(it.key());
    EXPECT_EQ(t.scalar_type(), dtypes.at(it.value()["dtype"].get<std::string>()));
    EXPECT_EQ(t.sizes().vec(), it.value()["shape"].get<std::vector<int64_t>>());
    auto flat = t.to(torch::kDouble).flatten();
    const auto& values = it.value()["values"];
    ASSERT_EQ(flat.numel(), static_cast<int64_t>(values.size()));
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double want = values[i].is_boolean() ? (values[i].get<bool>() ? 1.0 : 0.0) : values[i].get<double>();
      EXPECT_EQ(flat[i].item<double>(), want) << "element " << i;
    }
  }
}

TEST(Safetensors, OutputIsByteIdenticalToPythonWriter) {
  const fs::path src = kFixtures / "all_dtypes.safetensors";
  SafetensorsFile f(src);
  NamedTensors tensors;
  for (const auto& name : f.names()) tensors.emplace_back(name, f.get(name));
  std::reverse(tensors.begin(), tensors.end());  // input order must not matter
  const fs::path out = temp_dir() / "ours.safetensors";
  save_safetensors(out, tensors, {{"format", "pt"}});
  EXPECT_EQ(read_file(out), read_file(src));
}

TEST(Safetensors, RoundTripsEveryDtypeBitExactly) {
  torch::manual_seed(3);
  NamedTensors in = {
      {"f32", torch::randn({3, 5})},
      {"f16", torch::randn({4}).to(torch::kHalf)},
      {"bf16", torch::randn({2, 2, 2}).to(torch::kBFloat16)},
      {"f64", torch::randn({7}, torch::kDouble)},
      {"i64", torch::randint(-1000000, 1000000, {6}, torch::kLong)},
      {"i32", torch::randint(-1000, 1000, {2, 3}, torch::kInt)},
      {"i16", torch::randint(-1000, 1000, {5}, torch::kShort)},
      {"i8", torch::randint(-128, 127, {5}, torch::kChar)},
      {"u8", torch::randint(0, 255, {5}, torch::kByte)},
      {"bool", torch::randint(0, 2, {9}).to(torch::kBool)},
      {"transposed", torch::randn({3, 4}).t()},  // non-contiguous input
      {"scalar", torch::tensor(2.5)},
  };
  const fs::path out = temp_dir() / "rt.safetensors";
  save_safetensors(out, in, {{"format", "pt"}, {"note", "r1kit"}});
  SafetensorsFile f(out);
  EXPECT_EQ(f.metadata().at("note"), "r1kit");
  ASSERT_EQ(f.names().size(), in.size());
  for (const auto& [name, t] : in) {
    SCOPED_TRACE(name);
    torch::Tensor got = f.get(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type());
    EXPECT_TRUE(torch::equal(got, t));
  }
  // The copy outlives the file.
  torch::Tensor kept;
  {
    SafetensorsFile g(out);
    kept = g.get("f32");
  }
  EXPECT_TRUE(torch::equal(kept, in[0].second));
}

TEST(Safetensors, ShardedSaveAndReadBack) {
  const fs::path dir = temp_dir();
  NamedTensors in;
  for (int i = 0; i < 5; ++i) in.emplace_back("layer." + std::to_string(i) + ".w", torch::full({10, 10}, float(i)));
  const auto files = save_safetensors_sharded(dir / "sharded", in, 900);  // 400 bytes each -> 3 shards
  EXPECT_EQ(files.size(), 4u);
  EXPECT_TRUE(fs::exists(dir / "sharded" / "model-00001-of-00003.safetensors"));
  const auto index = nlohmann::json::parse(read_file(dir / "sharded" / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 2000);
  EXPECT_EQ(index["weight_map"]["layer.4.w"], "model-00003-of-00003.safetensors");
  auto reader = CheckpointReader::open(dir / "sharded");
  EXPECT_EQ(reader.names().size(), 5u);
  EXPECT_EQ(reader.files().size(), 3u);
  for (const auto& [name, t] : in) EXPECT_TRUE(torch::equal(reader.get(name), t)) << name;

  save_safetensors_sharded(dir / "single", in);
  EXPECT_TRUE(fs::exists(dir / "single" / "model.safetensors"));
  auto single = CheckpointReader::open(dir / "single");
  EXPECT_TRUE(torch::equal(single.get("layer.2.w"), in[2].second));
  auto by_file = CheckpointReader::open(dir / "single" / "model.safetensors");
  EXPECT_TRUE(by_file.contains("layer.0.w"));
  expect_checkpoint_error([&] { single.get("nope"); }, {"nope"});
}

TEST(Safetensors, ShardedIndexNamingMissingShard) {
  const fs::path dir = temp_dir();
  NamedTensors in = {{"a", torch::ones({100})}, {"b", torch::ones({100})}};
  save_safetensors_sharded(dir, in, 500);
  fs::remove(dir / "model-00002-of-00002.safetensors");
  expect_checkpoint_error([&] { CheckpointReader::open(dir); },
                          {"model-00002-of-00002.safetensors", "does not exist", "'b'"});
}

TEST(Safetensors, DirectoryWithoutCheckpoint) {
  expect_checkpoint_error([&] { CheckpointReader::open(temp_dir()); }, {"model.safetensors"});
}

TEST(Safetensors, TruncatedFile) {
  const fs::path dir = temp_dir();
  const std::string bytes = read_file(kFixtures / "all_dtypes.safetensors");
  write_file_atomic(dir / "cut.safetensors", bytes.substr(0, bytes.size() - 5));
  expect_checkpoint_error([&] { SafetensorsFile f(dir / "cut.safetensors"); },
                          {"cut.safetensors", "truncated or corrupt", "re-download"});
  write_file_atomic(dir / "tiny.safetensors", "abc");
  expect_checkpoint_error([&] { SafetensorsFile f(dir / "tiny.safetensors"); }, {"tiny.safetensors", "8-byte"});
}

TEST(Safetensors, HeaderLengthLargerThanFile) {
  const fs::path f = write_raw(temp_dir() / "h.safetensors", "{}", "", 1 << 20);
  expect_checkpoint_error([&] { SafetensorsFile s(f); }, {"h.safetensors", "header length"});
}

TEST(Safetensors, BadJsonHeader) {
  const fs::path dir = temp_dir();
  expect_checkpoint_error([&] { SafetensorsFile s(write_raw(dir / "j.safetensors", "{\"a\": [", "")); },
                          {"j.safetensors", "JSON"});
  expect_checkpoint_error([&] { SafetensorsFile s(write_raw(dir / "k.safetensors", "[1, 2]", "")); },
                          {"not an object"});
  expect_checkpoint_error(
      [&] { SafetensorsFile s(write_raw(dir / "m.safetensors", R"({"w": {"dtype": "F32", "shape": [1]}})", "")); },
      {"'w'", "data_offsets"});
}

TEST(Safetensors, OffsetsOutOfRangeOverlappingOrWrongSize) {
  const fs::path dir = temp_dir();
  const std::string data(8, '\0');
  expect_checkpoint_error(
      [&] {
        SafetensorsFile s(write_raw(dir / "o.safetensors",
                                    R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", data));
      },
      {"'w'", "past the data section"});
  expect_checkpoint_error(
      [&] {
        SafetensorsFile s(write_raw(dir / "s.safetensors",
                                    R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", data));
      },
      {"'w'", "need 12"});
  expect_checkpoint_error(
      [&] {
        SafetensorsFile s(write_raw(dir / "v.safetensors",
                                    R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                                    R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                                    data));
      },
      {"overlaps"});
}

TEST(Safetensors, UnknownDtypeNamesTensorAndDtype) {
  const fs::path f = write_raw(temp_dir() / "d.safetensors",
                               R"({"w": {"dtype": "F8_E8M0", "shape": [2], "data_offsets": [0, 2]}})", "xx");
  expect_checkpoint_error([&] { SafetensorsFile s(f); }, {"'w'", "F8_E8M0"});
}

TEST(Safetensors, WriterRejectsBadInput) {
  const fs::path dir = temp_dir();
  EXPECT_THROW(save_safetensors(dir / "x.safetensors", {{"a", torch::ones({1})}, {"a", torch::ones({1})}}),
               InvalidArgument);
  EXPECT_THROW(save_safetensors(dir / "x.safetensors", {{"c", torch::ones({1}, torch::kComplexFloat)}}),
               InvalidArgument);
  EXPECT_FALSE(fs::exists(dir / "x.safetensors"));
}
