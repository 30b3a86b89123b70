#include "core/jsonl.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core_test_util.h"

namespace r1kit {
namespace {
using nlohmann::json;
using testing::error_message;
using testing::TempDir;

TEST(JsonlReader, SkipsBlankLinesAndCountsLines) {
  TempDir dir;
  const auto file = dir.write("d.jsonl", "{\"a\": 1}\n\n   \n{\"a\": 2}\r\n\t\n{\"a\": 3}");  // no final newline
  JsonlReader reader(file);
  EXPECT_EQ(reader.path(), file);
  EXPECT_EQ(reader.record_number(), 0u);
  json r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r["a"], 1);
  EXPECT_EQ(reader.record_number(), 1u);
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r["a"], 2);
  EXPECT_EQ(reader.record_number(), 4u);
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r["a"], 3);
  EXPECT_EQ(reader.record_number(), 6u);
  EXPECT_FALSE(reader.next(r));
  EXPECT_FALSE(reader.next(r));
}

TEST(JsonlReader, InvalidJsonNamesFileAndLine) {
  TempDir dir;
  const auto file = dir.write("bad.jsonl", "{\"a\": 1}\n\n{\"a\": }\n");
  JsonlReader reader(file);
  json r;
  ASSERT_TRUE(reader.next(r));
  const std::string msg = error_message<DataError>([&] { reader.next(r); });
  EXPECT_CONTAINS(msg, file.string() + ":3: invalid JSON (");
  EXPECT_CONTAINS(msg, "syntax error");
  EXPECT_CONTAINS(msg, ") — each line must be one JSON object");
}

TEST(JsonlReader, NonObjectLineIsDataError) {
  TempDir dir;
  const auto file = dir.write("arr.jsonl", "\n[1, 2]\n");
  const std::string msg = error_message<DataError>([&] { read_jsonl(file); });
  EXPECT_EQ(msg, file.string() + ":2: expected a JSON object, got an array ([1,2]) — each line must be one JSON object");
  const auto str = dir.write("str.jsonl", "\"text\"\n");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_jsonl(str); }), "str.jsonl:1: expected a JSON object, got a string");
}

TEST(JsonlReader, ByteOrderMarkAccepted) {
  TempDir dir;
  const auto file = dir.write("bom.jsonl", "\xEF\xBB\xBF{\"a\": 1}\n");
  const auto records = read_jsonl(file);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["a"], 1);
}

TEST(JsonlReader, MissingFileIsIoError) {
  TempDir dir;
  EXPECT_CONTAINS(error_message<IoError>([&] { JsonlReader r(dir / "none.jsonl"); }), "none.jsonl: file not found");
  EXPECT_CONTAINS(error_message<IoError>([&] { JsonlReader r(dir.path()); }), "is a directory");
}

TEST(ReadJsonl, Limit) {
  TempDir dir;
  const auto file = dir.write("d.jsonl", "{\"i\": 0}\n{\"i\": 1}\n{\"i\": 2}\n");
  EXPECT_EQ(read_jsonl(file).size(), 3u);
  const auto two = read_jsonl(file, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1]["i"], 1);
  EXPECT_EQ(read_jsonl(dir.write("empty.jsonl", "")).size(), 0u);
}

TEST(JsonlWriter, RoundTripAndAppend) {
  TempDir dir;
  const auto file = dir / "run" / "metrics.jsonl";  // parent created
  const json a = {{"step", 1}, {"loss", 0.5}, {"rewards/math/mean", 0.25}};
  const json b = {{"step", 2}, {"text", "line1\nline2 \"quoted\""}};
  {
    JsonlWriter w(file, /*append=*/false);
    EXPECT_EQ(w.path(), file);
    w.write(a);
    // Flushed per line: visible before the writer is closed.
    EXPECT_EQ(read_file(file), a.dump() + "\n");
    w.write(b);
  }
  EXPECT_EQ(read_jsonl(file), (std::vector<json>{a, b}));
  {
    JsonlWriter w(file, /*append=*/true);
    w.write({{"step", 3}});
    w.flush();
  }
  const auto all = read_jsonl(file);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["step"], 3);
  {
    JsonlWriter w(file, /*append=*/false);  // truncates
    w.write({{"step", 9}});
  }
  EXPECT_EQ(read_jsonl(file), (std::vector<json>{{{"step", 9}}}));
}

TEST(JsonlWriter, InvalidUtf8IsReplacedNotFatal) {
  TempDir dir;
  const auto file = dir / "samples.jsonl";
  JsonlWriter w(file, false);
  w.write({{"completion", std::string("ok \xE4\xB8")}});  // truncated 3-byte sequence
  const auto records = read_jsonl(file);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["completion"], "ok \xEF\xBF\xBD");  // U+FFFD
}

TEST(JsonlWriter, RejectsNonObjectAndBadPath) {
  TempDir dir;
  JsonlWriter w(dir / "x.jsonl", false);
  EXPECT_THROW(w.write(json::array({1, 2})), InvalidArgument);
  dir.write("file", "x");
  EXPECT_CONTAINS(error_message<IoError>([&] { JsonlWriter bad(dir / "file" / "m.jsonl", false); }), "file");
}

TEST(JsonlWriter, ConcurrentWritesKeepWholeLines) {
  TempDir dir;
  const auto file = dir / "m.jsonl";
  {
    JsonlWriter w(file, false);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&w, t] {
        for (int i = 0; i < 200; ++i) w.write({{"thread", t}, {"i", i}, {"pad", std::string(100, 'x')}});
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(read_jsonl(file).size(), 800u);  // every line parses
}

TEST(FormatRecordError, Format) {
  EXPECT_EQ(format_record_error("data/train.jsonl", 17, "missing field 'answer'"),
            "data/train.jsonl:17: missing field 'answer'");
}

}  // namespace
}  // namespace r1kit
