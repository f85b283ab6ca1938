// Merge against a reference model: a std::map from key to row, updated by the obvious
// rules.
#include "inlet/testing/merge.h"

#include <arrow/api.h>

#include <algorithm>
#include <map>
#include <random>

#include "inlet/table.h"
#include "inlet/testing/formats.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

struct Row {
  std::optional<int64_t> value;
  int64_t version;
};

using Model = std::map<int64_t, Row>;

std::shared_ptr<arrow::Schema> Schema(bool with_flag) {
  arrow::FieldVector f = {
      arrow::field("id", arrow::int64()), arrow::field("p", arrow::int64()),
      arrow::field("value", arrow::int64()), arrow::field("version", arrow::int64())};
  if (with_flag) f.push_back(arrow::field("deleted", arrow::boolean()));
  return arrow::schema(f);
}

struct SourceRow {
  int64_t id;
  std::optional<int64_t> value;
  int64_t version;
  bool deleted;
};

std::shared_ptr<arrow::Table> MakeSource(const std::vector<SourceRow>& rows,
                                         bool with_flag) {
  arrow::Int64Builder id, p, value, version;
  arrow::BooleanBuilder del;
  for (const auto& r : rows) {
    (void)id.Append(r.id);
    (void)p.Append(r.id % 3);
    if (r.value)
      (void)value.Append(*r.value);
    else
      (void)value.AppendNull();
    (void)version.Append(r.version);
    (void)del.Append(r.deleted);
  }
  arrow::ArrayVector cols = {id.Finish().ValueOrDie(), p.Finish().ValueOrDie(),
                             value.Finish().ValueOrDie(), version.Finish().ValueOrDie()};
  if (with_flag) cols.push_back(del.Finish().ValueOrDie());
  return arrow::Table::Make(Schema(with_flag), cols);
}

Model ReadTable(const Table& table) {
  auto snap = table.GetSnapshot().ValueOrDie();
  auto rows =
      arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get()).ValueOrDie();
  rows = rows->CombineChunks().ValueOrDie();
  Model out;
  auto id =
      std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("id")->chunk(0));
  auto value = std::static_pointer_cast<arrow::Int64Array>(
      rows->GetColumnByName("value")->chunk(0));
  auto version = std::static_pointer_cast<arrow::Int64Array>(
      rows->GetColumnByName("version")->chunk(0));
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    EXPECT_EQ(out.count(id->Value(i)), 0u) << "key " << id->Value(i) << " appears twice";
    out[id->Value(i)] =
        Row{value->IsNull(i) ? std::nullopt : std::optional<int64_t>(value->Value(i)),
            version->Value(i)};
  }
  return out;
}

// The table holds exactly the model's rows.
void ExpectModel(const Model& model, const Table& table, int round) {
  Model actual = ReadTable(table);
  ASSERT_EQ(actual.size(), model.size()) << "round " << round;
  for (const auto& [id, row] : model) {
    ASSERT_TRUE(actual.count(id)) << "round " << round << " key " << id;
    EXPECT_EQ(actual[id].value, row.value) << "round " << round << " key " << id;
    EXPECT_EQ(actual[id].version, row.version) << "round " << round << " key " << id;
  }
}

// The model's merge: per key, the source row with the greatest version wins (ties:
// later).
void ApplyModel(Model* m, const std::vector<SourceRow>& rows, MergeMode mode,
                bool ignore_nulls) {
  std::map<int64_t, SourceRow> winners;
  for (const auto& r : rows) {
    auto it = winners.find(r.id);
    if (it == winners.end() || r.version >= it->second.version) winners[r.id] = r;
  }
  for (const auto& [id, r] : winners) {
    auto it = m->find(id);
    if (r.deleted) {
      if (mode == MergeMode::kUpsert) m->erase(id);
      continue;
    }
    if (it == m->end()) {
      (*m)[id] = Row{r.value, r.version};
    } else if (mode == MergeMode::kUpsert) {
      it->second.version = r.version;
      if (!(ignore_nulls && !r.value)) it->second.value = r.value;
    } else if (mode == MergeMode::kDeleteInsert) {
      it->second =
          Row{r.value, r.version};  // the key's rows are replaced by the source's
    }
  }
}

// Each merge runs dry first (testing::MergeAfterDryRun): the dry run must count what the
// merge does and change nothing.
void RunRandomMerges(const testing::FormatUnderTest& format, bool partitioned,
                     MergeMode mode, bool ignore_nulls, uint32_t seed, bool dvs = false) {
  testing::TempDir dir;
  auto table = format.create(dir.Sub("t")).ValueOrDie();
  std::mt19937 rng(seed);
  Model model;
  for (int round = 0; round < 6; ++round) {
    std::vector<SourceRow> rows;
    int n = 20 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      SourceRow r;
      r.id = static_cast<int64_t>(rng() % 60);  // keys recur across rounds and within one
      // (delete-insert inserts every source row of a key: one per key keeps the model a
      // map)
      if (mode == MergeMode::kDeleteInsert &&
          std::any_of(rows.begin(), rows.end(),
                      [&](const SourceRow& x) { return x.id == r.id; })) {
        continue;
      }
      r.value = rng() % 5 == 0 ? std::nullopt : std::optional<int64_t>(rng() % 1000);
      r.version = static_cast<int64_t>(rng() % 10);
      r.deleted = mode == MergeMode::kUpsert && rng() % 7 == 0;
      rows.push_back(r);
    }
    MergeOptions o;
    o.keys = {"id"};
    o.mode = mode;
    o.order_by = "version";
    o.delete_flag = mode == MergeMode::kUpsert ? "deleted" : "";
    o.ignore_null_updates = ignore_nulls;
    o.write.target_file_size = 1;  // one file per partition per write: many small files
    if (partitioned) o.write.partition_by = {"p"};
    if (dvs) o.write.properties = format.merge_on_read;
    auto result = testing::MergeAfterDryRun(
        *table, dir.Sub("t"), MakeSource(rows, mode == MergeMode::kUpsert), o);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ApplyModel(&model, rows, mode, ignore_nulls);
    ExpectModel(model, *table, round);
  }
}

// Change events for sequence-guarded merges: id < 0 marks a truncate.
struct Event {
  int64_t id;
  int64_t value;
  int64_t seq;
  bool deleted;
};

std::shared_ptr<arrow::Table> MakeEvents(const std::vector<Event>& events) {
  arrow::Int64Builder id, p, value, seq;
  arrow::BooleanBuilder del, trunc;
  for (const auto& e : events) {
    if (e.id < 0) {
      (void)id.AppendNull();
      (void)p.AppendNull();
    } else {
      (void)id.Append(e.id);
      (void)p.Append(e.id % 3);
    }
    (void)value.Append(e.value);
    (void)seq.Append(e.seq);
    (void)del.Append(e.deleted);
    (void)trunc.Append(e.id < 0);
  }
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("p", arrow::int64()),
       arrow::field("value", arrow::int64()), arrow::field("version", arrow::int64()),
       arrow::field("deleted", arrow::boolean()),
       arrow::field("truncated", arrow::boolean())});
  return arrow::Table::Make(schema,
                            {id.Finish().ValueOrDie(), p.Finish().ValueOrDie(),
                             value.Finish().ValueOrDie(), seq.Finish().ValueOrDie(),
                             del.Finish().ValueOrDie(), trunc.Finish().ValueOrDie()});
}

// Whatever order events arrive in, a key ends as its event with the greatest sequence
// says, a truncate counting as an event of every key: that is the whole model.
Model OrderFreeModel(const std::vector<Event>& seen) {
  std::map<int64_t, const Event*> last;
  int64_t truncate = -1;
  for (const auto& e : seen) {
    if (e.id < 0) {
      truncate = std::max(truncate, e.seq);
    } else if (!last.count(e.id) || e.seq > last[e.id]->seq) {
      last[e.id] = &e;
    }
  }
  Model m;
  for (const auto& [id, e] : last) {
    if (!e->deleted && e->seq > truncate) m[id] = Row{e->value, e->seq};
  }
  return m;
}

void RunOutOfOrderChanges(const testing::FormatUnderTest& format, bool partitioned,
                          int rounds, uint32_t seed) {
  testing::TempDir dir;
  auto table = format.create(dir.Sub("t")).ValueOrDie();
  std::mt19937 rng(seed);
  // Unique sequence numbers, arriving shuffled: every arrival order must give the same
  // table.
  std::vector<int64_t> seqs = testing::ShuffledSequences(rounds * 40, rng);
  std::vector<Event> seen;
  size_t next = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<Event> batch;
    for (int i = 0; i < 40; ++i) {
      Event e;
      e.seq = seqs[next++];
      e.id = rng() % 60 == 0 ? -1 : static_cast<int64_t>(rng() % 25);  // keys recur often
      e.value = static_cast<int64_t>(rng() % 1000);
      e.deleted = rng() % 4 == 0;
      batch.push_back(e);
    }
    MergeOptions o;
    o.keys = {"id"};
    o.sequence_by = {"version"};
    o.delete_flag = "deleted";
    o.truncate_flag = "truncated";
    o.write.target_file_size = 1;
    if (partitioned) o.write.partition_by = {"p"};
    auto result = testing::MergeAfterDryRun(*table, dir.Sub("t"), MakeEvents(batch), o);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    seen.insert(seen.end(), batch.begin(), batch.end());
    Model model = OrderFreeModel(seen);
    ExpectModel(model, *table, round);
  }
}

class Merge : public ::testing::TestWithParam<testing::FormatUnderTest> {};

}  // namespace

TEST_P(Merge, SequencedChangesIgnoreArrivalOrder) {
  RunOutOfOrderChanges(GetParam(), false, 12, 5);
}
TEST_P(Merge, SequencedChangesPartitioned) {
  RunOutOfOrderChanges(GetParam(), true, 12, 6);
}
// More rounds than tombstone files are kept: compaction must not forget a delete.
TEST_P(Merge, SequencedChangesSurviveTombstoneCompaction) {
  RunOutOfOrderChanges(GetParam(), false, 30, 7);
}

TEST_P(Merge, LateUpdateAfterDeleteStaysDeleted) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  MergeOptions o;
  o.keys = {"id"};
  o.sequence_by = {"version"};
  o.delete_flag = "deleted";
  o.truncate_flag = "truncated";
  INLET_ASSERT_OK(
      table->Merge(MakeEvents({{1, 10, 1, false}, {2, 20, 2, false}}), o).status());
  INLET_ASSERT_OK(table->Merge(MakeEvents({{1, 0, 5, true}}), o).status());
  // Many commits later, an update of key 1 older than its delete arrives.
  for (int i = 0; i < 12; ++i)
    INLET_ASSERT_OK(table->Merge(MakeEvents({{2, i, 10 + i, false}}), o).status());
  INLET_ASSIGN_OR_FAIL(
      auto r, table->Merge(MakeEvents({{1, 99, 4, false}, {3, 30, 3, false}}), o));
  EXPECT_EQ(r.late_discarded, 1);
  EXPECT_EQ(r.rows_inserted, 1);
  Model m = ReadTable(*table);
  EXPECT_EQ(m.count(1), 0u);
  EXPECT_EQ(m.size(), 2u);
  // A change at the same sequence as the row's is a replay: discarded.
  INLET_ASSIGN_OR_FAIL(r, table->Merge(MakeEvents({{3, 31, 3, false}}), o));
  EXPECT_EQ(r.late_discarded, 1);
  EXPECT_EQ(ReadTable(*table)[3].value, 30);
  // A source with a null sequence is refused.
  auto events = MakeEvents({{4, 1, 1, false}});
  auto schema = events->schema();
  arrow::Int64Builder nulls;
  INLET_ASSERT_OK(nulls.AppendNull());
  events =
      events
          ->SetColumn(3, schema->field(3),
                      std::make_shared<arrow::ChunkedArray>(nulls.Finish().ValueOrDie()))
          .ValueOrDie();
  auto st = table->Merge(events, o).status();
  EXPECT_NE(st.message().find("sequence column 'version' has 1 null"), std::string::npos)
      << st.ToString();
}

TEST_P(Merge, UpsertMatchesTheModel) {
  RunRandomMerges(GetParam(), false, MergeMode::kUpsert, false, 1);
}
TEST_P(Merge, UpsertPartitionedMatchesTheModel) {
  RunRandomMerges(GetParam(), true, MergeMode::kUpsert, false, 2);
}
TEST_P(Merge, IgnoreNullUpdates) {
  RunRandomMerges(GetParam(), true, MergeMode::kUpsert, true, 3);
}
TEST_P(Merge, InsertOnly) {
  RunRandomMerges(GetParam(), false, MergeMode::kInsertOnly, false, 4);
}
TEST_P(Merge, DeleteInsert) {
  RunRandomMerges(GetParam(), true, MergeMode::kDeleteInsert, false, 5);
}
TEST_P(Merge, UpsertWithDeletionVectors) {
  RunRandomMerges(GetParam(), true, MergeMode::kUpsert, false, 6, true);
}

TEST_P(Merge, RewritesOnlyFilesWithMatchingKeys) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  // Ten files, each holding a disjoint key range.
  for (int f = 0; f < 10; ++f) {
    std::vector<SourceRow> rows;
    for (int i = 0; i < 100; ++i) rows.push_back({f * 100 + i, i, 0, false});
    auto src = MakeSource(rows, false);
    INLET_ASSERT_OK(
        table->Write(std::make_shared<arrow::TableBatchReader>(src), {}).status());
  }
  MergeOptions o;
  o.keys = {"id"};
  INLET_ASSIGN_OR_FAIL(
      auto r,
      table->Merge(MakeSource({{250, 7, 1, false}, {5000, 1, 1, false}}, false), o));
  EXPECT_EQ(r.files_scanned, 1);  // statistics rule out the nine others
  EXPECT_EQ(r.files_rewritten, 1);
  EXPECT_EQ(r.rows_updated, 1);
  EXPECT_EQ(r.rows_inserted, 1);
  EXPECT_EQ(r.commit.files_removed, 1);
  Model m = ReadTable(*table);
  EXPECT_EQ(m.size(), 1001u);
  EXPECT_EQ(m[250].value, 7);
}

// A source that lacks some of the table's columns updates only the columns it has: a
// matched row keeps the others, a new key gets nulls in them. Copy-on-write,
// merge-on-read and sequence-guarded (change data) upserts alike.
TEST_P(Merge, ColumnsTheSourceLacksKeepTheirValues) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant == 0   ? "copy-on-write"
                 : variant == 1 ? "merge-on-read"
                                : "sequenced");
    testing::TempDir dir;
    auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
    WriteOptions create;
    if (variant == 1) create.properties = GetParam().merge_on_read;
    auto rows = MakeSource({{1, 10, 1, false}, {2, 20, 1, false}}, false);
    INLET_ASSERT_OK(
        table->Write(std::make_shared<arrow::TableBatchReader>(rows), create).status());
    // id, value and version only: no p. Key 1 is updated, key 5 is new.
    auto partial_schema = arrow::schema({arrow::field("id", arrow::int64()),
                                         arrow::field("value", arrow::int64()),
                                         arrow::field("version", arrow::int64())});
    arrow::Int64Builder id, value, version;
    INLET_ASSERT_OK(id.AppendValues({1, 5}));
    INLET_ASSERT_OK(value.AppendValues({99, 50}));
    INLET_ASSERT_OK(version.AppendValues({2, 2}));
    auto partial = arrow::Table::Make(
        partial_schema, {id.Finish().ValueOrDie(), value.Finish().ValueOrDie(),
                         version.Finish().ValueOrDie()});
    MergeOptions o;
    o.keys = {"id"};
    if (variant == 2) o.sequence_by = {"version"};
    INLET_ASSIGN_OR_FAIL(auto r,
                         testing::MergeAfterDryRun(*table, dir.Sub("t"), partial, o));
    EXPECT_EQ(r.rows_updated, 1);
    EXPECT_EQ(r.rows_inserted, 1);
    auto snap = table->GetSnapshot().ValueOrDie();
    auto out = arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get())
                   .ValueOrDie();
    out = out->CombineChunks().ValueOrDie();
    std::map<int64_t, std::pair<std::optional<int64_t>, int64_t>>
        by_id;  // id -> (p, value)
    auto ids =
        std::static_pointer_cast<arrow::Int64Array>(out->GetColumnByName("id")->chunk(0));
    auto ps =
        std::static_pointer_cast<arrow::Int64Array>(out->GetColumnByName("p")->chunk(0));
    auto values = std::static_pointer_cast<arrow::Int64Array>(
        out->GetColumnByName("value")->chunk(0));
    for (int64_t i = 0; i < out->num_rows(); ++i) {
      by_id[ids->Value(i)] = {
          ps->IsNull(i) ? std::nullopt : std::optional<int64_t>(ps->Value(i)),
          values->Value(i)};
    }
    ASSERT_EQ(by_id.size(), 3u);
    EXPECT_EQ(by_id[1].first, 1);    // kept: the source has no p
    EXPECT_EQ(by_id[1].second, 99);  // updated
    EXPECT_EQ(by_id[2].first, 2);    // untouched
    EXPECT_EQ(by_id[5].first,
              std::nullopt);  // a new key: null where the source has nothing
    EXPECT_EQ(by_id[5].second, 50);
  }
}

TEST_P(Merge, EvolvesTheSchemaOfRewrittenFiles) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  auto src = MakeSource({{1, 10, 1, false}, {2, 20, 1, false}}, false);
  INLET_ASSERT_OK(
      table->Write(std::make_shared<arrow::TableBatchReader>(src), {}).status());
  // The source brings a new column and updates key 1 (in the existing file).
  auto extra = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("note", arrow::utf8())});
  arrow::Int64Builder id;
  arrow::StringBuilder note;
  INLET_ASSERT_OK(id.Append(1));
  INLET_ASSERT_OK(note.Append("new"));
  auto wide =
      arrow::Table::Make(extra, {id.Finish().ValueOrDie(), note.Finish().ValueOrDie()});
  MergeOptions o;
  o.keys = {"id"};
  o.ignore_null_updates = true;  // the source has no value/version: keep the table's
  EXPECT_FALSE(
      table->Merge(wide, o).ok());  // without merge_schema the new column is refused
  o.write.merge_schema = true;
  INLET_ASSIGN_OR_FAIL(auto r, table->Merge(wide, o));
  EXPECT_EQ(r.rows_updated, 1);
  auto snap = table->GetSnapshot().ValueOrDie();
  auto rows =
      arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get()).ValueOrDie();
  EXPECT_EQ(rows->num_rows(), 2);
  EXPECT_EQ(rows->schema()->num_fields(), 5);
  Model m = ReadTable(*table);
  EXPECT_EQ(m[1].value, 10);  // kept: the source's value was null
}

TEST_P(Merge, RejectsNullKeys) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  arrow::Int64Builder b;
  INLET_ASSERT_OK(b.AppendNull());
  auto src = arrow::Table::Make(schema, {b.Finish().ValueOrDie()});
  MergeOptions o;
  o.keys = {"id"};
  auto st = table->Merge(src, o).status();
  EXPECT_NE(st.message().find("null"), std::string::npos) << st.ToString();
  o.keys = {"nope"};
  EXPECT_FALSE(table->Merge(src, o).ok());
}

// A snapshot extract streamed through MergeExtract (in batches of 7 rows, spilled to
// disk) changes a table as the same extract merged from memory changes a copy of it: the
// same counts, the same rows. Keys repeat across batches with identical rows
// (duplicates); one repeated with other values is refused, changing nothing.
TEST_P(Merge, StreamedSnapshotMatchesTheInMemoryOne) {
  testing::TempDir dir;
  auto streamed = GetParam().create(dir.Sub("streamed")).ValueOrDie();
  auto in_memory = GetParam().create(dir.Sub("memory")).ValueOrDie();
  std::mt19937 rng(23);
  std::vector<SourceRow> first;
  for (int64_t id = 0; id < 60; ++id) first.push_back({id, id * 10, 1, false});
  WriteOptions w;
  w.partition_by = {"p"};
  for (auto* t : {streamed.get(), in_memory.get()}) {
    INLET_ASSERT_OK(
        t->Write(std::make_shared<arrow::TableBatchReader>(MakeSource(first, false)), w)
            .status());
  }
  MergeOptions o;
  o.keys = {"id"};
  o.mode = MergeMode::kSnapshot;
  int64_t changes = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<SourceRow> rows;
    for (int64_t id = 0; id < 80; ++id) {
      if (rng() % 5 == 0) continue;  // left the extract
      std::optional<int64_t> value = id * 10;
      if (rng() % 4 == 0)
        value = rng() % 3 == 0 ? std::nullopt : std::optional(id + round);
      rows.push_back({id, value, 1, false});
    }
    auto extract = MakeSource(rows, false);
    INLET_ASSIGN_OR_FAIL(auto expected, in_memory->Merge(extract, o));
    // The same rows again at the end: identical repeats in later batches.
    auto repeated =
        arrow::ConcatenateTables({extract, extract->Slice(0, 9)}).ValueOrDie();
    auto reader = std::make_shared<arrow::TableBatchReader>(repeated);
    reader->set_chunksize(7);
    INLET_ASSIGN_OR_FAIL(auto got, streamed->MergeExtract(reader, o));
    EXPECT_EQ(got.source_duplicates, 9) << round;
    EXPECT_EQ(got.rows_inserted, expected.rows_inserted) << round;
    EXPECT_EQ(got.rows_updated, expected.rows_updated) << round;
    EXPECT_EQ(got.rows_deleted, expected.rows_deleted) << round;
    EXPECT_EQ(got.rows_compared, expected.rows_compared) << round;
    EXPECT_EQ(got.changed, expected.changed) << round;
    changes += expected.rows_inserted + expected.rows_updated + expected.rows_deleted;
    Model a = ReadTable(*streamed), b = ReadTable(*in_memory);
    ASSERT_EQ(a.size(), b.size()) << round;
    for (const auto& [id, row] : b) {
      EXPECT_EQ(a[id].value, row.value) << "round " << round << " key " << id;
    }
  }
  EXPECT_GT(changes, 40);  // the rounds changed rows of every kind
  // A key repeated with another value: refused, naming it; the table stays.
  std::vector<SourceRow> rows = {{1, 5, 1, false}, {2, 6, 1, false}, {1, 7, 1, false}};
  auto reader = std::make_shared<arrow::TableBatchReader>(MakeSource(rows, false));
  reader->set_chunksize(2);
  int64_t version = streamed->GetSnapshot().ValueOrDie()->version();
  auto st = streamed->MergeExtract(reader, o).status();
  EXPECT_NE(st.message().find(
                "holds key (id=1) twice, with different values; nothing was committed"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(streamed->GetSnapshot().ValueOrDie()->version(), version);
}

INLET_FOR_EACH_FORMAT(Merge);

}  // namespace inlet
