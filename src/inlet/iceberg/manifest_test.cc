// Manifests written and read back (iceberg/manifest.h): every member a delete file needs
// survives, so that a manifest inlet rewrites (an overwrite removing some files) keeps
// other engines' delete files intact.
#include "inlet/iceberg/manifest.h"

#include <arrow/scalar.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include "inlet/testing/util.h"

namespace inlet::iceberg {

TEST(Manifest, DeleteFilesRoundTripWithTheirEqualityIdsAndReferencedFile) {
  ManifestContext context;
  context.schema_json =
      R"({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":false,"type":"long"}]})";
  context.spec_fields_json = "[]";
  context.content = ManifestContent::kDeletes;
  std::vector<EntryToWrite> entries(2);
  entries[0].status = EntryStatus::kExisting;
  entries[0].snapshot_id = 7;
  entries[0].sequence_number = 3;
  entries[0].file_sequence_number = 3;
  entries[0].file.content = FileContent::kEqualityDeletes;
  entries[0].file.file_path = "s3://b/t/data/eq.parquet";
  entries[0].file.record_count = 2;
  entries[0].file.file_size_in_bytes = 100;
  entries[0].file.equality_ids = {1, 4};
  entries[1].file.content = FileContent::kPositionDeletes;
  entries[1].file.file_path = "s3://b/t/data/pos.parquet";
  entries[1].file.record_count = 1;
  entries[1].file.file_size_in_bytes = 50;
  entries[1].file.referenced_data_file = "s3://b/t/data/a.parquet";
  auto bytes = WriteManifest(context, entries);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ManifestFile mf;
  mf.content = ManifestContent::kDeletes;
  mf.added_snapshot_id = 9;
  mf.sequence_number = 5;
  auto read = ReadManifest(*bytes, "m.avro", mf);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 2u);
  const auto& eq = (*read)[0];
  EXPECT_EQ(eq.status, EntryStatus::kExisting);
  EXPECT_EQ(eq.file.content, FileContent::kEqualityDeletes);
  EXPECT_EQ(eq.file.equality_ids, (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(eq.snapshot_id, 7);
  EXPECT_EQ(eq.sequence_number, 3);
  const auto& pos = (*read)[1];
  EXPECT_EQ(pos.file.content, FileContent::kPositionDeletes);
  EXPECT_TRUE(pos.file.equality_ids.empty());
  EXPECT_EQ(pos.file.referenced_data_file, "s3://b/t/data/a.parquet");
  EXPECT_EQ(pos.snapshot_id, 9);      // inherited
  EXPECT_EQ(pos.sequence_number, 5);  // inherited
}

}  // namespace inlet::iceberg
