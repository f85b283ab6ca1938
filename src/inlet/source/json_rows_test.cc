#include "inlet/source/json_rows.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace inlet {
namespace {

MessageMeta Meta(int64_t offset) {
  MessageMeta m;
  m.topic = "events";
  m.partition = 2;
  m.offset = offset;
  m.timestamp_ms = 1700000000000 + offset;
  m.key = "k" + std::to_string(offset) == "k0" ? std::optional<std::string_view>("k0")
                                               : std::nullopt;
  return m;
}

std::string Cell(const arrow::Table& t, const std::string& column, int64_t row) {
  auto c = t.GetColumnByName(column);
  if (!c) return "<no column>";
  auto s = c->GetScalar(row);
  return s.ok() ? (*s)->ToString() : "<error>";
}

TEST(JsonRows, InfersEvolvesAndWidens) {
  JsonRows rows({});
  ASSERT_TRUE(
      rows.Append(R"({"id": 1, "name": "a", "ok": true, "tags": ["x", 1], "n": null})",
                  Meta(0))
          .ok());
  // A new column is null in earlier rows; an integer column widens to double.
  ASSERT_TRUE(
      rows.Append(R"({"id": 2.5, "extra": {"b": [1, 2]}, "n": 7})", Meta(1)).ok());
  auto t = rows.Finish(42).ValueOrDie();
  ASSERT_EQ(t->num_rows(), 2);
  EXPECT_EQ(t->schema()->GetFieldByName("id")->type()->id(), arrow::Type::DOUBLE);
  EXPECT_EQ(Cell(*t, "id", 0), "1");
  EXPECT_EQ(Cell(*t, "id", 1), "2.5");
  EXPECT_EQ(Cell(*t, "name", 1), "null");
  EXPECT_EQ(Cell(*t, "tags", 0), R"(["x", 1])");
  EXPECT_EQ(Cell(*t, "extra", 0), "null");
  EXPECT_EQ(Cell(*t, "extra", 1), R"({"b": [1, 2]})");
  EXPECT_EQ(t->schema()->GetFieldByName("n")->type()->id(), arrow::Type::INT64);
  EXPECT_EQ(Cell(*t, "n", 1), "7");
  EXPECT_EQ(Cell(*t, "_kafka_topic", 1), "events");
  EXPECT_EQ(Cell(*t, "_kafka_partition", 1), "2");
  EXPECT_EQ(Cell(*t, "_kafka_offset", 1), "1");
  EXPECT_EQ(Cell(*t, "_kafka_key", 0), "k0");
  EXPECT_EQ(Cell(*t, "_kafka_key", 1), "null");
  EXPECT_EQ(t->schema()->field(t->num_columns() - 1)->name(), "_ingested_at");
  EXPECT_EQ(rows.rows(), 0);
}

TEST(JsonRows, GivenFlagsMarkTheFieldsAMessageLacks) {
  JsonRowOptions o;
  o.declared = {{"id", arrow::int64()}, {"lot", arrow::utf8()}, {"free", arrow::int64()}};
  o.given_prefix = "?";
  JsonRows rows(o);
  ASSERT_TRUE(rows.Append(R"({"id": 1, "lot": "a", "free": 3})", Meta(0)).ok());
  // free missing (not the same as null); lot null; a new field from the second message.
  ASSERT_TRUE(rows.Append(R"({"id": 2, "lot": null, "x": true})", Meta(1)).ok());
  auto t = rows.Finish(42).ValueOrDie();
  EXPECT_EQ(t->schema()->GetFieldIndex("?id"), -1);   // every message had it
  EXPECT_EQ(t->schema()->GetFieldIndex("?lot"), -1);  // a null is given
  EXPECT_EQ(Cell(*t, "?free", 0), "true");
  EXPECT_EQ(Cell(*t, "?free", 1), "false");
  EXPECT_EQ(Cell(*t, "?x", 0), "false");
  EXPECT_EQ(Cell(*t, "?x", 1), "true");
  EXPECT_EQ(t->schema()->field(t->num_columns() - 1)->name(), "?x");
  // The next batch starts afresh: all given, no flags.
  ASSERT_TRUE(
      rows.Append(R"({"id": 3, "lot": "c", "free": 1, "x": false})", Meta(2)).ok());
  t = rows.Finish(43).ValueOrDie();
  EXPECT_EQ(t->schema()->field(t->num_columns() - 1)->name(), "_ingested_at");
  // A refused message leaves no trace in the flags.
  EXPECT_FALSE(rows.Append(R"({"id": "no"})", Meta(3)).ok());
  ASSERT_TRUE(
      rows.Append(R"({"id": 4, "lot": "d", "free": 2, "x": true})", Meta(4)).ok());
  t = rows.Finish(44).ValueOrDie();
  EXPECT_EQ(t->schema()->field(t->num_columns() - 1)->name(), "_ingested_at");
}

TEST(JsonRows, FieldsInAnyOrderAndRepeatedNames) {
  JsonRows rows({});
  // The first message repeats a new name: the last value wins, and gives the column its
  // kind.
  ASSERT_TRUE(rows.Append(R"({"a": 1, "n": 5, "b": "x", "n": "five"})", Meta(0)).ok());
  ASSERT_TRUE(rows.Append(R"({"b": "y", "a": 2})", Meta(1)).ok());
  ASSERT_TRUE(rows.Append(R"({"c": true, "a": 3, "a": 4, "b": null})", Meta(2)).ok());
  // A repeated name whose first value would not fit is not checked: the last one counts.
  ASSERT_TRUE(rows.Append(R"({"a": "text", "b": "z", "a": 5})", Meta(3)).ok());
  EXPECT_FALSE(rows.Append(R"({"a": 6, "a": "text"})", Meta(4)).ok());
  auto t = rows.Finish(42).ValueOrDie();
  ASSERT_EQ(t->num_rows(), 4);
  EXPECT_EQ(t->schema()->GetFieldByName("n")->type()->id(), arrow::Type::STRING);
  EXPECT_EQ(Cell(*t, "n", 0), "five");
  EXPECT_EQ(Cell(*t, "n", 1), "null");
  const char* a[] = {"1", "2", "4", "5"};
  for (int64_t r = 0; r < 4; ++r) EXPECT_EQ(Cell(*t, "a", r), a[r]) << r;
  EXPECT_EQ(Cell(*t, "b", 1), "y");
  EXPECT_EQ(Cell(*t, "b", 2), "null");
  EXPECT_EQ(Cell(*t, "b", 3), "z");
  EXPECT_EQ(Cell(*t, "c", 1), "null");
  EXPECT_EQ(Cell(*t, "c", 2), "true");
}

// Kafka keys are bytes: one that is not UTF-8 (found by fuzzing) becomes valid text, its
// malformed bytes U+FFFD, as Kafka Connect's StringConverter decodes it.
TEST(JsonRows, KeysThatAreNotUtf8AreDecodedLossily) {
  JsonRows rows({});
  MessageMeta m = Meta(0);
  std::string key("\x00\x01k\xff\xc3\xa9", 6);  // an Avro-style magic byte, then 0xFF
  m.key = key;
  ASSERT_TRUE(rows.Append(R"({"id": 1})", m).ok());
  auto t = rows.Finish(0).ValueOrDie();
  ASSERT_TRUE(t->ValidateFull().ok());
  auto keys = std::static_pointer_cast<arrow::StringArray>(
      t->GetColumnByName("_kafka_key")->chunk(0));
  EXPECT_EQ(keys->GetString(0), std::string("\x00\x01k\xef\xbf\xbd\xc3\xa9", 8));
}

TEST(JsonRows, RefusesABadMessageAloneLeavingNoTrace) {
  JsonRows rows({});
  ASSERT_TRUE(rows.Append(R"({"id": 1, "name": "a"})", Meta(0)).ok());
  for (const char* bad :
       {R"({"id": 2, "name": 3})", R"({"id": "x"})", "{not json", R"([1, 2])",
        R"({"id": 1} trailing)", R"("text")", R"({"id": 99999999999999999999})"}) {
    auto st = rows.Append(bad, Meta(1));
    EXPECT_FALSE(st.ok()) << bad;
  }
  EXPECT_EQ(rows.rows(), 1);
  auto st = rows.Append(R"({"id": 2, "name": 3})", Meta(1));
  EXPECT_NE(st.message().find("field 'name': expected string"), std::string::npos)
      << st.message();
  ASSERT_TRUE(rows.Append(R"({"id": 3, "name": "c", "late": 1})", Meta(2)).ok());
  auto t = rows.Finish(0).ValueOrDie();
  ASSERT_EQ(t->num_rows(), 2);
  EXPECT_EQ(Cell(*t, "id", 1), "3");
  EXPECT_EQ(Cell(*t, "late", 0), "null");
}

TEST(JsonRows, DeclaredTypesConvertAndAreChecked) {
  JsonRowOptions o;
  o.declared = {{"at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
                {"day", arrow::date32()},
                {"amount", arrow::decimal128(10, 2)},
                {"small", arrow::int16()},
                {"name", arrow::utf8()}};
  o.required = {"name"};
  o.include_key = false;
  JsonRows rows(o);
  ASSERT_TRUE(
      rows.Append(
              R"({"at": "2024-05-01T10:00:00Z", "day": "2024-05-01", "amount": "12.5", "small": 7,
                              "name": "a"})",
              Meta(0))
          .ok());
  ASSERT_TRUE(
      rows.Append(R"({"at": 1714557600000, "amount": 3, "name": "b"})", Meta(1)).ok());
  EXPECT_FALSE(rows.Append(R"({"small": 70000, "name": "c"})", Meta(2)).ok());
  EXPECT_FALSE(rows.Append(R"({"at": "yesterday", "name": "c"})", Meta(2)).ok());
  EXPECT_FALSE(rows.Append(R"({"amount": "123456789.123", "name": "c"})", Meta(2)).ok());
  auto missing = rows.Append(R"({"small": 1})", Meta(2));
  EXPECT_NE(missing.message().find("required field 'name'"), std::string::npos)
      << missing.message();
  auto t = rows.Finish(0).ValueOrDie();
  ASSERT_EQ(t->num_rows(), 2);
  EXPECT_EQ(Cell(*t, "amount", 0), "12.50");
  EXPECT_EQ(Cell(*t, "amount", 1), "3.00");
  EXPECT_EQ(Cell(*t, "at", 0), Cell(*t, "at", 1));
  EXPECT_EQ(Cell(*t, "day", 0), "2024-05-01");
  EXPECT_EQ(t->GetColumnByName("_kafka_key"), nullptr);
}

}  // namespace
}  // namespace inlet
