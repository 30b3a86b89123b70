// ConfigReader: typed reads, defaults, required keys, choices, unknown keys with suggestions.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "core_test_util.h"

namespace r1kit {
namespace {
using nlohmann::json;
using testing::error_message;

TEST(ConfigReader, ReadsEveryType) {
  const json cfg = json::parse(R"({
    "flag": true, "n": 42, "big": 9000000000, "seed": 18446744073709551615, "x": 0.5, "whole": 3,
    "f": 1.5, "s": "hi", "ids": [1, -2, 3], "xs": [1, 2.5], "names": ["a", "b"], "any": {"k": [1]}
  })");
  ConfigReader r(cfg, "$", "cfg.json");
  EXPECT_EQ(r.get("flag", false), true);
  EXPECT_EQ(r.get("n", 0), 42);
  EXPECT_EQ(r.get<int64_t>("big", 0), 9000000000LL);
  EXPECT_EQ(r.get<uint64_t>("seed", 0), 18446744073709551615ULL);
  EXPECT_DOUBLE_EQ(r.get("x", 0.0), 0.5);
  EXPECT_DOUBLE_EQ(r.get("whole", 0.0), 3.0);  // a double accepts an integer literal
  EXPECT_FLOAT_EQ(r.get("f", 0.0f), 1.5f);
  EXPECT_EQ(r.get("s", "default"), "hi");
  EXPECT_EQ(r.get<std::vector<int64_t>>("ids", {}), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(r.get<std::vector<double>>("xs", {}), (std::vector<double>{1.0, 2.5}));
  EXPECT_EQ(r.get<std::vector<std::string>>("names", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.get<json>("any", json()), json::parse(R"({"k": [1]})"));
  EXPECT_NO_THROW(r.finish());
}

TEST(ConfigReader, DefaultsForAbsentAndNull) {
  const json cfg = json::parse(R"({"delta": null})");
  ConfigReader r(cfg);
  EXPECT_EQ(r.get("steps", 7), 7);
  EXPECT_EQ(r.get("name", "x"), "x");
  EXPECT_DOUBLE_EQ(r.get("delta", 2.0), 2.0);
  EXPECT_FALSE(r.get_optional<double>("delta").has_value());
  EXPECT_FALSE(r.get_optional<int>("absent").has_value());
  EXPECT_FALSE(r.has("delta"));
  EXPECT_FALSE(r.has("absent"));
  EXPECT_NO_THROW(r.finish());
}

TEST(ConfigReader, OptionalAndHas) {
  const json cfg = json::parse(R"({"top_k": 50})");
  ConfigReader r(cfg);
  EXPECT_TRUE(r.has("top_k"));
  EXPECT_EQ(r.get_optional<int>("top_k"), std::optional<int>(50));
}

TEST(ConfigReader, WrongTypeNamesPathAndValue) {
  const json cfg = json::parse(R"({"train": {"lr": "1e-3", "steps": 1.5, "n": 2.0, "flag": 1,
                                  "ids": [1, "x"], "name": 5, "small": 3000000000, "seed": -1}})");
  ConfigReader root(cfg, "$", "cfg.json");
  ConfigReader train = root.child("train");
  EXPECT_EQ(error_message<ConfigError>([&] { train.get("lr", 0.0); }),
            "cfg.json: $.train.lr: expected a number, got a string (\"1e-3\")");
  EXPECT_EQ(error_message<ConfigError>([&] { train.get("steps", 0); }),
            "cfg.json: $.train.steps: expected an integer, got a number (1.5)");
  const std::string two = error_message<ConfigError>([&] { train.get<int64_t>("n", 0); });
  EXPECT_CONTAINS(two, "cfg.json: $.train.n: expected an integer, got 2.0");
  EXPECT_CONTAINS(two, "without a decimal point");
  EXPECT_EQ(error_message<ConfigError>([&] { train.get("flag", false); }),
            "cfg.json: $.train.flag: expected true or false, got an integer (1)");
  EXPECT_EQ(error_message<ConfigError>([&] { train.get<std::vector<int64_t>>("ids", {}); }),
            "cfg.json: $.train.ids[1]: expected an integer, got a string (\"x\")");
  EXPECT_EQ(error_message<ConfigError>([&] { train.get("name", "x"); }),
            "cfg.json: $.train.name: expected a string, got an integer (5)");
  EXPECT_CONTAINS(error_message<ConfigError>([&] { train.get("small", 0); }),
                  "cfg.json: $.train.small: 3000000000 is out of range");
  EXPECT_CONTAINS(error_message<ConfigError>([&] { train.get<uint64_t>("seed", 0); }),
                  "cfg.json: $.train.seed: expected a non-negative integer, got -1");
  EXPECT_CONTAINS(error_message<ConfigError>([&] { train.get<std::vector<std::string>>("name", {}); }),
                  "$.train.name: expected an array of strings, got an integer (5)");
}

TEST(ConfigReader, RequireNamesPathAndHint) {
  const json cfg = json::parse(R"({"model": {}})");
  ConfigReader root(cfg, "$", "run.json");
  ConfigReader model = root.child("model");
  EXPECT_EQ(error_message<ConfigError>([&] { model.require<std::string>("path"); }),
            "run.json: $.model.path is required: add it to the config or pass --set model.path=<value>");
  EXPECT_EQ(error_message<ConfigError>([&] { model.require<std::string>("path", "the HF model directory"); }),
            "run.json: $.model.path is required: the HF model directory");
  const json with = json::parse(R"({"path": "/m"})");
  EXPECT_EQ(ConfigReader(with).require<std::string>("path"), "/m");
}

TEST(ConfigReader, NoSourceMeansNoPrefix) {
  const json cfg = json::parse(R"({"lr": "x"})");
  ConfigReader r(cfg);
  EXPECT_EQ(error_message<ConfigError>([&] { r.get("lr", 0.0); }), "$.lr: expected a number, got a string (\"x\")");
}

TEST(ConfigReader, ConstructorRejectsNonObject) {
  const json arr = json::parse("[1]");
  EXPECT_EQ(error_message<ConfigError>([&] { ConfigReader r(arr, "$.train", "c.json"); }),
            "c.json: $.train: expected an object, got an array ([1]) — write it as {\"key\": value, ...}");
  const json cfg = json::parse(R"({"train": 3})");
  ConfigReader root(cfg, "$", "c.json");
  EXPECT_CONTAINS(error_message<ConfigError>([&] { root.child("train"); }),
                  "c.json: $.train: expected an object, got an integer (3)");
}

TEST(ConfigReader, UnknownKeySuggestsClosestKnownKey) {
  const json cfg = json::parse(R"({"model": {"lrr": 1e-3, "path": "/m"}})");
  ConfigReader root(cfg, "$", "cfg.json");
  ConfigReader model = root.child("model");
  model.get("lr", 1e-6);
  model.get("path", "");
  EXPECT_EQ(error_message<ConfigError>([&] { root.finish(); }),
            "cfg.json: unknown key $.model.lrr — did you mean 'lr'?");
  EXPECT_EQ(error_message<ConfigError>([&] { model.finish(); }),
            "cfg.json: unknown key $.model.lrr — did you mean 'lr'?");
}

TEST(ConfigReader, UnknownKeyWithoutCloseMatchListsValidKeys) {
  const json cfg = json::parse(R"({"batch": 4, "lr": 1, "temperature": 1.0})");
  ConfigReader r(cfg, "$", "cfg.json");
  r.get("lr", 0.0);
  r.get("temperature", 1.0);
  r.has("top_p");  // asked about: a valid key even though absent
  EXPECT_EQ(error_message<ConfigError>([&] { r.finish(); }),
            "cfg.json: unknown key $.batch — valid keys here: 'lr', 'temperature', 'top_p'; remove it or fix its name");
  const json empty_section = json::parse(R"({"x": 1})");
  EXPECT_EQ(error_message<ConfigError>([&] { ConfigReader(empty_section, "$.extra").finish(); }),
            "unknown key $.extra.x — this section takes no keys; remove it");
}

TEST(ConfigReader, HasAloneDoesNotMarkRead) {
  const json cfg = json::parse(R"({"a": 1})");
  ConfigReader r(cfg);
  EXPECT_TRUE(r.has("a"));
  EXPECT_THROW(r.finish(), ConfigError);
  r.get("a", 0);
  EXPECT_NO_THROW(r.finish());
}

TEST(ConfigReader, RawAndIgnoreMarkKeysRead) {
  const json cfg = json::parse(R"({"args": {"anything": [1, 2]}, "legacy": 1})");
  ConfigReader r(cfg);
  EXPECT_EQ(r.raw("args"), json::parse(R"({"anything": [1, 2]})"));
  EXPECT_TRUE(r.raw("absent").is_null());
  r.ignore("legacy");
  EXPECT_NO_THROW(r.finish());  // nothing below "args" is checked
}

TEST(ConfigReader, FinishChecksNestedChildrenAndAbsentChildIsEmpty) {
  const json cfg = json::parse(R"({"a": {"b": {"c": 1, "cc": 2}}})");
  ConfigReader root(cfg, "$", "n.json");
  ConfigReader b = root.child("a").child("b");
  EXPECT_EQ(b.path(), "$.a.b");
  EXPECT_EQ(b.get("c", 0), 1);
  EXPECT_EQ(error_message<ConfigError>([&] { root.finish(); }), "n.json: unknown key $.a.b.cc — did you mean 'c'?");
  b.get("cc", 0);
  EXPECT_NO_THROW(root.finish());

  ConfigReader missing = root.child("optim");  // absent section: every get() returns its default
  EXPECT_EQ(missing.path(), "$.optim");
  EXPECT_DOUBLE_EQ(missing.get("lr", 0.25), 0.25);
  EXPECT_NO_THROW(root.finish());
}

TEST(ConfigReader, ChildTwiceSharesBookkeeping) {
  const json cfg = json::parse(R"({"t": {"x": 1, "y": 2}})");
  ConfigReader root(cfg);
  root.child("t").get("x", 0);
  root.child("t").get("y", 0);
  EXPECT_NO_THROW(root.finish());
}

TEST(ConfigReader, ChoiceAcceptsAllowedAndSuggests) {
  const json cfg = json::parse(R"({"loss_type": "dapoo", "ok": "grpo", "num": 3})");
  ConfigReader r(cfg, "$", "rl.json");
  const std::vector<std::string> allowed = {"grpo", "bnpo", "dr_grpo", "dapo"};
  EXPECT_EQ(r.get_choice("ok", "dapo", allowed), "grpo");
  EXPECT_EQ(r.get_choice("absent", "dapo", allowed), "dapo");
  EXPECT_EQ(error_message<ConfigError>([&] { r.get_choice("loss_type", "dapo", allowed); }),
            "rl.json: $.loss_type: 'dapoo' is not one of 'grpo', 'bnpo', 'dr_grpo', 'dapo' — did you mean 'dapo'?");
  EXPECT_EQ(error_message<ConfigError>([&] { r.get_choice("num", "dapo", allowed); }),
            "rl.json: $.num: expected one of 'grpo', 'bnpo', 'dr_grpo', 'dapo', got an integer (3)");
}

TEST(ConfigReader, FailAndPathHelpers) {
  const json cfg = json::parse(R"({"g": 1, "weird key": 2})");
  ConfigReader r(cfg, "$.rl", "c.json");
  EXPECT_EQ(error_message<ConfigError>([&] { r.fail("g", "must be >= 2 (GRPO needs a group)"); }),
            "c.json: $.rl.g: must be >= 2 (GRPO needs a group)");
  EXPECT_EQ(r.path_of("weird key"), "$.rl[\"weird key\"]");
  EXPECT_EQ(json_path_join("$", "0abc"), "$[\"0abc\"]");
  r.get("g", 0);
  EXPECT_EQ(error_message<ConfigError>([&] { r.finish(); }),
            "c.json: unknown key $.rl[\"weird key\"] — valid keys here: 'g'; remove it or fix its name");
}

TEST(ConfigReader, EndToEndWithOverrides) {
  json cfg = parse_json(R"({
    // a small run config
    "train": {"lr": 1e-6, "steps": 10},
    "rewards": [{"type": "math", "weight": 1.0}]
  })",
                        "run.json");
  apply_overrides(cfg, {"train.lr=2e-6", "train.steps=20", "rewards.0.weight=0.5"});
  ConfigReader root(cfg, "$", "run.json");
  ConfigReader train = root.child("train");
  EXPECT_DOUBLE_EQ(train.get("lr", 0.0), 2e-6);
  EXPECT_EQ(train.get("steps", 0), 20);
  EXPECT_EQ(root.raw("rewards")[0]["weight"], 0.5);
  EXPECT_NO_THROW(root.finish());

  apply_override(cfg, "train.stpes=5");  // a typo on the command line is caught by finish()
  ConfigReader again(cfg, "$", "run.json");
  again.child("train").get("lr", 0.0);
  again.child("train").get("steps", 0);
  again.raw("rewards");
  EXPECT_EQ(error_message<ConfigError>([&] { again.finish(); }),
            "run.json: unknown key $.train.stpes — did you mean 'steps'?");
}

}  // namespace
}  // namespace r1kit
