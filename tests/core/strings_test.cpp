#include "core/strings.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace r1kit {
namespace {

TEST(Levenshtein, KnownDistances) {
  EXPECT_EQ(levenshtein("", ""), 0u);
  EXPECT_EQ(levenshtein("abc", ""), 3u);
  EXPECT_EQ(levenshtein("", "abc"), 3u);
  EXPECT_EQ(levenshtein("lr", "lr"), 0u);
  EXPECT_EQ(levenshtein("lrr", "lr"), 1u);
  EXPECT_EQ(levenshtein("kitten", "sitting"), 3u);
  EXPECT_EQ(levenshtein("sitting", "kitten"), 3u);  // symmetric
  EXPECT_EQ(levenshtein("flaw", "lawn"), 2u);
  EXPECT_EQ(levenshtein("temperature", "temprature"), 1u);
}

TEST(ClosestMatch, SuggestsOnlyCloseCandidates) {
  const std::vector<std::string> keys = {"lr", "weight_decay", "max_steps", "temperature"};
  EXPECT_EQ(closest_match("lrr", keys), "lr");
  EXPECT_EQ(closest_match("temprature", keys), "temperature");
  EXPECT_EQ(closest_match("weight-decay", keys), "weight_decay");
  EXPECT_EQ(closest_match("max_step", keys), "max_steps");
  EXPECT_EQ(closest_match("batch_size", keys), "");  // nothing close
  EXPECT_EQ(closest_match("xy", keys), "");          // "lr" would be a complete rewrite
  EXPECT_EQ(closest_match("", keys), "");
  EXPECT_EQ(closest_match("lr", {}), "");
}

TEST(ClosestMatch, LongWordsAllowMoreEdits) {
  // max(2, 24/3) = 8 edits allowed for a 24-byte word.
  EXPECT_EQ(closest_match("mask_truncated_complets", {"mask_truncated_completions"}), "mask_truncated_completions");
  // Short words: at most 2 edits.
  EXPECT_EQ(closest_match("gpro", {"grpo"}), "grpo");
  EXPECT_EQ(closest_match("abcd", {"wxyd"}), "");
}

TEST(ClosestMatch, TiesGoToFirstCandidate) {
  EXPECT_EQ(closest_match("ab", {"abc", "abd"}), "abc");
  EXPECT_EQ(closest_match("ab", {"abd", "abc"}), "abd");
}

TEST(DidYouMean, FormatsSuffix) {
  EXPECT_EQ(did_you_mean("infoo", {"info", "warn"}), " — did you mean 'info'?");
  EXPECT_EQ(did_you_mean("zzzzzz", {"info", "warn"}), "");
}

TEST(Strings, JoinQuoteSplitTrim) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(quote_list({"a", "b"}), "'a', 'b'");
  EXPECT_EQ(split("a..b", '.'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", '.'), (std::vector<std::string>{""}));
  EXPECT_EQ(split("a.b.c", '.'), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(trim("  x y \t\n"), "x y");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_TRUE(starts_with("train.lr", "train."));
  EXPECT_FALSE(starts_with("tr", "train."));
  EXPECT_TRUE(ends_with("data.jsonl", ".jsonl"));
  EXPECT_FALSE(ends_with("data.json", ".jsonl"));
}

TEST(HumanBytes, BinaryUnits) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(1048575), "1.0 MiB");  // would read "1024.0 KiB"
  EXPECT_EQ(human_bytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(human_bytes(5ull << 40), "5.0 TiB");
  EXPECT_EQ(human_bytes(std::numeric_limits<uint64_t>::max()), "16.0 EiB");
}

TEST(HumanDuration, Ranges) {
  EXPECT_EQ(human_duration(0), "0 ms");
  EXPECT_EQ(human_duration(0.0123), "12 ms");
  EXPECT_EQ(human_duration(1.0), "1.0 s");
  EXPECT_EQ(human_duration(12.34), "12.3 s");
  EXPECT_EQ(human_duration(59.99), "1m 00s");
  EXPECT_EQ(human_duration(754), "12m 34s");
  EXPECT_EQ(human_duration(7384), "2h 03m 04s");
  EXPECT_EQ(human_duration(183600), "2d 03h 00m");
  EXPECT_EQ(human_duration(-2.5), "-2.5 s");
  EXPECT_EQ(human_duration(std::nan("")), "?");
  EXPECT_EQ(human_duration(std::numeric_limits<double>::infinity()), "?");
}

}  // namespace
}  // namespace r1kit
