#include "inlet/stream/pg_target.h"

#include <algorithm>
#include <iostream>

#include "inlet/common/json.h"
#include "inlet/load/commit.h"
#include "inlet/load/maintenance.h"
#include "inlet/load/rows.h"
#include "inlet/source/pg_text.h"
#include "inlet/status.h"
#include "inlet/stream/pg_cdc.h"
#include "inlet/stream/streamer.h"
#include "inlet/table/tombstones.h"

namespace inlet::stream {

namespace {

using pgoutput::Lsn;
using pgtext::QuoteIdent;

void ReplaceAll(std::string* s, const std::string& what, const std::string& with) {
  for (size_t at = s->find(what); at != std::string::npos;
       at = s->find(what, at + with.size()))
    s->replace(at, what.size(), with);
}

std::string ToHex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> FromHex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

PgTarget::PgTarget(const pipeline::PipelineConfig& config, PgCatalog* catalog,
                   PgTableInfo info, StreamReport* report)
    : config_(config),
      source_(std::get<PostgresCdcSourceConfig>(config.source)),
      catalog_(catalog),
      info_(std::move(info)),
      report_(report),
      destination_(config.destination) {
  ReplaceAll(&destination_.path, "{table}", info_.relname);
  ReplaceAll(&destination_.path, "{schema}", info_.schema);
  destination_.keys = info_.keys;
  load::StrategyConfig strategy = config.strategy;
  // Rows of a snapshot carry _pg_lsn 0 (and, copied by a resumed snapshot, its LSN as
  // _pg_commit_lsn; 0 in the first): a history discards the changes of their keys
  // ordered before them, which they show.
  const std::vector<std::string> lsn_order = {kPgCommitLsnColumn, kPgLsnColumn};
  if (strategy.sequence_by == lsn_order) strategy.history_snapshot_marker = kPgLsnColumn;
  strategy_ = load::Strategy::Make(strategy, info_.keys);
}

arrow::Status PgTarget::Open() {
  ARROW_ASSIGN_OR_RAISE(table_, pipeline::OpenDestination(destination_));
  return arrow::Status::OK();
}

arrow::Result<std::optional<Lsn>> PgTarget::Held() {
  ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
  std::optional<int64_t> v =
      snap ? snap->AppVersion(PgLsnApp(source_.slot)) : std::nullopt;
  auto mark = snap ? snap->AppVersion(PgSnapshotApp(source_.slot)) : std::nullopt;
  mark_ = mark ? std::optional<Lsn>(static_cast<Lsn>(*mark)) : std::nullopt;
  copied_to_.reset();
  empty_ = !snap || snap->RowCount().value_or(1) == 0;
  if (snap && mark) {
    ARROW_ASSIGN_OR_RAISE(auto doc, snap->AppDocument(PgSnapshotResumeApp(source_.slot)));
    if (doc) ReadCopiedTo(*doc, *mark);
  }
  if (!v) return std::nullopt;
  // A new snapshot begun after the position (and cut short) replaced what it was.
  if (mark && *mark > *v) return std::nullopt;
  streamed_ = !mark || *v > *mark;
  committed_ = static_cast<Lsn>(*v);
  partial_.lsn =
      static_cast<Lsn>(snap->AppVersion(PgPartialLsnApp(source_.slot)).value_or(0));
  partial_.changes = snap->AppVersion(PgPartialChangesApp(source_.slot)).value_or(0);
  return committed_;
}

// The resume document Copy writes: {"mark", "relation", "keys", "types", "after" (the
// key's values as text, hex-encoded)}. One of another snapshot, table or key leaves
// copied_to_ unset.
void PgTarget::ReadCopiedTo(const std::string& doc, int64_t mark) {
  Json d = Json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (!d.is_object()) return;
  auto member = [&d](const char* name) {
    auto it = d.find(name);
    return it == d.end() ? Json() : *it;
  };
  Json m = member("mark"), relation = member("relation"), keys = member("keys"),
       types = member("types"), after = member("after");
  if (!m.is_number_integer() || m.get<int64_t>() != mark ||
      !relation.is_number_integer() ||
      relation.get<int64_t>() != static_cast<int64_t>(info_.relation_id) ||
      keys != Json(info_.ordered_keys) || !types.is_array() ||
      types.size() != info_.ordered_keys.size() || !after.is_array() ||
      after.size() != info_.ordered_keys.size())
    return;
  CopiedTo to;
  for (size_t k = 0; k < after.size(); ++k) {
    if (!after[k].is_string() || !types[k].is_string()) return;
    auto bytes = FromHex(after[k].get<std::string>());
    if (!bytes) return;
    to.values.push_back(std::move(*bytes));
    to.types.push_back(types[k].get<std::string>());
  }
  copied_to_ = std::move(to);
}

arrow::Status PgTarget::CheckOwned() const {
  ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
  if (!snap || snap->RowCount().value_or(1) == 0) return arrow::Status::OK();
  if (!snap->AppVersion(PgSnapshotApp(source_.slot)))
    return Failed("destination " + destination_.path +
                  " holds rows that did not come from this source: a postgres_cdc stream "
                  "loads a table of its own");
  return arrow::Status::OK();
}

arrow::Status PgTarget::Describe(pgrepl::Connection& repl) {
  ARROW_ASSIGN_OR_RAISE(
      auto attrs,
      repl.Query("SELECT attname, atttypid::text, atttypmod::text, "
                 "format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = " +
                 std::to_string(info_.relation_id) +
                 " AND attnum > 0 AND NOT attisdropped AND attgenerated = '' "
                 "ORDER BY attnum"));
  columns_.clear();
  select_.clear();
  key_fields_.assign(info_.ordered_keys.size(), 0);
  key_types_.assign(info_.ordered_keys.size(), "");
  for (const auto& a : attrs) {
    bool key = std::find(info_.keys.begin(), info_.keys.end(), *a[0]) != info_.keys.end();
    auto c = catalog_->ColumnOf(*a[0], static_cast<uint32_t>(std::stoul(*a[1])),
                                static_cast<int32_t>(std::stol(*a[2])), key);
    if (!c.ok()) return KeepKind(c.status(), Failed(c.status().message()));
    auto ordered = std::find(info_.ordered_keys.begin(), info_.ordered_keys.end(), *a[0]);
    if (ordered != info_.ordered_keys.end()) {
      size_t k = static_cast<size_t>(ordered - info_.ordered_keys.begin());
      key_fields_[k] = columns_.size();
      key_types_[k] = a[3].value_or("text");
    }
    select_ += (select_.empty() ? "" : ", ") + QuoteIdent(c->name);
    columns_.push_back(std::move(*c));
  }
  batch_.ColumnsChanged();
  return arrow::Status::OK();
}

bool PgTarget::CanResume() const {
  if (!copied_to_) return empty_;  // cut short before its first chunk
  return copied_to_->types == key_types_;
}

arrow::Status PgTarget::Prepare(Lsn consistent) {
  ARROW_RETURN_NOT_OK(CheckOwned());
  ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
  // A new table is created with the mark, so that a snapshot cut short before its first
  // chunk can go on all the same.
  if (!snap) return Commit(nullptr, std::nullopt, consistent);
  // What an earlier load left goes first, with the new snapshot's mark (which outranks
  // the old position, should this snapshot be cut short too): its rows, and the deletes
  // and truncate the merges remember, which would otherwise outrank the snapshot's rows.
  WriteOptions w;
  w.app_states[PgSnapshotApp(source_.slot)].version = static_cast<int64_t>(consistent);
  w.clear_app_documents = {table::kTombstoneApp, PgSnapshotResumeApp(source_.slot)};
  if (snap->RowCount().value_or(1) > 0) {
    RowChangeOptions clear;
    clear.every_row = true;
    clear.write = w;
    clear.write.operation = "DELETE";
    ARROW_ASSIGN_OR_RAISE(auto done, table_->Delete(clear));
    if (done.commit.version >= 0) return arrow::Status::OK();
    // Nothing was deleted (its rows were counted wrong): the mark and the clearing still
    // go in, below.
  }
  w.operation = "STREAMING UPDATE";
  auto none = *arrow::Table::MakeEmpty(snap->schema());
  return table_->Write(std::make_shared<arrow::TableBatchReader>(none), w).status();
}

arrow::Status PgTarget::Copy(pgrepl::Connection& repl, Lsn mark, bool rows,
                             const std::function<bool()>& stopped, bool resume,
                             Lsn seen_at) {
  if (!rows) return arrow::Status::OK();
  // In the order of the key's index, when the keys are its columns, so that a copy cut
  // short can go on after the last key it committed (an index scan: no sort on the
  // server).
  const bool ordered = !info_.ordered_keys.empty();
  std::string keys, after;
  for (size_t k = 0; k < info_.ordered_keys.size(); ++k) {
    keys += (k ? ", " : "") + QuoteIdent(info_.ordered_keys[k]);
    if (resume && copied_to_) {
      after += (k ? ", " : "") + pgtext::QuoteLiteral(copied_to_->values[k]) +
               "::" + key_types_[k];
    }
  }
  std::string where;
  if (!after.empty()) {
    where = " WHERE (" + keys + ") > (" + after + ")";
    std::cerr << "inlet stream: pipeline " << config_.name
              << ": resuming the initial snapshot of " << info_.name << " after key ("
              << after << ")" << std::endl;
  }
  if (ordered) ARROW_RETURN_NOT_OK(repl.Query("SET LOCAL enable_sort = off").status());
  int64_t n = 0, bytes = 0;
  std::vector<std::optional<std::string>> fields;
  ChangeRows::Values values(columns_.size());
  auto st = repl.CopyOut(
      "COPY (SELECT " + select_ + " FROM " + info_.from + where +
          (ordered ? " ORDER BY " + keys : std::string()) + ") TO STDOUT",
      [&](std::string_view line) -> arrow::Status {
        ARROW_RETURN_NOT_OK(pgtext::SplitCopyRow(line, &fields));
        if (fields.size() != columns_.size())
          return arrow::Status::Invalid("a COPY row has ", fields.size(), " fields, not ",
                                        columns_.size());
        for (size_t i = 0; i < fields.size(); ++i) {
          values[i] = fields[i] ? std::optional<std::string_view>(*fields[i])
                                : std::optional<std::string_view>();
        }
        auto added = batch_.Add(columns_, values, kSnapshotOp, seen_at, 0);
        if (!added.ok())
          return added.WithMessage("snapshot row ", n + 1, ": ", added.message());
        ++n;
        ++report_->messages;
        if (n % 4096 == 0 && stopped()) return arrow::Status::Cancelled("stopped");
        bytes += static_cast<int64_t>(line.size());
        if (bytes < config_.processing.flush_bytes) return arrow::Status::OK();
        bytes = 0;
        ARROW_ASSIGN_OR_RAISE(auto chunk, batch_.Finish());
        if (!ordered) return Commit(std::move(chunk), std::nullopt, mark);
        // How far the copy got: the chunk's last key.
        Json to = Json::array();
        for (size_t f : key_fields_) to.push_back(ToHex(fields[f].value_or("")));
        std::string copied = Json{
            {"mark", static_cast<int64_t>(mark)},
            {"relation", static_cast<int64_t>(info_.relation_id)},
            {"keys", info_.ordered_keys},
            {"types", key_types_},
            {"after", to}}.dump();
        return Commit(std::move(chunk), std::nullopt, mark, std::nullopt, &copied);
      });
  if (st.IsCancelled()) return st;
  if (!st.ok())
    return KeepKind(st, Failed("the initial snapshot failed: " + st.message()));
  std::cerr << "inlet stream: pipeline " << config_.name << ": initial snapshot of "
            << info_.name << ": " << n << " rows" << std::endl;
  return arrow::Status::OK();
}

arrow::Status PgTarget::Finish(Lsn consistent) {
  std::shared_ptr<arrow::Table> last;
  if (batch_.rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(last, batch_.Finish());
  }
  return Commit(std::move(last), consistent, consistent);
}

void PgTarget::Begin(Lsn final_lsn) {
  tx_start_rows_ = batch_.rows();
  tx_commit_lsn_ = final_lsn;
  skip_ = final_lsn < committed_;
  tx_changes_ = 0;
  tx_skip_ = partial_.lsn != 0 && partial_.lsn == final_lsn ? partial_.changes : 0;
}

arrow::Status PgTarget::OnRelation(const pgoutput::Relation& r) {
  std::vector<Column> columns;
  for (const auto& c : r.columns) {
    auto column = catalog_->ColumnOf(c.name, c.type_oid, c.type_modifier, c.key);
    if (!column.ok() && column.status().IsIOError()) return column.status();
    if (!column.ok()) return Failed(column.status().message());
    columns.push_back(std::move(*column));
  }
  columns_ = std::move(columns);
  batch_.ColumnsChanged();
  return arrow::Status::OK();
}

// A tuple's values by column: unchanged TOASTed values are not given.
arrow::Result<ChangeRows::Values> PgTarget::ValuesOf(const pgoutput::Tuple& t,
                                                     bool keys_only) const {
  if (t.size() != columns_.size())
    return arrow::Status::Invalid("a tuple of ", t.size(), " columns for a relation of ",
                                  columns_.size());
  ChangeRows::Values out(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    if (keys_only && !columns_[i].key) continue;  // a delete's other columns: not given
    switch (t[i].kind) {
      case pgoutput::Value::kNull:
        out[i] = std::optional<std::string_view>();
        break;
      case pgoutput::Value::kText:
        out[i] = std::optional<std::string_view>(t[i].data);
        break;
      case pgoutput::Value::kUnchanged:
        break;
      case pgoutput::Value::kBinary:
        return arrow::Status::Invalid("column '", columns_[i].name, "' came in binary");
    }
  }
  return out;
}

bool PgTarget::KeysDiffer(const ChangeRows::Values& a,
                          const ChangeRows::Values& b) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (std::find(info_.keys.begin(), info_.keys.end(), columns_[i].name) ==
        info_.keys.end())
      continue;
    if (a[i] && b[i] && *a[i] != *b[i]) return true;
  }
  return false;
}

arrow::Status PgTarget::OnChange(const pgoutput::Message& m, Lsn lsn) {
  if (skip_ || ++tx_changes_ <= tx_skip_) return arrow::Status::OK();
  if (columns_.empty()) return arrow::Status::Invalid("a change before its relation");
  ++report_->messages;
  Lsn at = tx_commit_lsn_;
  if (const auto* ins = std::get_if<pgoutput::Insert>(&m)) {
    ARROW_ASSIGN_OR_RAISE(auto v, ValuesOf(ins->row, false));
    return batch_.Add(columns_, v, kInsertOp, at, lsn);
  }
  if (const auto* up = std::get_if<pgoutput::Update>(&m)) {
    ARROW_ASSIGN_OR_RAISE(auto v, ValuesOf(up->row, false));
    if (!up->old_kind) return batch_.Add(columns_, v, kUpdateOp, at, lsn);
    // The old row: its key ('K': the replica identity changed, or one of its values is
    // stored out of line), or all of it (REPLICA IDENTITY FULL, TOASTed values inline).
    ARROW_ASSIGN_OR_RAISE(auto old, ValuesOf(up->old_row, up->old_kind == 'K'));
    // What the new row left unchanged (a TOASTed value, which may be a key's) is the old
    // row's, where that has it.
    for (size_t i = 0; i < v.size(); ++i)
      if (!v[i] && old[i]) v[i] = old[i];
    if (!KeysDiffer(old, v)) return batch_.Add(columns_, v, kUpdateOp, at, lsn);
    // The key moved: the old key's row goes, and the new one comes whole.
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i])
        return arrow::Status::Invalid(
            "an update moved a row to another key and left column '", columns_[i].name,
            "' (stored out of line) unchanged, so the change does not carry its value: "
            "set REPLICA IDENTITY FULL on the table, whose changes carry it");
    }
    ARROW_RETURN_NOT_OK(batch_.Add(columns_, old, kDeleteOp, at, lsn));
    return batch_.Add(columns_, v, kInsertOp, at, lsn);
  }
  const auto& del = std::get<pgoutput::Delete>(m);
  ARROW_ASSIGN_OR_RAISE(auto old, ValuesOf(del.old_row, true));
  return batch_.Add(columns_, old, kDeleteOp, at, lsn);
}

arrow::Status PgTarget::OnTruncate(Lsn lsn) {
  if (skip_ || ++tx_changes_ <= tx_skip_) return arrow::Status::OK();
  ++report_->messages;
  ChangeRows::Values none(columns_.size());
  return batch_.Add(columns_, none, kTruncateOp, tx_commit_lsn_, lsn);
}

arrow::Status PgTarget::CommitBatch(Lsn position, bool cut, bool always) {
  std::shared_ptr<arrow::Table> rows;
  if (batch_.rows() > 0) {
    int64_t keep = cut ? tx_start_rows_ : batch_.rows();
    ARROW_ASSIGN_OR_RAISE(rows, batch_.Finish());
    if (keep < rows->num_rows()) rows = rows->Slice(0, keep);
    if (rows->num_rows() == 0) rows = nullptr;
  }
  tx_start_rows_ = 0;
  // A transaction applied in part is whole in the table once the position passes it.
  std::optional<Partial> partial;
  if (partial_.lsn != 0 && position > partial_.lsn) partial = Partial{};
  if (!rows && !partial && (!always || position <= committed_))
    return arrow::Status::OK();
  ARROW_RETURN_NOT_OK(Commit(std::move(rows), position, std::nullopt, partial));
  if (partial) partial_ = Partial{};
  return arrow::Status::OK();
}

arrow::Status PgTarget::CommitPart(Lsn position, Lsn final_lsn) {
  if (batch_.rows() == 0) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto rows, batch_.Finish());
  tx_start_rows_ = 0;
  Partial partial{final_lsn, tx_changes_};
  std::optional<Lsn> whole;
  if (position > committed_) whole = position;
  ARROW_RETURN_NOT_OK(Commit(std::move(rows), whole, std::nullopt, partial));
  partial_ = partial;
  return arrow::Status::OK();
}

void PgTarget::Forget() {
  if (batch_.rows() > 0) (void)batch_.Finish();
  columns_.clear();
  batch_.ColumnsChanged();
  tx_start_rows_ = 0;
  skip_ = false;
}

load::CommitSpec PgTarget::Spec(std::optional<Lsn> position, std::optional<Lsn> snapshot,
                                const std::optional<Partial>& partial,
                                int64_t read_version,
                                const std::string* copied_to) const {
  auto spec = StreamCommitSpec(
      destination_, read_version,
      {{"pipeline", config_.name}, {"source", info_.name}, {"outputMode", "Update"}});
  if (position)
    spec.app_states[PgLsnApp(source_.slot)].version = static_cast<int64_t>(*position);
  if (snapshot)
    spec.app_states[PgSnapshotApp(source_.slot)].version =
        static_cast<int64_t>(*snapshot);
  if (copied_to) spec.app_states[PgSnapshotResumeApp(source_.slot)].document = *copied_to;
  if (partial) {
    spec.app_states[PgPartialLsnApp(source_.slot)].version =
        static_cast<int64_t>(partial->lsn);
    spec.app_states[PgPartialChangesApp(source_.slot)].version = partial->changes;
  }
  return spec;
}

// An empty table of the columns as the strategy writes them, for a commit that creates
// the table without rows.
std::shared_ptr<arrow::Table> PgTarget::EmptyRows() const {
  arrow::FieldVector fields;
  for (const auto& c : columns_) fields.push_back(arrow::field(c.name, c.type.type));
  if (config_.strategy.keep_operation_column)
    fields.push_back(arrow::field(kOpColumn, arrow::utf8()));
  fields.push_back(arrow::field(kPgCommitLsnColumn, arrow::int64()));
  fields.push_back(arrow::field(kPgLsnColumn, arrow::int64()));
  return *arrow::Table::MakeEmpty(arrow::schema(fields));
}

// Commits rows (null: none) with the position and the snapshot mark when given, after
// checking that the table's position is still this stream's.
arrow::Status PgTarget::Commit(std::shared_ptr<arrow::Table> rows,
                               std::optional<Lsn> position,
                               std::optional<Lsn> snapshot_lsn,
                               std::optional<Partial> partial,
                               const std::string* copied_to) {
  auto derived = pipeline::Derived(destination_);
  load::TableChange change;
  if (rows) {
    if (!derived.empty()) {
      ARROW_ASSIGN_OR_RAISE(rows, load::AddDerivedColumns(rows, derived));
    }
    ARROW_ASSIGN_OR_RAISE(rows, strategy_->Prepare(rows, {}, kOpColumn));
    change = strategy_->Change(load::RunContext{}, nullptr);
    auto flags = GivenFlags(*rows->schema());
    for (const auto& d : derived)
      if (auto f = flags.find(d.source); f != flags.end()) flags[d.name] = f->second;
    change.merge_options.given_flags = flags;
  }
  auto attempt = [&]() -> arrow::Result<MergeResult> {
    ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
    std::optional<int64_t> recorded =
        snap ? snap->AppVersion(PgLsnApp(source_.slot)) : std::nullopt;
    if (!snapshot_lsn &&
        recorded != std::optional<int64_t>(static_cast<int64_t>(committed_)))
      return arrow::Status::Invalid("the table's position moved to ",
                                    recorded
                                        ? pgoutput::FormatLsn(static_cast<Lsn>(*recorded))
                                        : std::string("none"),
                                    " under this stream (another stream of this slot?)");
    auto spec =
        Spec(position, snapshot_lsn, partial, snap ? snap->version() : -1, copied_to);
    if (rows) return load::CommitLoad(*table_, rows, change, spec);
    // A position alone: a write of no rows.
    auto none = snap ? *arrow::Table::MakeEmpty(snap->schema()) : EmptyRows();
    return load::CommitLoad(*table_, none, load::TableChange{}, spec);
  };
  auto committed = RetryOnConflict(config_.processing.max_retries + 20, attempt);
  if (!committed.ok())
    return committed.status().WithMessage("pipeline ", config_.name,
                                          ": cannot commit to ", destination_.path, ": ",
                                          committed.status().message());
  if (change.merge) CountMerge(*committed, report_);
  report_->table_version = committed->commit.version;
  ++report_->commits;
  ++commits_;
  if (position) committed_ = *position;
  // destination.maintenance, counting this table's commits as runs.
  MaintainAfterCommit(config_.name, destination_, *table_, commits_, report_);
  return arrow::Status::OK();
}

}  // namespace inlet::stream
