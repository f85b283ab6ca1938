#include "inlet/stream/pg_cdc.h"

#include <arrow/builder.h>
#include <arrow/table.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "inlet/common/time.h"
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
#include "inlet/stream/pg_target.h"
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
        catalog_(config) {
    report_.pipeline = config.name;
    report_.table = config.destination.path;
    for (const auto& t : cdc_.tables)
      report_.topic += (report_.topic.empty() ? "" : ", ") + t;
  }

  arrow::Result<StreamReport> Run() {
    int64_t started = SteadyMs();
    // Starting (the tables' positions, the slot, the initial snapshot) begins again from
    // the top when a connection drops on the way: what it committed is in the tables,
    // and a snapshot cut short goes on. A server that cannot be reached at first is an
    // error at once; so is one that keeps dropping the start (kMaxStarts in all, however
    // much a snapshot taken again commits meanwhile).
    for (bool connected = false;;) {
      auto begun = Start(&connected);
      if (begun.ok() && !*begun) {
        report_.status = StreamStatus::kStopped;
        report_.duration_ms = SteadyMs() - started;
        return report_;
      }
      if (begun.ok()) break;
      const arrow::Status& st = begun.status();
      // After a drop, the server may not have seen the old session go yet: the slot is
      // still in use by its process for a moment.
      bool again = IsConnectionFailed(st) ||
                   (starts_ > 0 && st.message().find("in use") != std::string::npos);
      if (!connected || !again) return st;
      if (++starts_ > kMaxStarts)
        return st.WithMessage(st.message(), " (started again ", kMaxStarts,
                              " times, the connection dropped each time)");
      std::cerr << "inlet stream: pipeline " << config_.name << ": " << st.message()
                << "; starting again" << std::endl;
      ++report_.rebalances;
      if (!Pause(starts_)) {
        report_.status = StreamStatus::kStopped;
        report_.duration_ms = SteadyMs() - started;
        return report_;
      }
    }
    report_.status = StreamStatus::kStopped;
    while (true) {
      lost_ = false;
      auto st = Stream(started);
      if (st.ok()) break;
      if (!lost_ && !IsConnectionFailed(st)) return st;
      // The connection dropped (a server restart, a network cut): what is not committed
      // is read again from the tables' positions.
      std::cerr << "inlet stream: pipeline " << config_.name << ": " << st.message()
                << "; reconnecting" << std::endl;
      ARROW_RETURN_NOT_OK(Reconnect(st));
      if (!repl_) break;  // stopped while reconnecting
    }
    report_.duration_ms = SteadyMs() - started;
    return report_;
  }

 private:
  // Opens the tables and the slot, and takes or goes on with the initial snapshot; false
  // when stopped during the copy. *connected: the catalog's connection was made.
  arrow::Result<bool> Start(bool* connected) {
    targets_.clear();
    by_relation_.clear();
    repl_.reset();
    tx_.reset();
    ARROW_RETURN_NOT_OK(catalog_.Open());
    *connected = true;
    std::vector<PgTableInfo> infos;
    for (const auto& name : cdc_.tables) {
      ARROW_ASSIGN_OR_RAISE(auto info,
                            catalog_.CheckTable(name, config_.destination.keys));
      infos.push_back(std::move(info));
    }
    ARROW_RETURN_NOT_OK(catalog_.EnsurePublication(infos));
    std::vector<std::string> missing;  // tables without a position
    std::optional<Lsn> held;
    for (auto& info : infos) {
      targets_.push_back(std::make_unique<PgTarget>(config_, &catalog_, info, &report_));
      PgTarget& t = *targets_.back();
      by_relation_[t.relation_id()] = &t;
      ARROW_RETURN_NOT_OK(t.Open());
      ARROW_ASSIGN_OR_RAISE(auto lsn, t.Held());
      if (!lsn) missing.push_back(info.name);
      if (lsn && (!held || *lsn < *held)) held = lsn;
    }
    ARROW_ASSIGN_OR_RAISE(repl_, catalog_.Connect(true));
    ARROW_ASSIGN_OR_RAISE(auto slot, catalog_.Slot(/*lost_ok=*/!missing.empty()));
    bool streamed = false;
    for (const auto& t : targets_) streamed = streamed || (t->streamed() && held);
    if (!missing.empty() && streamed && !cdc_.initial_snapshot) {
      return catalog_.Failed(
          missing.front() +
          " has no position while the others have: with initial_snapshot: false a table "
          "cannot join a running stream (the others would be loaded afresh without their "
          "rows); follow it with a pipeline (and slot) of its own");
    }
    if (!missing.empty()) {
      // A table without a position (a first start, a snapshot cut short, a table added
      // to the list): every table is loaded afresh from a new slot's snapshot, so that
      // all of them start from the same point; a snapshot cut short goes on instead, when
      // it can.
      bool resume = Resumable(slot);
      if (held && !resume)
        std::cerr << "inlet stream: pipeline " << config_.name << ": " << missing.front()
                  << " has no position: taking a new snapshot of every table"
                  << std::endl;
      for (const auto& t : targets_) ARROW_RETURN_NOT_OK(t->CheckOwned());
      arrow::Status copied;
      bool resumed = false;
      if (resume) {
        auto r = Resume(*slot, missing);
        if (r.ok()) resumed = *r;
        copied = r.status();
      }
      if (copied.ok() && !resumed) {
        if (slot) ARROW_RETURN_NOT_OK(catalog_.DropSlot());
        copied = Snapshot();
      }
      // Stopped during the copy: the next start goes on with it (or takes it again).
      if (copied.IsCancelled()) return false;
      ARROW_RETURN_NOT_OK(copied);
    } else if (!slot) {
      return catalog_.Failed("replication slot '" + cdc_.slot +
                             "' is gone, and the tables hold changes up to " +
                             pgoutput::FormatLsn(*held) +
                             " only: the changes since are lost to them. Load them "
                             "afresh (new destinations, or delete these ones' files)");
    } else if (*slot > Committed()) {
      // The server would start after what the tables hold: changes in between are gone.
      return catalog_.Failed("replication slot '" + cdc_.slot + "' has confirmed up to " +
                             pgoutput::FormatLsn(*slot) + ", past the tables' " +
                             pgoutput::FormatLsn(Committed()) +
                             ": something else consumed it, and the changes in between "
                             "are lost to the tables. Load them afresh");
    }
    return true;
  }

  // The oldest position of the tables: where the stream resumes, and what the slot may
  // confirm.
  Lsn Committed() const {
    Lsn out = std::numeric_limits<Lsn>::max();
    for (const auto& t : targets_) out = std::min(out, t->committed());
    return targets_.empty() ? 0 : out;
  }

  int64_t Buffered() const {
    int64_t n = 0;
    for (const auto& t : targets_) n += t->rows();
    return n;
  }

  // The initial snapshot: a new slot, and the tables as of its consistent point, copied
  // in the transaction that created it; committed in chunks, the last with the position.
  arrow::Status Snapshot() {
    ARROW_RETURN_NOT_OK(
        repl_->Query("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ").status());
    auto created = repl_->Query("CREATE_REPLICATION_SLOT " + QuoteIdent(cdc_.slot) +
                                " LOGICAL pgoutput (SNAPSHOT 'use')");
    if (!created.ok())
      return KeepKind(created.status(),
                      catalog_.Failed("cannot create replication slot '" + cdc_.slot +
                                      "': " + created.status().message()));
    ARROW_ASSIGN_OR_RAISE(Lsn consistent, pgoutput::ParseLsn(*created->at(0).at(1)));
    std::cerr << "inlet stream: pipeline " << config_.name
              << ": created replication slot " << cdc_.slot << " at "
              << pgoutput::FormatLsn(consistent) << std::endl;
    // Every table is marked before any is copied, so that a snapshot cut short in any of
    // them can go on.
    for (auto& t : targets_) {
      ARROW_RETURN_NOT_OK(t->Describe(*repl_));
      ARROW_RETURN_NOT_OK(t->Prepare(consistent));
    }
    for (auto& t : targets_) {
      ARROW_RETURN_NOT_OK(t->Copy(*repl_, consistent, cdc_.initial_snapshot, [this] {
        return Signalled() || (options_.stop && options_.stop->load());
      }));
    }
    ARROW_RETURN_NOT_OK(repl_->Query("COMMIT").status());
    for (auto& t : targets_) ARROW_RETURN_NOT_OK(t->Finish(consistent));
    return arrow::Status::OK();
  }

  // Whether a snapshot cut short can go on where it stopped (Resume): the slot is still
  // at its consistent point (it is confirmed only once every table holds a position),
  // every table carries that snapshot's mark and none holds changes past it, and the
  // snapshot copies rows. A history discards the changes its newer rows show already
  // (HistoryOptions::snapshot_marker, set by PgTarget).
  bool Resumable(const std::optional<Lsn>& slot) {
    if (!slot || *slot == 0 || !cdc_.initial_snapshot) return false;
    // The copied rows' tags order against the changes by [commit LSN, LSN] only.
    const std::vector<std::string> lsn_order = {kPgCommitLsnColumn, kPgLsnColumn};
    if (config_.strategy.sequence_by != lsn_order) return false;
    for (const auto& t : targets_) {
      if (t->mark() != slot || t->committed() > *slot) return false;
    }
    return catalog_.Slot(/*lost_ok=*/false).ok();  // its WAL is still there
  }

  // Goes on with a snapshot cut short (mark: its consistent point, where the slot still
  // is): the tables without a position copy the rows after the last key they committed,
  // as of a newer snapshot (a temporary slot's, consistent at seen_at); their rows carry
  // seen_at as their commit LSN, so the stream, which resumes at mark, finds its changes
  // up to seen_at late for them (and applies those to the rows copied before).
  // False, having changed nothing, when it cannot go on after all (no spare slot for the
  // newer snapshot; a table whose key columns changed type): the snapshot is taken again.
  arrow::Result<bool> Resume(Lsn mark, const std::vector<std::string>& missing) {
    bool made = false;  // the temporary slot, which would hold WAL for the whole stream
    std::string temp;
    auto cannot = [&](const std::string& why) -> arrow::Result<bool> {
      ARROW_RETURN_NOT_OK(repl_->Query("ROLLBACK").status());
      if (made) DropTemporary(temp);
      std::cerr << "inlet stream: pipeline " << config_.name
                << ": cannot resume the initial snapshot (" << why << "): taking it again"
                << std::endl;
      return false;
    };
    ARROW_RETURN_NOT_OK(
        repl_->Query("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ").status());
    // Unique among the streams of this process and server: the slot's name (whole, by
    // its hash), the process, and the start (an earlier one's session may linger).
    temp = cdc_.slot.substr(0, 24) + "_" +
           std::to_string(std::hash<std::string>()(cdc_.slot) % 1000000007) + "_r" +
           std::to_string(::getpid()) + "_" + std::to_string(starts_);
    auto created = repl_->Query("CREATE_REPLICATION_SLOT " + QuoteIdent(temp) +
                                " TEMPORARY LOGICAL pgoutput (SNAPSHOT 'use')");
    if (!created.ok())
      return cannot("a temporary replication slot for a newer snapshot: " +
                    created.status().message());
    made = true;
    ARROW_ASSIGN_OR_RAISE(Lsn seen_at, pgoutput::ParseLsn(*created->at(0).at(1)));
    std::vector<PgTarget*> resumed;
    for (auto& t : targets_) {
      if (std::find(missing.begin(), missing.end(), t->info().name) == missing.end())
        continue;
      ARROW_RETURN_NOT_OK(t->Describe(*repl_));
      if (!t->CanResume())
        return cannot(t->info().name + " was copied by other key columns or types");
      resumed.push_back(t.get());
    }
    std::cerr << "inlet stream: pipeline " << config_.name
              << ": resuming the initial snapshot of slot " << cdc_.slot << " at "
              << pgoutput::FormatLsn(mark) << ", its rest as of "
              << pgoutput::FormatLsn(seen_at) << std::endl;
    for (auto* t : resumed) {
      ARROW_RETURN_NOT_OK(t->Copy(
          *repl_, mark, /*rows=*/true,
          [this] { return Signalled() || (options_.stop && options_.stop->load()); },
          /*resume=*/true, seen_at));
    }
    ARROW_RETURN_NOT_OK(repl_->Query("COMMIT").status());
    DropTemporary(temp);
    for (auto* t : resumed) ARROW_RETURN_NOT_OK(t->Finish(mark));
    return true;
  }

  // Drops the temporary slot Resume made (it would go with the session anyway, but the
  // session lasts as long as the stream).
  void DropTemporary(const std::string& temp) {
    auto dropped = repl_->Query("DROP_REPLICATION_SLOT " + QuoteIdent(temp));
    if (!dropped.ok())
      std::cerr << "inlet stream: pipeline " << config_.name << ": cannot drop " << temp
                << ": " << dropped.status().message() << std::endl;
  }

  // Commits every table's whole transactions up to pending_ (a table without changes only
  // when `all`, or when it lags by flush_bytes of WAL), then confirms to the server.
  arrow::Status CommitAll(bool cut, bool all) {
    int64_t t0 = SteadyMs();
    for (auto& t : targets_) {
      bool lagging =
          pending_ > t->committed() &&
          pending_ - t->committed() >= static_cast<Lsn>(config_.processing.flush_bytes);
      ARROW_RETURN_NOT_OK(t->CommitBatch(pending_, cut, all || lagging));
    }
    report_.commit_ms += SteadyMs() - t0;
    report_.position = pgoutput::FormatLsn(Committed());
    oldest_pending_us_ = 0;
    return Confirm();
  }

  // Commits the batch with the open transaction's changes so far: the whole transactions
  // before it up to pending_, and how many of its changes each table holds. The slot is
  // not told (the transaction is not whole in the tables).
  arrow::Status CommitPart() {
    int64_t t0 = SteadyMs();
    for (auto& t : targets_) ARROW_RETURN_NOT_OK(t->CommitPart(pending_, tx_->final_lsn));
    report_.commit_ms += SteadyMs() - t0;
    report_.position = pgoutput::FormatLsn(Committed());
    return arrow::Status::OK();
  }

  // Tells the server what the tables hold (flushed: WAL up to there may go), and how far
  // this stream has received (written: the furthest end of WAL the server reported, as
  // PostgreSQL's own subscribers say; a server shutting down waits for it to reach its
  // end).
  arrow::Status Confirm(bool reply = false) {
    last_status_ms_ = SteadyMs();
    Lsn held = Committed();
    Lsn written = std::max({received_, server_end_, held});
    return Lost(repl_->Send(
        pgoutput::StandbyStatusUpdate(written, held, held, NowMillis() * 1000, reply)));
  }

  // A failure of the connection: the stream may go on after reconnecting.
  arrow::Status Lost(arrow::Status st) {
    if (st.IsIOError()) lost_ = true;
    return st;
  }

  // Connects again, for up to kReconnectMs, and forgets what was not committed.
  // A failure that comes back however often the stream connects is not a lost
  // connection: stop after kMaxReconnects in a row without a commit between.
  arrow::Status CountReconnect(const arrow::Status& why) {
    if (report_.commits == commits_at_reconnect_) {
      if (++reconnects_in_a_row_ > kMaxReconnects)
        return why.WithMessage(why.message(), " (", kMaxReconnects,
                               " reconnections in a row, nothing committed between)");
    } else {
      reconnects_in_a_row_ = 1;
    }
    commits_at_reconnect_ = report_.commits;
    return arrow::Status::OK();
  }

  // Waits before connecting or starting again, longer each attempt (0.25 s to 4 s);
  // false when the stream is stopped meanwhile.
  bool Pause(int attempt) {
    int64_t pause = std::min<int64_t>(int64_t{250} << std::min(attempt - 1, 4), 4000);
    for (int64_t waited = 0; waited < pause; waited += 50) {
      if (Signalled() || (options_.stop && options_.stop->load())) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  arrow::Status Reconnect(const arrow::Status& why) {
    ARROW_RETURN_NOT_OK(CountReconnect(why));
    for (auto& t : targets_) t->Forget();
    tx_.reset();
    repl_.reset();
    int64_t deadline = SteadyMs() + kReconnectMs;
    arrow::Status last = why;
    for (int attempt = 1; SteadyMs() < deadline; ++attempt) {
      if (!Pause(attempt)) return arrow::Status::OK();  // stopped: repl_ stays null
      auto opened = catalog_.Open();
      if (!opened.ok()) {
        last = opened;
        continue;
      }
      // The old session may hold the slot a moment longer.
      auto slot = catalog_.Slot();
      if (!slot.ok() || !*slot) {
        last = slot.ok() ? catalog_.Failed("replication slot '" + cdc_.slot + "' is gone")
                         : slot.status();
        bool again =
            !slot.ok() && (slot.status().IsIOError() ||
                           slot.status().message().find("in use") != std::string::npos);
        if (!again) return last;
        continue;
      }
      if (**slot > Committed())
        return catalog_.Failed("replication slot '" + cdc_.slot +
                               "' has confirmed up to " + pgoutput::FormatLsn(**slot) +
                               ", past the tables' " + pgoutput::FormatLsn(Committed()) +
                               ": something else consumed it while the stream was away");
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

  arrow::Status Stream(int64_t started) {
    // messages: our own catch-up marker comes through the stream in its place.
    std::string command =
        "START_REPLICATION SLOT " + QuoteIdent(cdc_.slot) + " LOGICAL " +
        pgoutput::FormatLsn(Committed()) + " (proto_version '1', publication_names " +
        QuoteLiteral(QuoteIdent(cdc_.publication)) + ", messages 'true')";
    auto st = Lost(repl_->StartStream(command));
    if (!st.ok()) return st.WithMessage("cannot start replication: ", st.message());
    received_ = Committed();
    pending_ = received_;
    report_.position = pgoutput::FormatLsn(received_);
    if (options_.catch_up) {
      // Everything committed before this marker is before it in the stream.
      marker_ = "inlet.catch_up/" + cdc_.slot;
      auto rows =
          catalog_.conn().Query("SELECT pg_logical_emit_message(false, $1, $2)::text",
                                {marker_, std::to_string(NowMillis())});
      ARROW_RETURN_NOT_OK(Lost(rows.status()));
      ARROW_ASSIGN_OR_RAISE(target_, pgoutput::ParseLsn(*rows->at(0).at(0)));
    }
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
        // Silence: ask the server to answer; none within kSilenceMs more is a lost
        // connection (as PostgreSQL's own wal_receiver_timeout).
        if (now - last_message_ms >= kSilenceMs) {
          if (ping_ms_ == 0) {
            ping_ms_ = now;
            ARROW_RETURN_NOT_OK(Confirm(/*reply=*/true));
          } else if (now - ping_ms_ >= kSilenceMs) {
            return Lost(arrow::Status::IOError("PostgreSQL database ", catalog_.name(),
                                               ": no answer from the server for ",
                                               2 * kSilenceMs / 1000, " s"));
          }
        }
      } else {
        ping_ms_ = 0;
        last_message_ms = now;
        // What has arrived, until the batch may be committed (whole transactions, full
        // or due): the clock and the bookkeeping below once per drain, not per message.
        for (int64_t n = 1;; ++n) {
          ARROW_RETURN_NOT_OK(OnCopyData(data));
          if (!tx_ && pending_ > Committed() && first_buffered_ms == 0)
            first_buffered_ms = now;
          if (!tx_ && (Buffered() >= config_.processing.flush_rows || caught_up_)) break;
          if (tx_ && Buffered() >= config_.processing.max_transaction_rows) {
            // A transaction larger than memory should hold: what it has so far goes to
            // the tables now (with how much of it they hold), the rest follows.
            ARROW_RETURN_NOT_OK(CommitPart());
          }
          if (n % 1024 == 0) {
            now = SteadyMs();
            // A long transaction: a stop is heard, and the server hears from us.
            if (Signalled() || (options_.stop && options_.stop->load())) break;
            if (now - last_status_ms_ >= 10000) ARROW_RETURN_NOT_OK(Confirm());
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
      bool full = Buffered() >= config_.processing.flush_rows;
      bool due = first_buffered_ms > 0 &&
                 now - first_buffered_ms >= config_.processing.flush_interval_ms;
      if (!tx_ && pending_ > Committed() && (full || due || caught_up_)) {
        ARROW_RETURN_NOT_OK(CommitAll(/*cut=*/false, /*all=*/false));
        first_buffered_ms = 0;
      }
      // Idle while the server's WAL grows (other tables' changes): the position alone,
      // now and then, so that the slot does not hold that WAL for ever.
      if (!tx_ && Buffered() == 0 && idle_end_ > pending_ &&
          idle_end_ - Committed() >= static_cast<Lsn>(config_.processing.flush_bytes)) {
        pending_ = idle_end_;
        ARROW_RETURN_NOT_OK(CommitAll(/*cut=*/false, /*all=*/true));
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
    if (pending_ > Committed())
      ARROW_RETURN_NOT_OK(CommitAll(/*cut=*/tx_.has_value(), false));
    Lag();
    return Confirm();
  }

  arrow::Status OnCopyData(const std::string& data) {
    ARROW_ASSIGN_OR_RAISE(auto copy, pgoutput::DecodeCopyData(data));
    if (const auto* k = std::get_if<pgoutput::Keepalive>(&copy)) {
      server_end_ = std::max(server_end_, k->wal_end);
      // Nothing open and nothing held: the tables hold all the server has up to there.
      if (!tx_ && Buffered() == 0 && pending_ <= Committed()) idle_end_ = k->wal_end;
      if (k->reply_requested && !tx_) {
        // The server waits for us (it does so before it shuts down, until we say we hold
        // all it sent): the whole transactions held are committed, and, once nothing is
        // held, the position up to its end alone, so that what the slot is told the
        // tables hold, they hold.
        if (Buffered() == 0 && pending_ <= Committed() && k->wal_end > Committed())
          pending_ = k->wal_end;
        if (pending_ > Committed()) ARROW_RETURN_NOT_OK(CommitAll(false, /*all=*/true));
      }
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
    auto st = OnMessage(*decoded, x.wal_start);
    if (!st.ok() && st.IsIOError()) return Lost(st);  // the catalog's connection
    if (!st.ok())
      return catalog_.Failed(
          "the change at " + pgoutput::FormatLsn(x.wal_start) +
          (tx_ ? " (transaction " + std::to_string(tx_->xid) + ")" : "") + ": " +
          st.message());
    return arrow::Status::OK();
  }

  // The target of a relation, or null for a table this stream does not follow.
  PgTarget* TargetOf(uint32_t relation) const {
    auto it = by_relation_.find(relation);
    return it == by_relation_.end() ? nullptr : it->second;
  }

  // A message, at lsn. A change's LSN orders it: within a transaction it grows; across
  // transactions, changes of one row (and a truncate and the table's other changes) are
  // ordered by the locks they take, so their LSNs follow commit order.
  arrow::Status OnMessage(const pgoutput::Message& m, Lsn lsn) {
    if (const auto* b = std::get_if<pgoutput::Begin>(&m)) {
      tx_ = *b;
      for (auto& t : targets_) t->Begin(b->final_lsn);
      return arrow::Status::OK();
    }
    if (const auto* c = std::get_if<pgoutput::Commit>(&m)) {
      if (!tx_) return arrow::Status::Invalid("a commit without its begin");
      received_ = std::max(received_, c->end_lsn);
      if (tx_->final_lsn < Committed()) {
        ++report_.skipped;  // every table holds it
      } else {
        if (oldest_pending_us_ == 0) oldest_pending_us_ = c->commit_time_us;
        pending_ = std::max(pending_, c->end_lsn);
      }
      tx_.reset();
      return arrow::Status::OK();
    }
    if (const auto* r = std::get_if<pgoutput::Relation>(&m)) {
      PgTarget* t = TargetOf(r->id);
      return t ? t->OnRelation(*r) : arrow::Status::OK();
    }
    if (const auto* lm = std::get_if<pgoutput::LogicalMessage>(&m)) {
      if (!lm->transactional && lm->prefix == marker_ && lm->lsn >= target_)
        caught_up_ = true;
      return arrow::Status::OK();
    }
    if (!tx_) return arrow::Status::OK();
    if (const auto* t = std::get_if<pgoutput::Truncate>(&m)) {
      for (uint32_t rel : t->relations)
        if (PgTarget* target = TargetOf(rel))
          ARROW_RETURN_NOT_OK(target->OnTruncate(lsn));
      return arrow::Status::OK();
    }
    uint32_t rel = 0;
    if (const auto* i = std::get_if<pgoutput::Insert>(&m)) rel = i->relation;
    if (const auto* u = std::get_if<pgoutput::Update>(&m)) rel = u->relation;
    if (const auto* d = std::get_if<pgoutput::Delete>(&m)) rel = d->relation;
    if (PgTarget* t = rel ? TargetOf(rel) : nullptr) return t->OnChange(m, lsn);
    return arrow::Status::OK();  // Origin, Type, another table
  }

  // How far the tables are behind the server.
  void Lag() {
    Lsn end = std::max(server_end_, received_);
    Lsn held = Committed();
    report_.lag_bytes = end > held ? static_cast<int64_t>(end - held) : 0;
    report_.lag_ms = oldest_pending_us_ > 0
                         ? std::max<int64_t>(0, NowMillis() - oldest_pending_us_ / 1000)
                         : 0;
  }

  const PipelineConfig& config_;
  const StreamOptions& options_;
  const PostgresCdcSourceConfig& cdc_;
  PgCatalog catalog_;
  std::vector<std::unique_ptr<PgTarget>> targets_;
  std::map<uint32_t, PgTarget*> by_relation_;
  std::unique_ptr<pgrepl::Connection> repl_;
  std::optional<pgoutput::Begin> tx_;  // the transaction being received
  Lsn received_ = 0;                   // what this stream has received whole
  Lsn server_end_ = 0;                 // the server's end of WAL, as last reported
  Lsn pending_ = 0;                    // the end of the last whole transaction received
  Lsn idle_end_ = 0;  // the server's end while the tables held everything (0: busy)
  int64_t oldest_pending_us_ = 0;  // the commit time of the first one not committed
  std::string marker_;             // catch_up: our message's prefix, and its LSN
  Lsn target_ = 0;
  bool caught_up_ = false;
  bool lost_ = false;  // the last failure was the connection's
  static constexpr int64_t kReconnectMs = 60000;
  static constexpr int kMaxReconnects = 10;
  static constexpr int kMaxStarts = 20;  // 0.25 + 0.5 + 1 + 2 + 16 x 4 s: about a minute
  int starts_ = 0;                       // times started again in this run
  static constexpr int64_t kSilenceMs = 30000;
  int64_t ping_ms_ = 0;  // when the server was asked to answer (0: not waiting)
  int reconnects_in_a_row_ = 0;
  int64_t commits_at_reconnect_ = -1;
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
std::string PgSnapshotResumeApp(const std::string& slot) {
  return "inlet.postgres/" + slot + "/snapshot_resume";
}
std::string PgPartialLsnApp(const std::string& slot) {
  return "inlet.postgres/" + slot + "/partial_lsn";
}
std::string PgPartialChangesApp(const std::string& slot) {
  return "inlet.postgres/" + slot + "/partial_changes";
}

arrow::Result<StreamReport> RunPostgresCdc(const PipelineConfig& config,
                                           const StreamOptions& options) {
  PgCdc cdc(config, options);
  return cdc.Run();
}

}  // namespace inlet::stream
