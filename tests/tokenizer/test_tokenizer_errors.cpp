// Unsupported tokenizer.json components are a ConfigError naming the file and JSON path; missing files an IoError.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;
using r1kit::tokenizer::Tokenizer;

namespace {

// A minimal valid byte-level BPE: all 256 byte characters + "Ġa" (merge "Ġ a").
json minimal() {
  json vocab = json::object();
  const std::string printable_bytes = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  int id = 0;
  for (const char c : printable_bytes) vocab[std::string(1, c)] = id++;
  vocab["Ġ"] = id++;
  vocab["Ġa"] = id++;
  return json{{"version", "1.0"},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"post_processor", nullptr},
              {"decoder", {{"type", "ByteLevel"}}},
              {"added_tokens", json::array({{{"id", id}, {"content", "<s>"}, {"special", true},
                                            {"normalized", false}}})},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"Ġ a"})}}}};
}

class TokenizerErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("r1kit_tok_err_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Writes `j` as tokenizer.json and returns the ConfigError message from loading it ("" if it loaded).
  std::string load_error(const json& j) {
    r1kit::write_file_atomic(dir_ / "tokenizer.json", j.dump());
    try {
      Tokenizer::from_dir(dir_);
    } catch (const r1kit::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(TokenizerErrors, MinimalLoadsAndRoundTrips) {
  r1kit::write_file_atomic(dir_ / "tokenizer.json", minimal().dump());
  const Tokenizer tok = Tokenizer::from_dir(dir_);
  const auto ids = tok.encode("a a<s>", false);
  EXPECT_EQ(tok.decode(ids), "a a<s>");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(tok.id_to_token(ids[1]), "Ġa");
  EXPECT_TRUE(tok.is_special(ids[2]));
  EXPECT_TRUE(tok.config().is_object());
  EXPECT_TRUE(tok.config().empty());
  EXPECT_FALSE(tok.bos_token_id().has_value());
}

TEST_F(TokenizerErrors, UnsupportedPreTokenizerNamesJsonPath) {
  json j = minimal();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}},
                                                       {{"type", "Metaspace"}, {"replacement", "▁"}}})}};
  const std::string msg = load_error(j);
  EXPECT_NE(msg.find("tokenizer.json: $.pre_tokenizer.pretokenizers[1].type: unsupported \"Metaspace\""),
            std::string::npos) << msg;
}

TEST_F(TokenizerErrors, UnsupportedNormalizerNamesJsonPath) {
  json j = minimal();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}, {{"type", "Lowercase"}}})}};
  const std::string msg = load_error(j);
  EXPECT_NE(msg.find("$.normalizer.normalizers[1].type: unsupported \"Lowercase\""), std::string::npos) << msg;
}

TEST_F(TokenizerErrors, UnsupportedModelNamesJsonPath) {
  json j = minimal();
  j["model"]["type"] = "Unigram";
  EXPECT_NE(load_error(j).find("$.model.type: unsupported \"Unigram\""), std::string::npos);
  j = minimal();
  j["model"]["byte_fallback"] = true;
  EXPECT_NE(load_error(j).find("$.model.byte_fallback"), std::string::npos);
}

TEST_F(TokenizerErrors, UnsupportedPostProcessorAndDecoder) {
  json j = minimal();
  j["post_processor"] = {{"type", "RobertaProcessing"}};
  EXPECT_NE(load_error(j).find("$.post_processor.type: unsupported \"RobertaProcessing\""), std::string::npos);
  j = minimal();
  j["decoder"] = {{"type", "Sequence"}, {"decoders", json::array({{{"type", "ByteLevel"}}, {{"type", "Strip"}}})}};
  EXPECT_NE(load_error(j).find("$.decoder.decoders[1].type: unsupported"), std::string::npos);
}

TEST_F(TokenizerErrors, NonByteLevelAndBadRegex) {
  json j = minimal();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(load_error(j).find("no ByteLevel pre-tokenizer"), std::string::npos);
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Split"},
                                                        {"pattern", {{"Regex", "a(?=b)|\\s+"}}},
                                                        {"behavior", "Isolated"}},
                                                       {{"type", "ByteLevel"}, {"use_regex", false}}})}};
  const std::string msg = load_error(j);
  EXPECT_NE(msg.find("$.pre_tokenizer.pretokenizers[0].pattern.Regex: unsupported regex"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lookaround"), std::string::npos) << msg;
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
  EXPECT_NE(load_error(j).find("$.pre_tokenizer.pretokenizers[0].behavior: unsupported \"Sideways\""),
            std::string::npos);
}

TEST_F(TokenizerErrors, BadMergeNamesIndex) {
  json j = minimal();
  j["model"]["merges"] = json::array({"Ġ a", "a zz"});
  EXPECT_NE(load_error(j).find("$.model.merges[1]"), std::string::npos);
  j["model"]["merges"] = json::array({json::array({"Ġ", "a"}), "a b c"});
  EXPECT_NE(load_error(j).find("$.model.merges[1]: expected"), std::string::npos);
}

TEST_F(TokenizerErrors, MissingFilesAreIoErrors) {
  EXPECT_THROW(Tokenizer::from_dir(dir_ / "nope"), r1kit::IoError);
  r1kit::write_file_atomic(dir_ / "tokenizer.json", minimal().dump());
  EXPECT_THROW(Tokenizer::from_file(dir_ / "tokenizer.json", dir_ / "missing_config.json"), r1kit::IoError);
  r1kit::write_file_atomic(dir_ / "bad.json", "{not json");
  EXPECT_THROW(Tokenizer::from_file(dir_ / "bad.json"), r1kit::ConfigError);
}

TEST_F(TokenizerErrors, ConfigSpecialTokens) {
  r1kit::write_file_atomic(dir_ / "tokenizer.json", minimal().dump());
  r1kit::write_file_atomic(dir_ / "tokenizer_config.json",
                           json{{"bos_token", {{"__type", "AddedToken"}, {"content", "<s>"}}},
                                {"eos_token", "<s>"},
                                {"pad_token", nullptr}}
                               .dump());
  const Tokenizer tok = Tokenizer::from_dir(dir_);
  EXPECT_EQ(tok.bos_token(), "<s>");
  EXPECT_EQ(tok.bos_token_id(), tok.token_to_id("<s>"));
  EXPECT_EQ(tok.eos_token_id(), tok.token_to_id("<s>"));
  EXPECT_FALSE(tok.pad_token_id().has_value());
  r1kit::write_file_atomic(dir_ / "tokenizer_config.json", json{{"eos_token", "</nope>"}}.dump());
  try {
    Tokenizer::from_dir(dir_);
    FAIL() << "expected ConfigError";
  } catch (const r1kit::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("$.eos_token"), std::string::npos) << e.what();
  }
}

}  // namespace
