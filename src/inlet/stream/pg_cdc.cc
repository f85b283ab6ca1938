#include "inlet/stream/pg_cdc.h"

#include <arrow/builder.h>
#include <arrow/table.h>

#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "inlet/common/http.h"
#include "inlet/common/redact.h"
#include "inlet/common/time.h"
#include "inlet/common/uri.h"
#include "inlet/load/cdc.h"
#include "inlet/load/commit.h"
#include "inlet/load/maintenance.h"
#include "inlet/load/rows.h"
#include "inlet/load/strategy.h"
#include "inlet/source/pg_replication.h"
#include "inlet/source/pg_text.h"
#include "inlet/source/pgoutput.h"
#include "inlet/source/postgres_source.h"
#include "inlet/status.h"
#include "inlet/stream/pg_catalog.h"
#include "inlet/stream/streamer.h"
#include "inlet/table.h"

namespace inlet::stream {

namespace {

using pgoutput::Lsn;
using pgtext::ColumnType;
using pgtext::QuoteIdent;
using pgtext::QuoteLiteral;
using pipeline::PipelineConfig;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class PgCdc {
 public:
  PgCdc(const PipelineConfig& config, const StreamOptions& options)
      : config_(config),
        options_(options),
        cdc_(std::get<PostgresCdcSourceConfig>(config.source)),
        keys_(config.destination.keys),
        catalog_(config) {
    report_.pipeline = config.name;
    report_.table = config.destination.path;
    report_.topic = cdc_.pg.table;
  }

  arrow::Result<StreamReport> Run() {
    int64_t started = SteadyMs();
    ARROW_ASSIGN_OR_RAISE(table_, pipeline::OpenDestination(config_.destination));
    ARROW_RETURN_NOT_OK(catalog_.Open());
    ARROW_RETURN_NOT_OK(catalog_.CheckTable(&keys_));
    strategy_ = load::Strategy::Make(config_.strategy, keys_);
    ARROW_RETURN_NOT_OK(catalog_.EnsurePublication());
    ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
    std::optional<int64_t> held =
        snap ? snap->AppVersion(PgLsnApp(cdc_.slot)) : std::nullopt;
    ARROW_ASSIGN_OR_RAISE(repl_, catalog_.Connect(true));
    ARROW_ASSIGN_OR_RAISE(bool slot, catalog_.SlotExists());
    if (!held) {
      if (slot) ARROW_RETURN_NOT_OK(catalog_.DropSlot());
      ARROW_ASSIGN_OR_RAISE(held, Snapshot(snap.get()));
    } else if (!slot) {
      return catalog_.Failed(
          "replication slot '" + cdc_.slot + "' is gone, and the table holds " +
          "changes up to " + pgoutput::FormatLsn(static_cast<Lsn>(*held)) +
          " only: the changes since are lost to it. Load the table afresh (a " +
          "new destination, or delete this one's files)");
    }
    committed_ = static_cast<Lsn>(*held);
    report_.position = pgoutput::FormatLsn(committed_);
    report_.status = StreamStatus::kStopped;
    while (true) {
      lost_ = false;
      auto st = Stream(started);
      if (st.ok()) break;
      if (!lost_) return st;
      // The connection dropped (a server restart, a network cut): what is not committed
      // is read again from the table's position.
      std::cerr << "inlet stream: pipeline " << config_.name << ": " << st.message()
                << "; reconnecting" << std::endl;
      ARROW_RETURN_NOT_OK(Reconnect(st));
    }
    report_.duration_ms = SteadyMs() - started;
    return report_;
  }

 private:
  // The initial snapshot: a new slot, and the table as of its consistent point, copied in
  // the transaction that created it; committed in chunks, the last with the position.
  arrow::Result<int64_t> Snapshot(const Snapshot* table) {
    if (table) {
      bool ours = table->AppVersion(PgSnapshotApp(cdc_.slot)).has_value();
      if (!ours && table->RowCount().value_or(1) > 0)
        return catalog_.Failed(
            "destination " + config_.destination.path +
            " holds rows that did not come from this source: a postgres_cdc "
            "stream loads a table of its own");
    }
    ARROW_RETURN_NOT_OK(
        repl_->Query("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ").status());
    auto created = repl_->Query("CREATE_REPLICATION_SLOT " + QuoteIdent(cdc_.slot) +
                                " LOGICAL pgoutput (SNAPSHOT 'use')");
    if (!created.ok())
      return catalog_.Failed("cannot create replication slot '" + cdc_.slot +
                             "': " + created.status().message());
    ARROW_ASSIGN_OR_RAISE(Lsn consistent, pgoutput::ParseLsn(*created->at(0).at(1)));
    std::cerr << "inlet stream: pipeline " << config_.name
              << ": created replication slot " << cdc_.slot << " at "
              << pgoutput::FormatLsn(consistent) << std::endl;
    // A snapshot cut short left rows: they go first, with the new snapshot's mark.
    if (table && table->RowCount().value_or(1) > 0) {
      RowChangeOptions clear;
      clear.every_row = true;
      clear.write.app_states[PgSnapshotApp(cdc_.slot)].version =
          static_cast<int64_t>(consistent);
      clear.write.operation = "DELETE";
      ARROW_RETURN_NOT_OK(table_->Delete(clear).status());
    }
    // The columns as the snapshot sees them.
    ARROW_ASSIGN_OR_RAISE(
        auto attrs,
        repl_->Query("SELECT attname, atttypid::text, atttypmod::text FROM pg_attribute "
                     "WHERE attrelid = " +
                     std::to_string(catalog_.relation_id()) +
                     " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"));
    std::vector<Column> columns;
    std::string select;
    for (const auto& a : attrs) {
      bool key = std::find(keys_.begin(), keys_.end(), *a[0]) != keys_.end();
      ARROW_ASSIGN_OR_RAISE(
          auto c, catalog_.ColumnOf(*a[0], static_cast<uint32_t>(std::stoul(*a[1])),
                                    static_cast<int32_t>(std::stol(*a[2])), key));
      select += (select.empty() ? "" : ", ") + QuoteIdent(c.name);
      columns.push_back(std::move(c));
    }
    int64_t rows = 0, bytes = 0;
    if (cdc_.initial_snapshot) {
      std::vector<std::optional<std::string>> fields;
      ChangeRows::Values values(columns.size());
      auto st = repl_->CopyOut(
          "COPY (SELECT " + select + " FROM " + catalog_.qualified() + ") TO STDOUT",
          [&](std::string_view line) -> arrow::Status {
            ARROW_RETURN_NOT_OK(pgtext::SplitCopyRow(line, &fields));
            if (fields.size() != columns.size())
              return arrow::Status::Invalid("a COPY row has ", fields.size(),
                                            " fields, not ", columns.size());
            for (size_t i = 0; i < fields.size(); ++i) {
              values[i] = fields[i] ? std::optional<std::string_view>(*fields[i])
                                    : std::optional<std::string_view>();
            }
            auto added = batch_.Add(columns, values, kSnapshotOp, 0);
            if (!added.ok())
              return added.WithMessage("snapshot row ", rows + 1, ": ", added.message());
            ++rows;
            ++report_.messages;
            bytes += static_cast<int64_t>(line.size());
            if (bytes >= config_.processing.flush_bytes) {
              bytes = 0;
              ARROW_ASSIGN_OR_RAISE(auto chunk, batch_.Finish());
              return Commit(std::move(chunk), std::nullopt, consistent);
            }
            return arrow::Status::OK();
          });
      if (!st.ok())
        return catalog_.Failed("the initial snapshot failed: " + st.message());
    }
    ARROW_RETURN_NOT_OK(repl_->Query("COMMIT").status());
    std::shared_ptr<arrow::Table> last;
    if (batch_.rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(last, batch_.Finish());
    }
    ARROW_RETURN_NOT_OK(Commit(std::move(last), consistent, consistent, columns));
    std::cerr << "inlet stream: pipeline " << config_.name << ": initial snapshot of "
              << cdc_.pg.table << ": " << rows << " rows" << std::endl;
    return static_cast<int64_t>(consistent);
  }

  // What a commit carries beside its rows.
  load::CommitSpec Spec(std::optional<Lsn> position, std::optional<Lsn> snapshot,
                        int64_t read_version) const {
    load::CommitSpec spec;
    for (const auto& p : config_.destination.partition_by)
      spec.partition_by.push_back(p.name);
    spec.sort_by = config_.destination.sort_by;
    spec.properties = config_.destination.properties;
    if (position)
      spec.app_states[PgLsnApp(cdc_.slot)].version = static_cast<int64_t>(*position);
    if (snapshot)
      spec.app_states[PgSnapshotApp(cdc_.slot)].version = static_cast<int64_t>(*snapshot);
    spec.merge_schema = true;
    spec.read_version = read_version;
    spec.operation = "STREAMING UPDATE";
    spec.merge_operation = "STREAMING MERGE";
    spec.parameters = {
        {"pipeline", config_.name}, {"source", cdc_.pg.table}, {"outputMode", "Update"}};
    return spec;
  }

  // An empty table of columns as the strategy writes them, for a commit that creates the
  // table without rows.
  std::shared_ptr<arrow::Table> EmptyRows(const std::vector<Column>& columns) const {
    arrow::FieldVector fields;
    for (const auto& c : columns) fields.push_back(arrow::field(c.name, c.type.type));
    if (config_.strategy.keep_operation_column)
      fields.push_back(arrow::field(kOpColumn, arrow::utf8()));
    fields.push_back(arrow::field(kPgLsnColumn, arrow::int64()));
    return *arrow::Table::MakeEmpty(arrow::schema(fields));
  }

  // Commits rows (whole transactions' changes; null: none) with the position and the
  // snapshot mark when given, after checking that the table's position is still this
  // stream's. Without rows, the commit records the position alone (`columns` create the
  // table when there is none).
  arrow::Status Commit(std::shared_ptr<arrow::Table> rows, std::optional<Lsn> position,
                       std::optional<Lsn> snapshot_lsn,
                       const std::vector<Column>& columns = {}) {
    int64_t t0 = SteadyMs();
    load::TableChange change;
    if (rows && rows->num_rows() > 0) {
      if (!config_.destination.partition_by.empty()) {
        ARROW_ASSIGN_OR_RAISE(
            rows, load::AddDerivedColumns(rows, pipeline::Derived(config_.destination)));
      }
      ARROW_ASSIGN_OR_RAISE(rows, strategy_->Prepare(rows, {}, kOpColumn));
      change = strategy_->Change(load::RunContext{}, nullptr);
      auto flags = GivenFlags(*rows->schema());
      for (const auto& d : pipeline::Derived(config_.destination))
        if (auto f = flags.find(d.source); f != flags.end()) flags[d.name] = f->second;
      change.merge_options.given_flags = flags;
    } else {
      rows = nullptr;
    }
    auto attempt = [&]() -> arrow::Result<MergeResult> {
      ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
      std::optional<int64_t> recorded =
          snap ? snap->AppVersion(PgLsnApp(cdc_.slot)) : std::nullopt;
      if (!snapshot_lsn &&
          recorded != std::optional<int64_t>(static_cast<int64_t>(committed_)))
        return arrow::Status::Invalid(
            "the table's position moved to ",
            recorded ? pgoutput::FormatLsn(static_cast<Lsn>(*recorded))
                     : std::string("none"),
            " under this stream (another stream of this slot?)");
      auto spec = Spec(position, snapshot_lsn, snap ? snap->version() : -1);
      if (rows) return load::CommitLoad(*table_, rows, change, spec);
      // A position alone: a write of no rows.
      auto none = snap ? *arrow::Table::MakeEmpty(snap->schema()) : EmptyRows(columns);
      return load::CommitLoad(*table_, none, load::TableChange{}, spec);
    };
    auto committed = RetryOnConflict(config_.processing.max_retries + 20, attempt);
    report_.commit_ms += SteadyMs() - t0;
    if (!committed.ok())
      return committed.status().WithMessage(
          "pipeline ", config_.name, ": cannot commit to ", config_.destination.path,
          ": ", committed.status().message());
    if (change.merge) {
      report_.rows_inserted += committed->rows_inserted;
      report_.rows_updated += committed->rows_updated;
      report_.rows_deleted += committed->rows_deleted;
      report_.rows_late += committed->late_discarded;
      report_.rows_written += committed->rows_inserted + committed->rows_updated;
    }
    report_.table_version = committed->commit.version;
    ++report_.commits;
    if (position) {
      committed_ = *position;
      report_.position = pgoutput::FormatLsn(committed_);
    }
    Maintain();
    return arrow::Status::OK();
  }

  // Commits the batch's whole transactions (the rows before `keep`, when a transaction is
  // cut off there) up to position.
  arrow::Status CommitBatch(Lsn position, std::optional<int64_t> keep = std::nullopt) {
    std::shared_ptr<arrow::Table> rows;
    if (batch_.rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(rows, batch_.Finish());
      if (keep) rows = rows->Slice(0, *keep);
    }
    return Commit(std::move(rows), position, std::nullopt);
  }

  void Maintain() {
    const auto& m = config_.destination.maintenance;
    if (!m.any()) return;
    MaintenanceReport done;
    auto st = load::Maintain(*table_, m, report_.commits, report_.table_version, &done);
    if (!st.ok()) {
      ++report_.maintenance_failures;
      std::cerr << "inlet stream: pipeline " << config_.name
                << ": maintenance after the commit failed (the data is committed): "
                << st.message() << std::endl;
    } else if (!done.empty()) {
      ++report_.maintenance_runs;
    }
  }

  // Tells the server what the table holds: WAL up to there may go.
  arrow::Status Confirm(bool reply = false) {
    last_status_ms_ = SteadyMs();
    return Lost(repl_->Send(pgoutput::StandbyStatusUpdate(
        received_, committed_, committed_, NowMillis() * 1000, reply)));
  }

  // A failure of the connection: the stream may go on after reconnecting.
  arrow::Status Lost(arrow::Status st) {
    if (!st.ok()) lost_ = true;
    return st;
  }

  // Connects again, for up to kReconnectMs, and forgets what was not committed.
  arrow::Status Reconnect(const arrow::Status& why) {
    if (batch_.rows() > 0) (void)batch_.Finish();
    tx_.reset();
    relation_.clear();
    pending_ = committed_;
    repl_.reset();
    int64_t deadline = SteadyMs() + kReconnectMs;
    int64_t pause = 250;
    arrow::Status last = why;
    while (SteadyMs() < deadline) {
      if (Signalled() || (options_.stop && options_.stop->load())) return why;
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
      pause = std::min<int64_t>(pause * 2, 4000);
      auto opened = catalog_.Open();
      if (!opened.ok()) {
        last = opened;
        continue;
      }
      auto slot =
          catalog_.SlotExists();  // the old session may hold the slot a moment longer
      if (!slot.ok() || !*slot) {
        last = slot.ok() ? catalog_.Failed("replication slot '" + cdc_.slot + "' is gone")
                         : slot.status();
        if (slot.ok()) return last;
        continue;
      }
      auto repl = catalog_.Connect(true);
      if (!repl.ok()) {
        last = repl.status();
        continue;
      }
      repl_ = std::move(*repl);
      ++report_.rebalances;
      return arrow::Status::OK();
    }
    return last.WithMessage(last.message(), " (reconnecting for ", kReconnectMs / 1000,
                            " s)");
  }

  // The relation's columns in the stream (from its Relation message).
  arrow::Status OnRelation(const pgoutput::Relation& r) {
    if (r.id != catalog_.relation_id()) return arrow::Status::OK();
    std::vector<Column> columns;
    for (const auto& c : r.columns) {
      ARROW_ASSIGN_OR_RAISE(
          auto column, catalog_.ColumnOf(c.name, c.type_oid, c.type_modifier, c.key));
      columns.push_back(std::move(column));
    }
    relation_ = std::move(columns);
    return arrow::Status::OK();
  }

  // A tuple's values by column: unchanged TOASTed values are not given.
  arrow::Result<ChangeRows::Values> ValuesOf(const pgoutput::Tuple& t, bool keys_only) {
    if (t.size() != relation_.size())
      return arrow::Status::Invalid("a tuple of ", t.size(),
                                    " columns for a relation of ", relation_.size());
    ChangeRows::Values out(t.size());
    for (size_t i = 0; i < t.size(); ++i) {
      if (keys_only && !relation_[i].key) continue;  // a delete's other columns: null
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
          return arrow::Status::Invalid("column '", relation_[i].name,
                                        "' came in binary");
      }
    }
    return out;
  }

  bool KeysDiffer(const ChangeRows::Values& a, const ChangeRows::Values& b) const {
    for (size_t i = 0; i < relation_.size(); ++i) {
      if (std::find(keys_.begin(), keys_.end(), relation_[i].name) == keys_.end())
        continue;
      if (a[i] && b[i] && *a[i] != *b[i]) return true;
    }
    return false;
  }

  arrow::Status OnChange(const pgoutput::Message& m) {
    uint32_t rel = 0;
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, pgoutput::Insert> ||
                        std::is_same_v<T, pgoutput::Update> ||
                        std::is_same_v<T, pgoutput::Delete>)
            rel = c.relation;
        },
        m);
    if (rel != catalog_.relation_id() || skip_tx_) return arrow::Status::OK();
    if (relation_.empty()) return arrow::Status::Invalid("a change before its relation");
    Lsn lsn = change_lsn_;
    ++report_.messages;
    if (const auto* ins = std::get_if<pgoutput::Insert>(&m)) {
      ARROW_ASSIGN_OR_RAISE(auto v, ValuesOf(ins->row, false));
      return batch_.Add(relation_, v, kInsertOp, lsn);
    }
    if (const auto* up = std::get_if<pgoutput::Update>(&m)) {
      ARROW_ASSIGN_OR_RAISE(auto v, ValuesOf(up->row, false));
      if (up->old_kind) {
        ARROW_ASSIGN_OR_RAISE(auto old, ValuesOf(up->old_row, true));
        // An update of the key: the old key's row goes, the new one comes.
        if (up->old_kind == 'K' || KeysDiffer(old, v)) {
          if (KeysDiffer(old, v) || up->old_kind == 'K')
            ARROW_RETURN_NOT_OK(batch_.Add(relation_, old, kDeleteOp, lsn));
          // Unchanged TOASTed values of a moved row are in the old row only: keep
          // nothing of the old key's row in the new one.
          return batch_.Add(relation_, v, kInsertOp, lsn);
        }
      }
      return batch_.Add(relation_, v, kUpdateOp, lsn);
    }
    const auto& del = std::get<pgoutput::Delete>(m);
    ARROW_ASSIGN_OR_RAISE(auto old, ValuesOf(del.old_row, true));
    return batch_.Add(relation_, old, kDeleteOp, lsn);
  }

  arrow::Status OnTruncate(const pgoutput::Truncate& t) {
    if (skip_tx_ || std::find(t.relations.begin(), t.relations.end(),
                              catalog_.relation_id()) == t.relations.end())
      return arrow::Status::OK();
    ++report_.messages;
    ChangeRows::Values none(relation_.size());
    return batch_.Add(relation_, none, kTruncateOp, change_lsn_);
  }

  arrow::Status Stream(int64_t started) {
    // messages: our own catch-up marker comes through the stream in its place.
    std::string command =
        "START_REPLICATION SLOT " + QuoteIdent(cdc_.slot) + " LOGICAL " +
        pgoutput::FormatLsn(committed_) + " (proto_version '1', publication_names " +
        QuoteLiteral(QuoteIdent(cdc_.publication)) + ", messages 'true')";
    auto st = Lost(repl_->StartStream(command));
    if (!st.ok()) return st.WithMessage("cannot start replication: ", st.message());
    received_ = committed_;
    if (options_.catch_up) {
      // Everything committed before this marker is before it in the stream.
      marker_ = "inlet.catch_up/" + cdc_.slot;
      auto rows =
          catalog_.conn().Query("SELECT pg_logical_emit_message(false, $1, $2)::text",
                                {marker_, std::to_string(NowMillis())});
      ARROW_RETURN_NOT_OK(Lost(rows.status()));
      ARROW_ASSIGN_OR_RAISE(target_, pgoutput::ParseLsn(*rows->at(0).at(0)));
    }
    pending_ = committed_;
    int64_t first_buffered_ms = 0;
    int64_t last_progress_ms = SteadyMs();
    int64_t last_message_ms = SteadyMs();
    std::string data;  // the message being read
    while (!caught_up_) {
      if (Signalled() || (options_.stop && options_.stop->load())) break;
      int64_t wait_start = SteadyMs();
      auto received = repl_->Receive(100, &data);
      ARROW_RETURN_NOT_OK(Lost(received.status()));
      int64_t now = SteadyMs();
      if (!*received) {
        report_.wait_ms += now - wait_start;
      } else {
        last_message_ms = now;
        // What has arrived, until the batch may be committed (whole transactions, full
        // or due): the clock and the bookkeeping below once per drain, not per message.
        for (int64_t n = 1;; ++n) {
          ARROW_RETURN_NOT_OK(OnCopyData(data));
          if (!tx_ && batch_.rows() > 0 && first_buffered_ms == 0)
            first_buffered_ms = now;
          if (!tx_ && (batch_.rows() >= config_.processing.flush_rows || caught_up_))
            break;
          if (n % 1024 == 0) {
            now = SteadyMs();
            if (first_buffered_ms > 0 && !tx_ &&
                now - first_buffered_ms >= config_.processing.flush_interval_ms)
              break;
          }
          auto more = repl_->Receive(0, &data);
          ARROW_RETURN_NOT_OK(Lost(more.status()));
          if (!*more) break;
        }
        int64_t done = SteadyMs();
        report_.decode_ms += done - now;
        now = done;
      }
      // Whole transactions are committed when the batch is full or has waited enough.
      bool full = batch_.rows() >= config_.processing.flush_rows;
      bool due = first_buffered_ms > 0 &&
                 now - first_buffered_ms >= config_.processing.flush_interval_ms;
      if (!tx_ && pending_ > committed_ && (full || due || caught_up_)) {
        ARROW_RETURN_NOT_OK(CommitBatch(pending_));
        ARROW_RETURN_NOT_OK(Confirm());
        first_buffered_ms = 0;
        oldest_pending_us_ = 0;
      }
      // Idle while the server's WAL grows (other tables' changes): the position alone,
      // now and then, so that the slot does not hold that WAL for ever.
      if (!tx_ && batch_.rows() == 0 && pending_ == committed_ &&
          idle_end_ > committed_ &&
          idle_end_ - committed_ >= static_cast<Lsn>(config_.processing.flush_bytes)) {
        ARROW_RETURN_NOT_OK(Commit(nullptr, idle_end_, std::nullopt));
        pending_ = committed_;
        ARROW_RETURN_NOT_OK(Confirm());
      }
      if (now - last_status_ms_ >= 10000) ARROW_RETURN_NOT_OK(Confirm());
      Lag();
      if (options_.on_progress &&
          now - last_progress_ms >= options_.progress_interval_ms) {
        last_progress_ms = now;
        StreamReport r = report_;
        r.status = StreamStatus::kRunning;
        r.duration_ms = now - started;
        options_.on_progress(r);
      }
      if (options_.idle_exit_ms > 0 && now - last_message_ms >= options_.idle_exit_ms &&
          !tx_) {
        report_.status = StreamStatus::kIdle;
        break;
      }
    }
    if (caught_up_) report_.status = StreamStatus::kCaughtUp;
    // Stopping: the whole transactions the batch holds are committed; the rows of one cut
    // off by the stop are left for the next start (the slot has not been told of them).
    if (pending_ > committed_) {
      std::optional<int64_t> keep;
      if (tx_) keep = tx_start_rows_;
      ARROW_RETURN_NOT_OK(CommitBatch(pending_, keep));
    }
    Lag();
    return Confirm();
  }

  arrow::Status OnCopyData(const std::string& data) {
    ARROW_ASSIGN_OR_RAISE(auto copy, pgoutput::DecodeCopyData(data));
    if (const auto* k = std::get_if<pgoutput::Keepalive>(&copy)) {
      server_end_ = std::max(server_end_, k->wal_end);
      // Nothing open and nothing held: the table holds all the server has up to there.
      if (!tx_ && batch_.rows() == 0 && pending_ == committed_) idle_end_ = k->wal_end;
      if (k->reply_requested) ARROW_RETURN_NOT_OK(Confirm());
      return arrow::Status::OK();
    }
    const auto& x = std::get<pgoutput::XLogData>(copy);
    server_end_ = std::max(server_end_, x.wal_end);
    idle_end_ = 0;
    auto decoded = pgoutput::Decode(x.data);
    if (!decoded.ok())
      return catalog_.Failed("the replication message at " +
                             pgoutput::FormatLsn(x.wal_start) + ": " +
                             decoded.status().message());
    change_lsn_ = x.wal_start;
    auto st = OnMessage(*decoded);
    if (!st.ok())
      return catalog_.Failed(
          "the change at " + pgoutput::FormatLsn(x.wal_start) +
          (tx_ ? " (transaction " + std::to_string(tx_->xid) + ")" : "") + ": " +
          st.message());
    return arrow::Status::OK();
  }

  arrow::Status OnMessage(const pgoutput::Message& m) {
    if (const auto* b = std::get_if<pgoutput::Begin>(&m)) {
      tx_ = *b;
      tx_start_rows_ = batch_.rows();
      // A transaction the table holds (the server sent it again): its commit record
      // begins before the table's position.
      skip_tx_ = b->final_lsn < committed_;
      return arrow::Status::OK();
    }
    if (const auto* c = std::get_if<pgoutput::Commit>(&m)) {
      if (!tx_) return arrow::Status::Invalid("a commit without its begin");
      received_ = std::max(received_, c->end_lsn);
      if (skip_tx_) {
        ++report_.skipped;
      } else {
        if (oldest_pending_us_ == 0) oldest_pending_us_ = c->commit_time_us;
        pending_ = c->end_lsn;
      }
      tx_.reset();
      return arrow::Status::OK();
    }
    if (const auto* r = std::get_if<pgoutput::Relation>(&m)) return OnRelation(*r);
    if (const auto* lm = std::get_if<pgoutput::LogicalMessage>(&m)) {
      if (!lm->transactional && lm->prefix == marker_ && lm->lsn >= target_)
        caught_up_ = true;
      return arrow::Status::OK();
    }
    if (!tx_) return arrow::Status::OK();
    if (std::holds_alternative<pgoutput::Insert>(m) ||
        std::holds_alternative<pgoutput::Update>(m) ||
        std::holds_alternative<pgoutput::Delete>(m))
      return OnChange(m);
    if (const auto* t = std::get_if<pgoutput::Truncate>(&m)) return OnTruncate(*t);
    return arrow::Status::OK();  // Origin, Type
  }

  // How far the table is behind the server.
  void Lag() {
    Lsn end = std::max(server_end_, received_);
    report_.lag_bytes = end > committed_ ? static_cast<int64_t>(end - committed_) : 0;
    report_.lag_ms = oldest_pending_us_ > 0
                         ? std::max<int64_t>(0, NowMillis() - oldest_pending_us_ / 1000)
                         : 0;
  }

  const PipelineConfig& config_;
  const StreamOptions& options_;
  const PostgresCdcSourceConfig& cdc_;
  std::vector<std::string> keys_;
  PgCatalog catalog_;
  std::unique_ptr<load::Strategy> strategy_;
  std::shared_ptr<Table> table_;
  std::unique_ptr<pgrepl::Connection> repl_;
  std::vector<Column> relation_;  // the stream's columns of the table
  ChangeRows batch_;
  std::optional<pgoutput::Begin> tx_;  // the transaction being received
  int64_t tx_start_rows_ = 0;          // the batch's rows before it
  // The LSN of the change being read: the changes' order. Within a transaction it grows;
  // across transactions, changes of one row (and a truncate and the table's other
  // changes) are ordered by the locks they take, so their LSNs follow commit order.
  Lsn change_lsn_ = 0;
  bool skip_tx_ = false;
  Lsn committed_ = 0;   // what the table holds
  Lsn received_ = 0;    // what this stream has received whole
  Lsn server_end_ = 0;  // the server's end of WAL, as last reported
  Lsn pending_ = 0;     // the end of the batch's last whole transaction
  Lsn idle_end_ = 0;    // the server's end while the table held everything (0: busy)
  int64_t oldest_pending_us_ = 0;  // the commit time of the batch's first transaction
  std::string marker_;             // catch_up: our message's prefix, and its LSN
  Lsn target_ = 0;
  bool caught_up_ = false;
  bool lost_ = false;  // the last failure was the connection's
  static constexpr int64_t kReconnectMs = 60000;
  int64_t last_status_ms_ = 0;
  StreamReport report_;
};

}  // namespace

std::string PgLsnApp(const std::string& slot) {
  return "inlet.postgres/" + slot + "/lsn";
}
std::string PgSnapshotApp(const std::string& slot) {
  return "inlet.postgres/" + slot + "/snapshot";
}

arrow::Result<StreamReport> RunPostgresCdc(const PipelineConfig& config,
                                           const StreamOptions& options) {
  PgCdc cdc(config, options);
  return cdc.Run();
}

}  // namespace inlet::stream
