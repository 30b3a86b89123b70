// parse_json, load_json_file, write_json_atomic and --set overrides.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "core_test_util.h"

namespace r1kit {
namespace {
using nlohmann::json;
using testing::error_message;
using testing::TempDir;

TEST(ParseJson, AllowsLineAndBlockComments) {
  const json j = parse_json(R"(// leading comment
{
  "lr": 1e-6,   // learning rate
  /* block
     comment */
  "name": "demo // not a comment",
  "list": [1, /* inline */ 2]
})",
                            "cfg.json");
  EXPECT_DOUBLE_EQ(j["lr"].get<double>(), 1e-6);
  EXPECT_EQ(j["name"], "demo // not a comment");
  EXPECT_EQ(j["list"], json::parse("[1,2]"));
}

TEST(ParseJson, SyntaxErrorNamesSourceLineAndColumn) {
  // Line 3, the ',' right after "b": is at column 8.
  const std::string text = "{\n  \"a\": 1,\n  \"b\": ,\n}";
  const std::string msg = error_message<ConfigError>([&] { parse_json(text, "configs/x.json"); });
  EXPECT_CONTAINS(msg, "configs/x.json:3:8: ");
  EXPECT_CONTAINS(msg, "unexpected ','");
  EXPECT_CONTAINS(msg, "fix the JSON syntax");
  EXPECT_CONTAINS(msg, "\n      \"b\": ,\n           ^");  // the line and a caret under column 8
}

TEST(ParseJson, SyntaxErrorPositionAfterComments) {
  // Comments count for positions like any other bytes: the second comma is reported on line 4, column 9.
  const std::string text = "// header\n/* two\nlines */\n{\"a\": 1,, \"b\": 2}";
  const std::string msg = error_message<ConfigError>([&] { parse_json(text, "c.json"); });
  EXPECT_CONTAINS(msg, "c.json:4:9: ");
}

TEST(ParseJson, TruncatedInputReportsEnd) {
  const std::string msg = error_message<ConfigError>([] { parse_json("{\"a\": 1", "t.json"); });
  EXPECT_CONTAINS(msg, "t.json:1:8: ");
  EXPECT_CONTAINS(msg, "end of input");
}

TEST(ParseJson, RejectsDuplicateKeysWithPath) {
  const std::string msg = error_message<ConfigError>(
      [] { parse_json(R"({"train": {"lr": 1, "steps": 2, "lr": 3}})", "d.json"); });
  EXPECT_CONTAINS(msg, "d.json: duplicate key $.train.lr");
  const std::string in_array = error_message<ConfigError>(
      [] { parse_json(R"({"rewards": [{"type": "a"}, {"type": "b", "type": "c"}]})", "d.json"); });
  EXPECT_CONTAINS(in_array, "duplicate key $.rewards[1].type");
  // Same key in different objects is fine.
  EXPECT_NO_THROW(parse_json(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 1}, {"x": 2}]})", "ok.json"));
}

TEST(LoadJsonFile, MissingFileIsIoError) {
  TempDir dir;
  const std::string msg = error_message<IoError>([&] { load_json_file(dir / "nope.json"); });
  EXPECT_CONTAINS(msg, "nope.json");
  EXPECT_CONTAINS(msg, "not found");
}

TEST(LoadJsonFile, ReadsFileAndReportsItsPath) {
  TempDir dir;
  const auto good = dir.write("good.json", "{\"a\": [1, 2] // c\n}");
  EXPECT_EQ(load_json_file(good)["a"], json::parse("[1,2]"));
  const auto bad = dir.write("bad.json", "{\n\"a\": }");
  const std::string msg = error_message<ConfigError>([&] { load_json_file(bad); });
  EXPECT_CONTAINS(msg, bad.string() + ":2:6: ");
}

TEST(WriteJsonAtomic, RoundTrips) {
  TempDir dir;
  const json value = {{"a", 1}, {"b", {1.5, "x"}}};
  write_json_atomic(dir / "sub" / "out.json", value);
  EXPECT_EQ(load_json_file(dir / "sub" / "out.json"), value);
}

// --- overrides ---------------------------------------------------------------------------------------------------

TEST(ApplyOverride, ValueKinds) {
  json cfg = json::object();
  apply_override(cfg, "train.lr=1e-5");
  apply_override(cfg, "train.steps=100");
  apply_override(cfg, "train.neg=-3");
  apply_override(cfg, "train.flag=true");
  apply_override(cfg, "train.off=null");
  apply_override(cfg, "model.name=qwen2");                 // not JSON: plain string
  apply_override(cfg, "model.path=/models/a=b");           // '=' inside the value
  apply_override(cfg, "model.quoted=\"123\"");              // JSON string stays a string
  apply_override(cfg, "model.empty=");                      // empty string
  apply_override(cfg, "rollout.stop=[\"</answer>\", 7]");  // array
  apply_override(cfg, "rollout.extra={\"k\": {\"v\": 1}}");  // object
  EXPECT_TRUE(cfg["train"]["lr"].is_number_float());
  EXPECT_DOUBLE_EQ(cfg["train"]["lr"].get<double>(), 1e-5);
  EXPECT_TRUE(cfg["train"]["steps"].is_number_integer());
  EXPECT_EQ(cfg["train"]["steps"], 100);
  EXPECT_EQ(cfg["train"]["neg"], -3);
  EXPECT_EQ(cfg["train"]["flag"], true);
  EXPECT_TRUE(cfg["train"]["off"].is_null());
  EXPECT_TRUE(cfg["train"].contains("off"));
  EXPECT_EQ(cfg["model"]["name"], "qwen2");
  EXPECT_EQ(cfg["model"]["path"], "/models/a=b");
  EXPECT_EQ(cfg["model"]["quoted"], "123");
  EXPECT_EQ(cfg["model"]["empty"], "");
  EXPECT_EQ(cfg["rollout"]["stop"], json::parse(R"(["</answer>", 7])"));
  EXPECT_EQ(cfg["rollout"]["extra"], json::parse(R"({"k": {"v": 1}})"));
}

TEST(ApplyOverride, ReplacesExistingAndCreatesIntermediates) {
  json cfg = json::parse(R"({"a": {"b": 1, "keep": 2}, "n": null})");
  apply_override(cfg, "a.b=5");
  apply_override(cfg, "x.y.z=1");
  apply_override(cfg, "n.m=2");  // null intermediate becomes an object
  apply_override(cfg, " a.c =3");  // spaces around the key are ignored
  EXPECT_EQ(cfg, json::parse(R"({"a": {"b": 5, "keep": 2, "c": 3}, "x": {"y": {"z": 1}}, "n": {"m": 2}})"));
  json null_root;
  apply_override(null_root, "a=1");
  EXPECT_EQ(null_root, json::parse(R"({"a": 1})"));
}

TEST(ApplyOverride, ArrayIndices) {
  json cfg = json::parse(R"({"rewards": [{"type": "math", "weight": 1}, {"type": "format"}], "ids": [1, 2]})");
  apply_override(cfg, "rewards.1.weight=0.5");
  apply_override(cfg, "rewards.0.type=code");
  apply_override(cfg, "ids.1=9");
  EXPECT_EQ(cfg["rewards"][1]["weight"], 0.5);
  EXPECT_EQ(cfg["rewards"][0]["type"], "code");
  EXPECT_EQ(cfg["ids"], json::parse("[1, 9]"));

  std::string msg = error_message<ConfigError>([&] { apply_override(cfg, "rewards.5.weight=1"); });
  EXPECT_CONTAINS(msg, "'rewards' has 2 elements, index 5 is out of range");
  EXPECT_CONTAINS(msg, "--set rewards=[...]");
  msg = error_message<ConfigError>([&] { apply_override(cfg, "rewards.first.weight=1"); });
  EXPECT_CONTAINS(msg, "'rewards' is an array");
  EXPECT_CONTAINS(msg, "'first' must be an element index");
  msg = error_message<ConfigError>([&] { apply_override(cfg, "ids.-1=1"); });
  EXPECT_CONTAINS(msg, "element index");
}

TEST(ApplyOverride, BadFormExplainsUsage) {
  json cfg = json::object();
  std::string msg = error_message<ConfigError>([&] { apply_override(cfg, "train.lr"); });
  EXPECT_CONTAINS(msg, "--set 'train.lr': missing '='");
  EXPECT_CONTAINS(msg, "--set key.path=value");
  msg = error_message<ConfigError>([&] { apply_override(cfg, "=3"); });
  EXPECT_CONTAINS(msg, "empty key");
  EXPECT_CONTAINS(msg, "--set key.path=value");
  for (const char* bad : {"a..b=1", ".a=1", "a.=1"}) {
    msg = error_message<ConfigError>([&] { apply_override(cfg, bad); });
    EXPECT_CONTAINS(msg, "empty name") << bad;
    EXPECT_CONTAINS(msg, "--set key.path=value") << bad;
  }
  EXPECT_EQ(cfg, json::object());  // nothing was half-applied
}

TEST(ApplyOverride, CannotDescendIntoScalar) {
  json cfg = json::parse(R"({"train": {"lr": 0.1}})");
  const std::string msg = error_message<ConfigError>([&] { apply_override(cfg, "train.lr.x=1"); });
  EXPECT_CONTAINS(msg, "'train.lr' is a number, not an object");
}

TEST(ApplyOverrides, LaterWins) {
  json cfg = json::object();
  apply_overrides(cfg, {"a=1", "b=2", "a=3"});
  EXPECT_EQ(cfg, json::parse(R"({"a": 3, "b": 2})"));
}

}  // namespace
}  // namespace r1kit
