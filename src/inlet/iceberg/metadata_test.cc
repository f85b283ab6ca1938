// Iceberg schemas and table metadata: what pyiceberg and Java write parses, writes back
// unchanged in what inlet does not model, and new schemas get ids as Java assigns them.
#include "inlet/iceberg/metadata.h"

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "inlet/iceberg/schema.h"
#include "inlet/testing/util.h"

namespace inlet::iceberg {

namespace {

// As pyiceberg 0.12 wrote it (trimmed), plus members inlet does not model.
const char* kMetadata = R"json({
 "location": "file:///tmp/ice/wh/ns/t", "table-uuid": "89eb140c-3642-46ba-87fb-0c2f2fbc5d24",
 "last-updated-ms": 1796460987163, "last-column-id": 9,
 "schemas": [{"type": "struct", "schema-id": 0, "identifier-field-ids": [1], "fields": [
   {"id": 1, "name": "id", "type": "long", "required": true},
   {"id": 2, "name": "ts", "type": "timestamptz", "required": false},
   {"id": 3, "name": "d", "type": "decimal(10, 2)", "required": false},
   {"id": 4, "name": "tags", "required": false, "type": {"type": "list", "element-id": 5,
     "element": "string", "element-required": false}},
   {"id": 6, "name": "attrs", "required": false, "type": {"type": "map", "key-id": 7,
     "key": "string", "value-id": 8, "value": "uuid", "value-required": true}},
   {"id": 9, "name": "f", "required": false, "type": "fixed[3]"}]}],
 "current-schema-id": 0,
 "partition-specs": [{"spec-id": 0, "fields": [
   {"source-id": 2, "field-id": 1000, "transform": "day", "name": "ts_day"}]}],
 "default-spec-id": 0, "last-partition-id": 1000, "properties": {"owner": "x"},
 "current-snapshot-id": 4729870892502977124,
 "snapshots": [{"snapshot-id": 4729870892502977124, "sequence-number": 2,
   "timestamp-ms": 1796460987163, "manifest-list": "file:///tmp/snap.avro",
   "summary": {"operation": "append", "added-records": "1", "inlet.pipeline.p": "{}"},
   "schema-id": 0}],
 "snapshot-log": [{"snapshot-id": 4729870892502977124, "timestamp-ms": 1796460987163}],
 "metadata-log": [{"metadata-file": "file:///tmp/m0.json", "timestamp-ms": 1796460986847}],
 "sort-orders": [{"order-id": 0, "fields": []}], "default-sort-order-id": 0,
 "refs": {"main": {"snapshot-id": 4729870892502977124, "type": "branch"},
          "audit": {"snapshot-id": 4729870892502977124, "type": "tag", "max-ref-age-ms": 5}},
 "statistics": [{"snapshot-id": 1, "statistics-path": "s.puffin"}],
 "format-version": 2, "last-sequence-number": 2})json";

}  // namespace

TEST(IcebergMetadata, ParsesAndWritesBackWhatItDoesNotModel) {
  INLET_ASSIGN_OR_FAIL(auto m, ParseMetadata(kMetadata, "m.json"));
  EXPECT_EQ(m.format_version, 2);
  EXPECT_EQ(m.last_column_id, 9);
  const auto& schema = *m.CurrentSchema()->arrow_schema;
  EXPECT_EQ(schema.field(0)->nullable(), false);
  EXPECT_TRUE(
      schema.field(1)->type()->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_TRUE(schema.field(2)->type()->Equals(arrow::decimal128(10, 2)));
  EXPECT_EQ(FieldId(*schema.field(3)->type()->field(0)), 5);  // the list element
  const auto& map = static_cast<const arrow::MapType&>(*schema.field(4)->type());
  EXPECT_EQ(FieldId(*map.key_field()), 7);
  EXPECT_EQ(FieldId(*map.item_field()), 8);
  EXPECT_FALSE(map.item_field()->nullable());
  EXPECT_EQ(m.CurrentSnapshot()->operation(), "append");
  EXPECT_EQ(m.refs.at("audit").type, "tag");
  EXPECT_EQ(m.DefaultSpec()->fields[0].transform, "day");
  std::string path;
  ASSERT_NE(FindFieldById(schema, 8, &path), nullptr);
  EXPECT_EQ(path, "attrs.value");

  INLET_ASSIGN_OR_FAIL(auto text, SerializeMetadata(m));
  INLET_ASSIGN_OR_FAIL(auto again, ParseMetadata(text, "again.json"));
  INLET_ASSIGN_OR_FAIL(auto j1, ParseJson(kMetadata, "a"));
  INLET_ASSIGN_OR_FAIL(auto j2, ParseJson(text, "b"));
  EXPECT_EQ(j2["statistics"], j1["statistics"]);
  EXPECT_EQ(j2["schemas"], j1["schemas"]);
  EXPECT_EQ(j2["refs"], j1["refs"]);
  EXPECT_EQ(j2["snapshots"], j1["snapshots"]);
  EXPECT_EQ(j2["partition-specs"], j1["partition-specs"]);
  EXPECT_EQ(again.CurrentSchema()->arrow_schema->ToString(true),
            m.CurrentSchema()->arrow_schema->ToString(true));
}

TEST(IcebergMetadata, RefusesWhatItCannotReadNamingIt) {
  auto v4 = ParseMetadata(R"({"format-version": 4})", "v4.json");
  EXPECT_TRUE(v4.status().IsNotImplemented()) << v4.status().ToString();
  auto missing = ParseMetadata(R"({"format-version": 2, "location": "x"})", "m.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("m.json: last-column-id is missing"),
            std::string::npos)
      << missing.status().ToString();
  auto type = ParseMetadata(
      R"({"format-version": 2, "location": "x", "last-column-id": 1, "current-schema-id": 0,
          "schemas": [{"type": "struct", "fields": [
            {"id": 1, "name": "g", "required": false, "type": "geometry"}]}]})",
      "g.json");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("column 'g' has type 'geometry'"),
            std::string::npos)
      << type.status().ToString();
}

TEST(IcebergSchema, AssignsFreshIdsAsJavaDoes) {
  auto input = arrow::schema(
      {arrow::field("a", arrow::int8()),
       arrow::field("s",
                    arrow::struct_({arrow::field("x", arrow::large_utf8()),
                                    arrow::field("l", arrow::list(arrow::int64()))})),
       arrow::field("m", arrow::map(arrow::utf8(), arrow::float64())),
       arrow::field("t", arrow::timestamp(arrow::TimeUnit::MILLI, "Europe/Paris"))});
  int32_t last = 0;
  INLET_ASSIGN_OR_FAIL(auto out, AssignFreshIds(*input, &last));
  // Top-level fields first (1-4), then each one's children in order.
  EXPECT_EQ(FieldId(*out->field(0)), 1);
  EXPECT_EQ(FieldId(*out->field(3)), 4);
  EXPECT_EQ(FieldId(*out->field(1)->type()->field(0)), 5);
  EXPECT_EQ(FieldId(*out->field(1)->type()->field(1)), 6);
  EXPECT_EQ(FieldId(*out->field(1)->type()->field(1)->type()->field(0)), 7);
  const auto& m = static_cast<const arrow::MapType&>(*out->field(2)->type());
  EXPECT_EQ(FieldId(*m.key_field()), 8);
  EXPECT_EQ(FieldId(*m.item_field()), 9);
  EXPECT_EQ(last, 9);
  EXPECT_EQ(HighestFieldId(*out), 9);
  EXPECT_TRUE(out->field(0)->type()->Equals(arrow::int32()));
  EXPECT_TRUE(
      out->field(3)->type()->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  Schema s;
  s.arrow_schema = out;
  INLET_ASSIGN_OR_FAIL(auto j, SchemaToJson(s));
  INLET_ASSIGN_OR_FAIL(auto back, ParseSchema(j));
  EXPECT_TRUE(back.arrow_schema->Equals(*out, /*check_metadata=*/true))
      << back.arrow_schema->ToString(true) << "\nvs\n"
      << out->ToString(true);
  EXPECT_EQ(TypeName(*out->field(3)->type()), "timestamptz");
  auto unsigned64 =
      AssignFreshIds(*arrow::schema({arrow::field("u", arrow::uint64())}), &last);
  EXPECT_TRUE(unsigned64.status().IsTypeError());
}

}  // namespace inlet::iceberg
