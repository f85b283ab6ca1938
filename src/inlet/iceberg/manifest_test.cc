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

// Format version 3 (spec "First Row ID Inheritance", "First Row ID Assignment"): a data
// file without a first row id takes its manifest's plus the rows of the files before it
// that took one; a file with one keeps it; deleted entries take none. Deletion vectors
// keep their blob's offset and length.
namespace {

// The header of a format version 3 manifest of an unpartitioned table (id long).
ManifestContext V3Context(ManifestContent content) {
  ManifestContext context;
  context.schema_json =
      R"({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":false,"type":"long"}]})";
  context.spec_fields_json = "[]";
  context.format_version = 3;
  context.content = content;
  return context;
}

}  // namespace

TEST(Manifest, FirstRowIdsAreInheritedAndAssignedAsTheSpecSays) {
  ManifestContext context = V3Context(ManifestContent::kData);
  std::vector<EntryToWrite> entries(4);
  const char* names[] = {"a", "b", "c", "d"};
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].file.file_path = std::string("file:///t/data/") + names[i] + ".parquet";
    entries[i].file.record_count = 10 * static_cast<int64_t>(i + 1);
    entries[i].file.file_size_in_bytes = 100;
  }
  entries[1].status = EntryStatus::kExisting;  // carried with its id
  entries[1].snapshot_id = 1;
  entries[1].sequence_number = 1;
  entries[1].file_sequence_number = 1;
  entries[1].file.first_row_id = 500;
  entries[2].status = EntryStatus::kDeleted;  // takes none
  entries[2].snapshot_id = 2;
  entries[2].sequence_number = 1;
  entries[2].file_sequence_number = 1;
  auto bytes = WriteManifest(context, entries);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ManifestFile mf;
  mf.added_snapshot_id = 2;
  mf.sequence_number = 2;
  mf.first_row_id = 1000;
  auto read = ReadManifest(*bytes, "m.avro", mf);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 4u);
  EXPECT_EQ((*read)[0].file.first_row_id, 1000);
  EXPECT_EQ((*read)[1].file.first_row_id, 500);
  EXPECT_EQ((*read)[2].file.first_row_id, std::nullopt);
  EXPECT_EQ((*read)[3].file.first_row_id, 1010);  // after a's 10 rows
  // A manifest the list gives no first row id (written before an upgrade): none at all.
  mf.first_row_id.reset();
  read = ReadManifest(*bytes, "m.avro", mf);
  ASSERT_TRUE(read.ok());
  for (const auto& e : *read) EXPECT_EQ(e.file.first_row_id, std::nullopt);

  // The list: data manifests without an id get one past the rows of the one before;
  // delete manifests and manifests with one keep theirs.
  std::vector<ManifestFile> list(4);
  list[0].added_rows = 5;
  list[0].existing_rows = 2;
  list[1].first_row_id = 3;
  list[2].content = ManifestContent::kDeletes;
  list[3].added_rows = 1;
  EXPECT_EQ(AssignFirstRowIds(&list, 100), 108);
  EXPECT_EQ(list[0].first_row_id, 100);
  EXPECT_EQ(list[1].first_row_id, 3);
  EXPECT_EQ(list[2].first_row_id, std::nullopt);
  EXPECT_EQ(list[3].first_row_id, 107);
  auto list_bytes = WriteManifestList(list, 9, 8, 2, 3, 100);
  ASSERT_TRUE(list_bytes.ok()) << list_bytes.status().ToString();
  auto listed = ReadManifestList(*list_bytes, "l.avro");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ((*listed)[0].first_row_id, 100);
  EXPECT_EQ((*listed)[2].first_row_id, std::nullopt);
  EXPECT_EQ((*listed)[3].first_row_id, 107);
}

TEST(Manifest, DeletionVectorsKeepTheirBlobPlace) {
  ManifestContext context = V3Context(ManifestContent::kDeletes);
  std::vector<EntryToWrite> entries(1);
  auto& f = entries[0].file;
  f.content = FileContent::kPositionDeletes;
  f.file_path = "file:///t/data/x-dv.puffin";
  f.file_format = "PUFFIN";
  f.record_count = 3;
  f.file_size_in_bytes = 200;
  f.referenced_data_file = "file:///t/data/a.parquet";
  f.content_offset = 4;
  f.content_size_in_bytes = 42;
  auto bytes = WriteManifest(context, entries);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ManifestFile mf;
  mf.content = ManifestContent::kDeletes;
  auto read = ReadManifest(*bytes, "m.avro", mf);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const auto& dv = (*read)[0].file;
  EXPECT_EQ(dv.file_format, "PUFFIN");
  EXPECT_EQ(dv.referenced_data_file, "file:///t/data/a.parquet");
  EXPECT_EQ(dv.content_offset, 4);
  EXPECT_EQ(dv.content_size_in_bytes, 42);
  EXPECT_EQ(dv.first_row_id, std::nullopt);
}

}  // namespace inlet::iceberg
