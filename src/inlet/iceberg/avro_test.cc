// The hand-written Avro container format (iceberg/avro.h): encodings from the spec,
// round trips of every type Iceberg uses, and corrupt input named by byte.
#include "inlet/iceberg/avro.h"

#include <gtest/gtest.h>

#include "inlet/testing/util.h"

namespace inlet::iceberg::avro {

namespace {

const char* kSchema = R"({"type":"record","name":"manifest_entry","fields":[
  {"name":"status","type":"int","field-id":0},
  {"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},
  {"name":"ratio","type":"double"},
  {"name":"f","type":"float"},
  {"name":"ok","type":"boolean"},
  {"name":"data_file","field-id":2,"type":{"type":"record","name":"r2","fields":[
    {"name":"file_path","type":"string","field-id":100},
    {"name":"partition","type":{"type":"record","name":"r102","fields":[
      {"name":"day","type":["null",{"type":"int","logicalType":"date"}],"field-id":1000}]},
     "field-id":102},
    {"name":"lower_bounds","type":["null",{"type":"array","logicalType":"map","items":{
      "type":"record","name":"k126_v127","fields":[
        {"name":"key","type":"int","field-id":126},
        {"name":"value","type":"bytes","field-id":127}]}}],"default":null,"field-id":125},
    {"name":"uuid","type":{"type":"fixed","name":"uuid_fixed","size":4}},
    {"name":"tags","type":{"type":"map","values":"string"}},
    {"name":"kind","type":{"type":"enum","name":"kind","symbols":["A","B"]}}]}}]})";

Value Entry(int64_t i) {
  Value::Entries tags;
  tags.emplace_back("k", Value("v" + std::to_string(i)));
  Value tag_map;
  tag_map.data = std::move(tags);
  Value::Items bounds;
  for (int k = 0; k < static_cast<int>(i % 3); ++k)
    bounds.push_back(Value(Value::Items{Value(k), Value(std::string("\x01\x00", 2))}));
  Value data_file(Value::Items{
      Value("s3://bucket/data/file-" + std::to_string(i) + ".parquet"),
      Value(Value::Items{i % 2 ? Value(static_cast<int64_t>(19000 + i)) : Value()}),
      i % 4 ? Value(std::move(bounds)) : Value(), Value(std::string("abcd")), tag_map,
      Value(static_cast<int64_t>(i % 2))});
  return Value(Value::Items{Value(static_cast<int64_t>(1)),
                            i % 5 ? Value(static_cast<int64_t>(-i * 1000003)) : Value(),
                            Value(0.5 * static_cast<double>(i)), Value(1.5),
                            Value(i % 2 == 0), std::move(data_file)});
}

}  // namespace

TEST(Avro, RoundTripsEveryTypeWithBothCodecs) {
  for (Codec codec : {Codec::kNull, Codec::kDeflate}) {
    INLET_ASSIGN_OR_FAIL(
        auto w, ContainerWriter::Make(kSchema, {{"format-version", "2"}}, codec));
    // Enough records for several blocks.
    const int n = 5000;
    for (int i = 0; i < n; ++i) INLET_ASSERT_OK(w->Append(Entry(i)));
    INLET_ASSIGN_OR_FAIL(auto bytes, w->Finish());
    INLET_ASSIGN_OR_FAIL(auto file, ReadContainer(bytes, "test.avro"));
    EXPECT_EQ(file.metadata.at("format-version"), "2");
    EXPECT_EQ(file.metadata.at("avro.codec"), codec == Codec::kNull ? "null" : "deflate");
    EXPECT_EQ(file.schema_json, kSchema);  // written verbatim, attributes and all
    ASSERT_EQ(file.records.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) ASSERT_EQ(file.records[i].data, Entry(i).data) << i;
    const auto& df = file.schema->fields[5];
    EXPECT_EQ(df.field_id, 2);
    EXPECT_EQ(df.node->fields[1].node->fields[0].node->branches[1]->logical_type, "date");
  }
}

TEST(Avro, EncodesAsTheSpecSays) {
  // zig-zag varints: 0 -> 00, -1 -> 01, 1 -> 02, -64 -> 7f, 64 -> 80 01.
  const char* schema =
      R"({"type":"record","name":"r","fields":[{"name":"x","type":"long"}]})";
  INLET_ASSIGN_OR_FAIL(auto w, ContainerWriter::Make(schema, {}, Codec::kNull));
  for (int64_t v : {0, -1, 1, -64, 64})
    INLET_ASSERT_OK(w->Append(Value(Value::Items{Value(v)})));
  INLET_ASSIGN_OR_FAIL(auto bytes, w->Finish());
  EXPECT_NE(bytes.find(std::string("\x00\x01\x02\x7f\x80\x01", 6)), std::string::npos);
}

TEST(Avro, RefusesValuesThatDoNotFitNamingTheField) {
  INLET_ASSIGN_OR_FAIL(auto w, ContainerWriter::Make(kSchema, {}));
  Value bad = Entry(1);
  std::get<Value::Items>(std::get<Value::Items>(bad.data)[5].data)[0] =
      Value(static_cast<int64_t>(7));
  auto st = w->Append(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("data_file.file_path"), std::string::npos) << st.ToString();
}

TEST(Avro, CorruptFilesAreNamedWithTheByte) {
  INLET_ASSIGN_OR_FAIL(auto w, ContainerWriter::Make(kSchema, {}, Codec::kNull));
  for (int i = 0; i < 10; ++i) INLET_ASSERT_OK(w->Append(Entry(i)));
  INLET_ASSIGN_OR_FAIL(auto bytes, w->Finish());
  auto truncated =
      ReadContainer(std::string_view(bytes).substr(0, bytes.size() - 20), "m.avro");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("m.avro at byte"), std::string::npos)
      << truncated.status().ToString();
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x55;  // the sync marker
  auto bad_sync = ReadContainer(flipped, "m.avro");
  ASSERT_FALSE(bad_sync.ok());
  EXPECT_NE(bad_sync.status().message().find("sync marker"), std::string::npos);
  auto not_avro = ReadContainer("PAR1....", "x.parquet");
  ASSERT_FALSE(not_avro.ok());
  EXPECT_NE(not_avro.status().message().find("not an Avro file: x.parquet"),
            std::string::npos);
}

}  // namespace inlet::iceberg::avro
