// What only Delta tables do: their protocol, checkpoints and commit rules. (The public
// Table API's round trips, for every format, are in table/table_test.cc.)
#include "inlet/delta/delta_table.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include <filesystem>
#include <set>

#include "inlet/delta/app_documents.h"
#include "inlet/delta/commit.h"
#include "inlet/delta/log_segment.h"
#include "inlet/status.h"
#include "inlet/table.h"
#include "inlet/testing/tables.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

using testing::CountRows;

class DeltaTableTest : public ::testing::Test {
 protected:
  void SetUp() override { table_ = Table::OpenOrCreate(dir_.Sub("t")).ValueOrDie(); }
  arrow::Result<CommitResult> Write(const std::string& json, WriteOptions opts = {}) {
    return table_->Write(testing::JsonRows(testing::IdPartValueRow(), json), opts);
  }
  testing::TempDir dir_;
  std::shared_ptr<Table> table_;
};

}  // namespace

TEST_F(DeltaTableTest, CheckpointsAndRecoversFromACorruptOne) {
  WriteOptions create;
  create.properties["delta.checkpointInterval"] = "2";
  create.app_states["app"].version = 1;
  INLET_ASSERT_OK(Write(R"([{"id":1}])", create).status());
  INLET_ASSERT_OK(Write(R"([{"id":2}])").status());
  INLET_ASSERT_OK(Write(R"([{"id":3}])").status());
  std::string ckpt = dir_.Sub("t/_delta_log/00000000000000000002.checkpoint.parquet");
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  ASSERT_TRUE(std::filesystem::exists(dir_.Sub("t/_delta_log/_last_checkpoint")));
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  EXPECT_EQ(CountRows(*s), 3);
  EXPECT_EQ(s->AppVersion("app"), 1);
  testing::WriteTextFile(ckpt, "not parquet");
  INLET_ASSIGN_OR_FAIL(auto s2, table_->GetSnapshot());
  EXPECT_EQ(CountRows(*s2), 3);
}

TEST_F(DeltaTableTest, ApplicationDocumentsNeedTheDomainMetadataFeature) {
  WriteOptions opts;
  opts.app_states["pipeline-1"].version = 7;
  opts.app_states["inlet.state"].document = R"({"watermark":"2024-01-01"})";
  INLET_ASSERT_OK(Write(R"([{"id":1}])", opts).status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  // Writing a domain needs the domainMetadata writer feature; legacy features stay
  // listed.
  const auto& protocol =
      std::static_pointer_cast<delta::DeltaSnapshot>(s)->state().protocol;
  EXPECT_EQ(protocol.min_writer_version, 7);
  EXPECT_EQ(protocol.min_reader_version, 1);
  EXPECT_TRUE(protocol.HasWriterFeature("domainMetadata"));
}

namespace {

const delta::TableState& StateOf(const std::shared_ptr<Snapshot>& s) {
  return std::static_pointer_cast<delta::DeltaSnapshot>(s)->state();
}

SnapshotSpec At(int64_t version) {
  SnapshotSpec spec;
  spec.version = version;
  return spec;
}

std::optional<std::string> DocumentOf(Table& table, const std::string& app) {
  auto s = table.GetSnapshot().ValueOrDie();
  return s->AppDocument(app).ValueOrDie();
}

}  // namespace

TEST_F(DeltaTableTest, DocumentsInFilesKeepTheProtocol) {
  WriteOptions opts;
  opts.properties["inlet.stateStorage"] = "files";
  opts.properties["delta.checkpointInterval"] = "3";
  opts.app_states["inlet.pipeline.a"] = AppState{1, R"({"run":1})"};
  opts.app_states["inlet.pipeline.b/c"].document = R"({"run":"b"})";
  INLET_ASSERT_OK(Write(R"([{"id":1}])", opts).status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  // No domain, no new feature: the table stays at the protocol its data needs.
  EXPECT_EQ(StateOf(s).protocol.min_writer_version, 2);
  EXPECT_FALSE(StateOf(s).protocol.writer_features.has_value());
  EXPECT_TRUE(StateOf(s).domains.empty());
  EXPECT_EQ(s->AppVersion("inlet.pipeline.a"), 1);
  EXPECT_EQ(DocumentOf(*table_, "inlet.pipeline.a"), R"({"run":1})");
  INLET_ASSIGN_OR_FAIL(auto all, s->AppDocuments("inlet.pipeline."));
  EXPECT_EQ(all, (std::map<std::string, std::string>{
                     {"inlet.pipeline.a", R"({"run":1})"},
                     {"inlet.pipeline.b/c", R"({"run":"b"})"}}));
  // Each document is an object of its own, named by its txn's version; a new one replaces
  // it, and a checkpoint keeps the pointer.
  auto paths = delta::DocumentPaths(StateOf(s));
  ASSERT_EQ(paths.size(), 2u);
  for (const auto& p : paths) EXPECT_TRUE(std::filesystem::exists(dir_.Sub("t/" + p)));
  EXPECT_NE(paths[1].find("inlet.pipeline.b%2Fc"), std::string::npos) << paths[1];
  for (int run = 2; run <= 4; ++run) {
    WriteOptions next;
    next.app_states["inlet.pipeline.a"] =
        AppState{run, R"({"run":)" + std::to_string(run) + "}"};
    INLET_ASSERT_OK(Write(R"([{"id":2}])", next).status());
  }
  ASSERT_TRUE(std::filesystem::exists(
      dir_.Sub("t/_delta_log/00000000000000000003.checkpoint.parquet")));
  EXPECT_EQ(DocumentOf(*table_, "inlet.pipeline.a"), R"({"run":4})");
  EXPECT_EQ(DocumentOf(*table_, "inlet.pipeline.b/c"), R"({"run":"b"})");
  // Time travel reads the document of its version.
  INLET_ASSIGN_OR_FAIL(auto v1, table_->GetSnapshot(At(1)));
  INLET_ASSIGN_OR_FAIL(auto at1, v1->AppDocument("inlet.pipeline.a"));
  EXPECT_EQ(at1, R"({"run":2})");
  // Cleared: gone, and its number stays.
  WriteOptions clear;
  clear.clear_app_documents = {"inlet.pipeline.a"};
  INLET_ASSERT_OK(Write("[]", clear).status());
  EXPECT_EQ(DocumentOf(*table_, "inlet.pipeline.a"), std::nullopt);
  INLET_ASSIGN_OR_FAIL(auto s2, table_->GetSnapshot());
  EXPECT_EQ(s2->AppVersion("inlet.pipeline.a"), 4);
  // A document whose object is gone is an error naming it, not a missing state.
  auto b = delta::DocumentPaths(StateOf(s2));
  ASSERT_EQ(b.size(), 1u);
  std::filesystem::remove(dir_.Sub("t/" + b[0]));
  auto missing = s2->AppDocument("inlet.pipeline.b/c");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(b[0]), std::string::npos)
      << missing.status().ToString();
}

TEST_F(DeltaTableTest, SwitchingWhereDocumentsAreKeptMovesThem) {
  WriteOptions opts;
  opts.app_states["inlet.app"].document = "in a domain";
  INLET_ASSERT_OK(Write(R"([{"id":1}])", opts).status());
  // To files: the next document goes to a file and the domain is removed.
  WriteOptions alter;
  alter.update_properties = true;
  alter.properties["inlet.stateStorage"] = "files";
  alter.app_states["inlet.app"].document = "in a file";
  INLET_ASSERT_OK(Write("[]", alter).status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  EXPECT_TRUE(StateOf(s).domains.empty());
  EXPECT_EQ(DocumentOf(*table_, "inlet.app"), "in a file");
  // And back: the domain is written and the file's pointer cleared.
  WriteOptions back;
  back.update_properties = true;
  back.properties["inlet.stateStorage"] = "domainMetadata";
  back.app_states["inlet.app"].document = "in a domain again";
  INLET_ASSERT_OK(Write("[]", back).status());
  INLET_ASSIGN_OR_FAIL(auto s2, table_->GetSnapshot());
  EXPECT_TRUE(delta::DocumentPaths(StateOf(s2)).empty());
  EXPECT_EQ(DocumentOf(*table_, "inlet.app"), "in a domain again");
  // A restore brings back the document of its version, where the restored metadata keeps
  // them.
  INLET_ASSIGN_OR_FAIL(auto restored, table_->Restore(At(1)));
  INLET_ASSIGN_OR_FAIL(auto s3, table_->GetSnapshot());
  EXPECT_EQ(s3->version(), restored.version);
  EXPECT_EQ(DocumentOf(*table_, "inlet.app"), "in a file");
  EXPECT_TRUE(StateOf(s3).domains.empty());
  INLET_ASSERT_OK(table_->Restore(At(0)).status());
  EXPECT_EQ(DocumentOf(*table_, "inlet.app"), "in a domain");
  // Another engine's domain comes back as it was, never moved to a file.
  WriteOptions foreign;
  foreign.app_states["engine.x"].document = "theirs";
  INLET_ASSERT_OK(Write("[]", foreign).status());
  INLET_ASSIGN_OR_FAIL(auto s4, table_->GetSnapshot());
  INLET_ASSERT_OK(table_->Restore(At(1)).status());  // files mode, without engine.x
  INLET_ASSIGN_OR_FAIL(auto s5, table_->GetSnapshot());
  EXPECT_EQ(StateOf(s5).domains.count("engine.x"), 0u);
  INLET_ASSERT_OK(table_->Restore(At(s4->version())).status());
  INLET_ASSIGN_OR_FAIL(auto s6, table_->GetSnapshot());
  ASSERT_EQ(StateOf(s6).domains.count("engine.x"), 1u);
  EXPECT_EQ(StateOf(s6).domains.at("engine.x").configuration, "theirs");
}

TEST_F(DeltaTableTest, UnsupportedFeaturesAndReferences) {
  INLET_ASSERT_OK(Write(R"([{"id":1,"p":"a","v":1}])").status());
  // A reader feature inlet does not know.
  testing::WriteTextFile(
      dir_.Sub("t/_delta_log/00000000000000000001.json"),
      R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["fancy"],)"
      R"("writerFeatures":["fancy"]}})"
      "\n");
  auto unsupported = table_->GetSnapshot().status();
  EXPECT_EQ(KindOf(unsupported), ErrorKind::kUnsupportedFeature)
      << unsupported.ToString();
  EXPECT_NE(unsupported.message().find("fancy"), std::string::npos);
  // Delta tables have no named references.
  EXPECT_TRUE(
      table_->GetSnapshot(SnapshotSpec{0, std::nullopt, "main"}).status().IsInvalid());
}

TEST_F(DeltaTableTest, SnapshotsNameTheirFormatAndIdentity) {
  INLET_ASSERT_OK(Write(R"([{"id":1,"p":"a","v":1}])").status());
  INLET_ASSERT_OK(Write(R"([{"id":2,"p":"a","v":1}])").status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  EXPECT_EQ(s->snapshot_id(), "1");
  TableInfo info = s->Info();
  EXPECT_EQ(info.format, "delta");
  EXPECT_EQ(info.snapshot_id, "1");
  EXPECT_EQ(info.type_names, (std::vector<std::string>{"long", "string", "double"}));
  EXPECT_EQ(
      info.format_details,
      R"({"min_reader_version":1,"min_writer_version":2,"reader_features":[],"writer_features":[]})");
}

TEST_F(DeltaTableTest, ConcurrentCommitsFollowTheProtocolRules) {
  INLET_ASSERT_OK(Write(R"([{"id":1,"p":"a"}])").status());
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir_.Sub("t")));
  // Two blind appends read version 0: the second lands at version 2.
  delta::PendingCommit a, b;
  a.actions.adds.push_back(delta::AddFile{"a.parquet", {}, 1, 1});
  b.actions.adds.push_back(delta::AddFile{"b.parquet", {}, 1, 1});
  int attempts = 0;
  INLET_ASSIGN_OR_FAIL(int64_t va, delta::CommitWithRetries(*store, 0, a, 5, &attempts));
  INLET_ASSIGN_OR_FAIL(int64_t vb, delta::CommitWithRetries(*store, 0, b, 5, &attempts));
  EXPECT_EQ(va, 1);
  EXPECT_EQ(vb, 2);
  EXPECT_EQ(attempts, 2);
  // A transaction that replaced rows conflicts with a concurrent append to them.
  delta::PendingCommit overwrite;
  overwrite.reads_partition = [](const PartitionValues&) { return true; };
  auto st = delta::CommitWithRetries(*store, 0, overwrite, 5, &attempts).status();
  EXPECT_NE(st.message().find("conflict"), std::string::npos) << st.ToString();
  EXPECT_TRUE(IsCommitConflict(st));
  // Two commits of the same application conflict.
  delta::PendingCommit t1, t2;
  t1.actions.txns.push_back(delta::Txn{"app", 1, std::nullopt});
  t2.actions.txns.push_back(delta::Txn{"app", 1, std::nullopt});
  INLET_ASSERT_OK(delta::CommitWithRetries(*store, 2, t1, 5, &attempts).status());
  EXPECT_FALSE(delta::CommitWithRetries(*store, 2, t2, 5, &attempts).ok());
}

TEST_F(DeltaTableTest, ACompactionDropsWhatAConcurrentCommitRemoved) {
  INLET_ASSERT_OK(Write(R"([{"id":1}])").status());
  INLET_ASSERT_OK(Write(R"([{"id":2}])").status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  const auto& files = std::static_pointer_cast<delta::DeltaSnapshot>(s)->state().files;
  ASSERT_EQ(files.size(), 2u);
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir_.Sub("t")));
  auto remove = [](const delta::AddFile& f) {
    delta::RemoveFile r;
    r.path = f.path;
    r.deletion_timestamp = 1;
    return r;
  };
  // A delete of the first file wins version 2.
  delta::PendingCommit winner;
  winner.actions.removes.push_back(remove(files[0]));
  int attempts = 0;
  INLET_ASSERT_OK(delta::CommitWithRetries(*store, 1, winner, 5, &attempts).status());
  // A compaction of both files, based on version 1, without a way to drop a part:
  // conflict.
  delta::PendingCommit plain;
  plain.actions.removes.push_back(remove(files[0]));
  plain.actions.removes.push_back(remove(files[1]));
  EXPECT_TRUE(IsCommitConflict(
      delta::CommitWithRetries(*store, 1, plain, 5, &attempts).status()));
  // With one, it keeps only the part the delete did not touch.
  delta::PendingCommit compaction;
  compaction.actions.removes.push_back(remove(files[0]));
  compaction.actions.removes.push_back(remove(files[1]));
  std::set<std::string> seen;
  compaction.drop_removed = [&](const std::set<std::string>& removed) {
    seen = removed;
    compaction.actions.removes.erase(compaction.actions.removes.begin());
    return true;
  };
  INLET_ASSIGN_OR_FAIL(int64_t v,
                       delta::CommitWithRetries(*store, 1, compaction, 5, &attempts));
  EXPECT_EQ(v, 3);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(*seen.begin(), delta::FileKey(files[0].path, std::nullopt));
  INLET_ASSIGN_OR_FAIL(auto after, table_->GetSnapshot());
  EXPECT_EQ(std::static_pointer_cast<delta::DeltaSnapshot>(after)->state().files.size(),
            0u);
}

}  // namespace inlet
