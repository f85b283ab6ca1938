#include "inlet/delta/actions.h"

#include "inlet/testing/util.h"

namespace inlet::delta {

TEST(Actions, ParsesACommit) {
  std::string text =
      R"({"commitInfo":{"operation":"WRITE"}})"
      "\n"
      R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}})"
      "\n"
      R"({"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":["p"],"configuration":{"a":"b"}}})"
      "\n"
      R"({"add":{"path":"p=1/f%20x.parquet","partitionValues":{"p":"1"},"size":10,"modificationTime":5,"dataChange":true,"stats":"{}","deletionVector":{"storageType":"i","pathOrInlineDv":"abc","sizeInBytes":3,"cardinality":1}}})"
      "\n"
      R"({"remove":{"path":"old.parquet","dataChange":true}})"
      "\n"
      R"({"txn":{"appId":"app","version":7}})"
      "\n"
      R"({"someFutureAction":{"x":1}})"
      "\n";
  INLET_ASSIGN_OR_FAIL(auto set, ParseActions(text, "00000000000000000001.json"));
  ASSERT_TRUE(set.protocol.has_value());
  EXPECT_TRUE(set.protocol->HasReaderFeature("deletionVectors"));
  ASSERT_TRUE(set.metadata.has_value());
  EXPECT_EQ(set.metadata->partition_columns, std::vector<std::string>{"p"});
  ASSERT_EQ(set.adds.size(), 1u);
  EXPECT_EQ(set.adds[0].partition_values.at("p"), "1");
  ASSERT_TRUE(set.adds[0].deletion_vector.has_value());
  EXPECT_EQ(set.removes.size(), 1u);
  ASSERT_EQ(set.txns.size(), 1u);
  EXPECT_EQ(set.txns[0].version, 7);
  // Keys compare decoded paths and include the DV.
  EXPECT_NE(FileKey(set.adds[0].path, set.adds[0].deletion_vector),
            FileKey("p=1/f x.parquet", std::nullopt));
  EXPECT_EQ(FileKey("p=1/f%20x.parquet", std::nullopt),
            FileKey("p=1/f x.parquet", std::nullopt));
}

TEST(Actions, ErrorsNameFileAndLine) {
  auto st = ParseActions("{\"commitInfo\":{}}\n{\"add\": {\"path\": ",
                         "00000000000000000003.json")
                .status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("00000000000000000003.json line 2"), std::string::npos)
      << st.message();
  auto st2 = ParseActions(R"({"add":{"size":1}})", "v.json").status();
  EXPECT_NE(st2.message().find("'path'"), std::string::npos) << st2.message();
}

TEST(Actions, RoundTripsThroughJson) {
  AddFile a;
  a.path = "x.parquet";
  a.partition_values = {{"p", std::nullopt}, {"q", "v"}};
  a.size = 3;
  a.stats = R"({"numRecords":1})";
  ActionSet set;
  INLET_ASSERT_OK(ParseActionObject(Json{{"add", ToJson(a)}}, "test", &set));
  ASSERT_EQ(set.adds.size(), 1u);
  EXPECT_EQ(set.adds[0].partition_values, a.partition_values);
  EXPECT_EQ(set.adds[0].stats, a.stats);
}

}  // namespace inlet::delta
