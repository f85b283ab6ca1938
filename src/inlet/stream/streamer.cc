#include "inlet/stream/streamer.h"

#include <arrow/builder.h>
#include <arrow/table.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <set>

#include "inlet/common/time.h"
#include "inlet/load/commit.h"
#include "inlet/load/maintenance.h"
#include "inlet/load/rows.h"
#include "inlet/load/strategy.h"
#include "inlet/source/debezium.h"
#include "inlet/source/json_rows.h"
#include "inlet/source/source.h"
#include "inlet/source/stream_source.h"
#include "inlet/status.h"
#include "inlet/stream/pg_cdc.h"
#include "inlet/table.h"

namespace inlet::stream {

namespace {
std::atomic<bool> g_signalled{false};
void OnSignal(int) { g_signalled.store(true); }
}  // namespace

bool Signalled() { return g_signalled.load(); }

load::CommitSpec StreamCommitSpec(const pipeline::DestinationConfig& destination,
                                  int64_t read_version,
                                  std::map<std::string, std::string> parameters) {
  load::CommitSpec spec;
  for (const auto& p : destination.partition_by) spec.partition_by.push_back(p.name);
  spec.sort_by = destination.sort_by;
  spec.sort_run_bytes = destination.sort_run_size;
  spec.properties = destination.properties;
  spec.merge_schema = true;
  spec.read_version = read_version;
  spec.operation = "STREAMING UPDATE";
  spec.merge_operation = "STREAMING MERGE";
  spec.parameters = std::move(parameters);
  return spec;
}

void CountMerge(const MergeResult& merged, StreamReport* report) {
  report->rows_inserted += merged.rows_inserted;
  report->rows_updated += merged.rows_updated;
  report->rows_deleted += merged.rows_deleted;
  report->rows_late += merged.late_discarded;
  report->rows_written += merged.rows_inserted + merged.rows_updated;
}

void MaintainAfterCommit(const std::string& pipeline,
                         const pipeline::DestinationConfig& destination, Table& table,
                         int64_t commits, StreamReport* report) {
  const auto& m = destination.maintenance;
  if (!m.any()) return;
  MaintenanceReport done;
  auto st = load::Maintain(table, m, commits, report->table_version, &done);
  if (!st.ok()) {
    ++report->maintenance_failures;
    std::cerr << "inlet stream: pipeline " << pipeline << ": maintenance of "
              << destination.path
              << " after the commit failed (the data is committed): " << st.message()
              << std::endl;
  } else if (!done.empty()) {
    ++report->maintenance_runs;
  }
}

namespace {

using pipeline::PipelineConfig;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The rows of messages that failed to decode, for the dead-letter table.
class DeadLetters {
 public:
  arrow::Status Add(const std::string& topic, const StreamMessage& m,
                    const std::string& error) {
    ARROW_RETURN_NOT_OK(topic_.Append(topic));
    ARROW_RETURN_NOT_OK(partition_.Append(m.partition));
    ARROW_RETURN_NOT_OK(offset_.Append(m.offset));
    ARROW_RETURN_NOT_OK(m.timestamp_ms >= 0 ? timestamp_.Append(m.timestamp_ms * 1000)
                                            : timestamp_.AppendNull());
    ARROW_RETURN_NOT_OK(m.key ? key_.Append(*m.key) : key_.AppendNull());
    ARROW_RETURN_NOT_OK(m.value ? value_.Append(*m.value) : value_.AppendNull());
    ARROW_RETURN_NOT_OK(error_.Append(error));
    ++rows_;
    return arrow::Status::OK();
  }
  int64_t rows() const { return rows_; }

  arrow::Result<std::shared_ptr<arrow::Table>> Finish(int64_t ingested_at_us) {
    FinishedColumns out;
    ARROW_RETURN_NOT_OK(out.Add(kTopicColumn, &topic_));
    ARROW_RETURN_NOT_OK(out.Add(kPartitionColumn, &partition_));
    ARROW_RETURN_NOT_OK(out.Add(kOffsetColumn, &offset_));
    ARROW_RETURN_NOT_OK(out.Add(kTimestampColumn, &timestamp_));
    ARROW_RETURN_NOT_OK(out.Add(kKeyColumn, &key_));
    ARROW_RETURN_NOT_OK(out.Add("value", &value_));
    ARROW_RETURN_NOT_OK(out.Add("error", &error_));
    ARROW_RETURN_NOT_OK(out.AddIngestedAt(ingested_at_us, rows_));
    auto t = out.Table(rows_);
    rows_ = 0;
    return t;
  }

 private:
  arrow::StringBuilder topic_, error_;
  arrow::Int32Builder partition_;
  arrow::Int64Builder offset_;
  arrow::TimestampBuilder timestamp_{arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                                     arrow::default_memory_pool()};
  arrow::BinaryBuilder key_, value_;
  int64_t rows_ = 0;
};

class Streamer {
 public:
  Streamer(const PipelineConfig& config, const StreamOptions& options)
      : config_(config),
        options_(options),
        kafka_(std::get<KafkaSourceConfig>(config.source)),
        strategy_(load::Strategy::Make(config.strategy, config.destination.keys)) {
    report_.pipeline = config.name;
    report_.table = config.destination.path;
    report_.topic = kafka_.topic;
    cdc_ = config.strategy.type == load::StrategyType::kCdc;
    if (cdc_) {
      changes_ = load::ChangeStrategyOptions(
          config.strategy, kafka_.decoding.format == "debezium" ? "__op" : "op");
    }
  }

  ~Streamer() {
    // A stream that failed commits nothing more, not even from the revoke on close.
    closing_ = true;
  }

  arrow::Result<StreamReport> Run() {
    int64_t started = SteadyMs();
    if (kafka_.decoding.format == "debezium") {
      decoder_.emplace("",
                       DebeziumOptions{kafka_.decoding.decimals, kafka_.decoding.schema});
    }
    ARROW_ASSIGN_OR_RAISE(table_, pipeline::OpenDestination(config_.destination));
    ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
    rows_.emplace(RowOptions(snap ? snap->schema() : nullptr));
    if (!config_.dead_letters.path.empty()) {
      ARROW_ASSIGN_OR_RAISE(dead_table_,
                            Table::OpenOrCreate(config_.dead_letters.path,
                                                pipeline::SideTableStorage(
                                                    config_, config_.dead_letters.path)));
    }
    StreamSource::Listener listener;
    listener.on_assign = [this](const std::vector<int32_t>& partitions) {
      return Assign(partitions);
    };
    listener.on_revoke = [this] { Revoke(); };
    ARROW_ASSIGN_OR_RAISE(
        source_, OpenStreamSource(config_.name, config_.source, std::move(listener)));
    int64_t last_message = SteadyMs();
    report_.status = StreamStatus::kStopped;
    auto handle = [this](const StreamMessage& m) { return HandleAndFlush(m); };
    while (Healthy()) {
      if (Signalled() || (options_.stop && options_.stop->load())) break;
      poll_started_ = SteadyMs();
      decoding_since_ = -1;
      auto n = source_->Poll(100, kPollBatch, handle);
      int64_t now = SteadyMs();
      // Until the first message the poll waited; from then on it decoded.
      if (decoding_since_ < 0) {
        report_.wait_ms += now - poll_started_;
      } else {
        report_.decode_ms += now - decoding_since_;
      }
      ARROW_RETURN_NOT_OK(n.status());
      if (*n > 0) last_message = now;
      if (!Healthy()) break;
      if (Buffered() > 0 &&
          now - first_buffered_ms_ >= config_.processing.flush_interval_ms) {
        ARROW_RETURN_NOT_OK(Flush());
      }
      if (options_.on_progress &&
          now - last_progress_ms_ >= options_.progress_interval_ms) {
        last_progress_ms_ = now;
        Progress(started);
      }
      // Idle time counts only while partitions are assigned (a consumer waiting for the
      // group to rebalance is not idle).
      if (owned_.empty()) last_message = now;
      if (options_.idle_exit_ms > 0 && now - last_message >= options_.idle_exit_ms) {
        report_.status = StreamStatus::kIdle;
        break;
      }
    }
    ARROW_RETURN_NOT_OK(Failure());
    ARROW_RETURN_NOT_OK(Flush());
    closing_ = true;
    source_->Close();
    ARROW_RETURN_NOT_OK(Failure());
    report_.duration_ms = SteadyMs() - started;
    return report_;
  }

 private:
  // The first failure of the stream's callbacks or of the source, if any.
  arrow::Status Failure() const {
    if (!fatal_.ok()) return fatal_;
    return source_ ? source_->fatal() : arrow::Status::OK();
  }
  bool Healthy() const { return Failure().ok(); }

  // The report so far, with each owned partition's lag, to on_progress.
  void Progress(int64_t started) {
    StreamReport now = report_;
    now.status = StreamStatus::kRunning;
    now.duration_ms = SteadyMs() - started;
    for (int32_t p : owned_) {
      if (auto lag = source_->Lag(p, committed_[p])) now.lag[p] = *lag;
    }
    options_.on_progress(now);
  }

  // Declared columns, and the existing table's: messages must fit the table's types.
  JsonRowOptions RowOptions(const std::shared_ptr<arrow::Schema>& table) const {
    JsonRowOptions o;
    o.declared = kafka_.decoding.schema;
    for (const auto& f : table ? table->fields() : arrow::FieldVector{}) {
      bool declared = false;
      for (const auto& [name, type] : o.declared)
        declared = declared || name == f->name();
      bool metadata =
          f->name().rfind("_kafka_", 0) == 0 || f->name() == kIngestedAtColumn;
      bool derived = false;
      for (const auto& p : config_.destination.partition_by)
        derived = derived || (p.name == f->name() && !p.transform.empty());
      if (declared || metadata || derived || !ReadableFromJson(*f->type())) continue;
      o.declared.emplace_back(f->name(), f->type());
    }
    o.include_key = kafka_.include_key;
    o.include_headers = kafka_.include_headers;
    // An upsert or change that lacks a field is a partial update: the table's value
    // stays.
    if (Upserts()) o.given_prefix = kGivenPrefix;
    const MessageSchema& ms = kafka_.message_schema;
    o.required = ms.required;
    o.closed = ms.closed;
    if (cdc_ || !ms.enums.empty()) {
      o.check = [this](const MessageFields& f) {
        ARROW_RETURN_NOT_OK(CheckEnums(kafka_.message_schema, f));
        return cdc_ ? CheckChange(f) : arrow::Status::OK();
      };
    }
    return o;
  }

  // Whether batches are merged by key (merge, cdc): a message lacking a field keeps the
  // table's value.
  bool Upserts() const {
    return config_.strategy.type == load::StrategyType::kMerge ||
           config_.strategy.type == load::StrategyType::kCdc;
  }

  // The given flags of a batch's rows; a partition column derived from a column some
  // message lacked is not given in those rows either.
  std::map<std::string, std::string> Given(const arrow::Schema& rows) const {
    auto flags = GivenFlags(rows);
    for (const auto& d : pipeline::Derived(config_.destination)) {
      if (auto f = flags.find(d.source); f != flags.end()) flags[d.name] = f->second;
    }
    return flags;
  }

  // A change event must name a known operation, and (but for a truncate) its key and
  // sequence values: one that does not is refused alone, not with its batch.
  arrow::Status CheckChange(const MessageFields& f) const {
    const std::string& column = changes_.operation_column;
    auto op = f.String(column);
    if (!op)
      return arrow::Status::Invalid("the operation field '", column,
                                    "' is missing, null or not a string");
    ARROW_ASSIGN_OR_RAISE(load::ChangeOp change, load::OperationOf(changes_, *op));
    if (change != load::ChangeOp::kTruncate) {
      for (const auto& k : config_.destination.keys) {
        if (!f.Has(k))
          return arrow::Status::Invalid("the key field '", k, "' is missing or null");
      }
    }
    for (const auto& name : changes_.sequence_by) {
      if (name.rfind("_kafka_", 0) == 0) continue;  // a metadata column: always set
      if (!f.Has(name))
        return arrow::Status::Invalid("the sequence field '", name,
                                      "' is missing or null");
    }
    return arrow::Status::OK();
  }

  int64_t Buffered() const { return rows_->rows() + dead_.rows(); }

  // Assigned partitions resume after the offset the table holds for each.
  arrow::Result<std::map<int32_t, std::optional<int64_t>>> Assign(
      const std::vector<int32_t>& partitions) {
    ++report_.rebalances;
    ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
    owned_.clear();
    std::map<int32_t, std::optional<int64_t>> resume;
    for (int32_t p : partitions) {
      std::optional<int64_t> v;
      if (snap) v = snap->AppVersion(source_->PositionApp(p));
      committed_[p] = v.value_or(-1);
      if (v) resume[p] = *v + 1;
      owned_.insert(p);
    }
    return resume;
  }

  // Revoked: what is held for these partitions is committed while they are still ours (a
  // commit that loses them to another consumer is refused by the offset check).
  void Revoke() {
    ++report_.rebalances;
    if (!closing_ && Healthy()) {
      auto st = Flush();
      if (!st.ok()) fatal_ = st;
    }
    owned_.clear();
  }

  // A message, then a commit when the buffer is full.
  arrow::Status HandleAndFlush(const StreamMessage& m) {
    if (decoding_since_ < 0) {
      decoding_since_ = SteadyMs();
      report_.wait_ms += decoding_since_ - poll_started_;
    }
    if (!Healthy()) return arrow::Status::OK();  // the loop stops with the failure
    ARROW_RETURN_NOT_OK(Handle(m));
    if (Healthy() && (Buffered() >= config_.processing.flush_rows ||
                      bytes_ >= config_.processing.flush_bytes)) {
      report_.decode_ms += SteadyMs() - decoding_since_;
      ARROW_RETURN_NOT_OK(Flush());
      decoding_since_ = SteadyMs();
    }
    return arrow::Status::OK();
  }

  arrow::Status Handle(const StreamMessage& m) {
    ++report_.messages;
    int32_t p = m.partition;
    auto held = buffered_last_.find(p);
    if (!owned_.count(p) || m.offset <= committed_[p] ||
        (held != buffered_last_.end() && m.offset <= held->second)) {
      ++report_.skipped;  // from before a rebalance, or already in the table
      return arrow::Status::OK();
    }
    MessageMeta meta;
    meta.topic = kafka_.topic;
    meta.partition = p;
    meta.offset = m.offset;
    meta.timestamp_ms = m.timestamp_ms;
    meta.key = m.key;
    meta.headers_json = m.headers_json;
    std::string flat;
    auto text = RowText(m, &flat);
    if (text.ok() && !*text) {
      ++report_.tombstones;
      buffered_last_[p] = m.offset;
      return arrow::Status::OK();
    }
    if (Buffered() == 0) first_buffered_ms_ = SteadyMs();
    arrow::Status st = text.ok() ? rows_->Append(**text, meta) : text.status();
    if (!st.ok()) {
      std::string where =
          kafka_.topic + "/" + std::to_string(p) + "@" + std::to_string(m.offset);
      if (!dead_table_) {
        return arrow::Status::Invalid(
            "pipeline ", config_.name, ": message ", where, ": ", st.message(),
            " (set dead_letters.path to keep such messages and go on)");
      }
      ARROW_RETURN_NOT_OK(dead_.Add(kafka_.topic, m, st.message()));
    }
    buffered_last_[p] = m.offset;
    bytes_ += m.value ? static_cast<int64_t>(m.value->size()) : 0;
    return arrow::Status::OK();
  }

  // The JSON object a message's row is read from: its value, or a Debezium event
  // flattened into *flat. Nullopt for a tombstone: a change stream's null message
  // (Kafka's compaction marker after a delete), which carries nothing to apply.
  arrow::Result<std::optional<std::string_view>> RowText(const StreamMessage& m,
                                                         std::string* flat) {
    if (!m.value) {
      if (cdc_ || decoder_) return std::nullopt;
      return arrow::Status::Invalid("the message has no value");
    }
    if (!decoder_) return *m.value;
    ARROW_ASSIGN_OR_RAISE(auto decoded, decoder_->Flatten(*m.value, m.offset));
    if (!decoded) return std::nullopt;
    *flat = std::move(*decoded);
    ARROW_RETURN_NOT_OK(DeclareLearnedTypes());
    return std::string_view(*flat);
  }

  // Column types the events' schema parts declared since the last message.
  arrow::Status DeclareLearnedTypes() {
    const auto& types = decoder_->types();
    for (size_t i = declared_types_; i < types.size(); ++i) {
      ARROW_RETURN_NOT_OK(rows_->Declare(types[i].first, types[i].second));
    }
    declared_types_ = types.size();
    return arrow::Status::OK();
  }

  // What a stream's commit carries beside its rows: every partition's last offset.
  load::CommitSpec Spec(const std::map<int32_t, int64_t>& last,
                        int64_t read_version) const {
    auto spec = StreamCommitSpec(
        config_.destination, read_version,
        {{"pipeline", config_.name}, {"topic", kafka_.topic}, {"outputMode", "Append"}});
    for (const auto& [p, offset] : last)
      spec.app_states[source_->PositionApp(p)].version = offset;
    return spec;
  }

  // Commits what is buffered: dead letters first, then the rows with every partition's
  // last offset, after checking that the table's offsets are still where this consumer
  // left them.
  arrow::Status Flush() {
    if (Buffered() == 0) return arrow::Status::OK();
    struct Timer {  // adds the time spent here to commit_ms, however Flush returns
      int64_t started;
      int64_t* total;
      ~Timer() { *total += SteadyMs() - started; }
    } timer{SteadyMs(), &report_.commit_ms};
    int64_t now_us = NowMillis() * 1000;
    ARROW_ASSIGN_OR_RAISE(auto rows, rows_->Finish(now_us));
    ARROW_ASSIGN_OR_RAISE(auto dead, dead_.Finish(now_us));
    std::map<int32_t, int64_t> last = std::move(buffered_last_);
    buffered_last_.clear();
    bytes_ = 0;
    if (!config_.destination.partition_by.empty() && rows->num_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(
          rows, load::AddDerivedColumns(rows, pipeline::Derived(config_.destination)));
    }
    // Merges need rows; a batch of dead letters and tombstones only records its offsets.
    load::TableChange change;
    if (rows->num_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(rows,
                            strategy_->Prepare(rows, {}, changes_.operation_column));
      change = strategy_->Change(load::RunContext{}, nullptr);
      if (change.merge) change.merge_options.given_flags = Given(*rows->schema());
    }
    MergeResult committed;
    auto attempt = [&]() -> arrow::Result<MergeResult> {
      ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
      for (const auto& [p, offset] : last) {
        int64_t recorded =
            snap ? snap->AppVersion(source_->PositionApp(p)).value_or(-1) : -1;
        if (recorded != committed_[p]) {
          return arrow::Status::Cancelled(
              "partition ", p, " was committed by another consumer up to offset ",
              recorded);
        }
      }
      if (dead->num_rows() > 0) ARROW_RETURN_NOT_OK(WriteDeadLetters(dead));
      return load::CommitLoad(*table_, rows, change,
                              Spec(last, snap ? snap->version() : -1));
    };
    auto result = RetryOnConflict(config_.processing.max_retries + 20, attempt);
    if (!result.ok() && result.status().IsCancelled()) {
      // Another consumer owns (and has committed) these offsets now: this batch is
      // theirs.
      ++report_.batches_discarded;
      ARROW_RETURN_NOT_OK(Reseek(last));
      return arrow::Status::OK();
    }
    if (!result.ok()) {
      return result.status().WithMessage("pipeline ", config_.name, ": cannot commit to ",
                                         config_.destination.path, ": ",
                                         result.status().message());
    }
    if (change.merge) {
      CountMerge(*result, &report_);
    } else {
      report_.rows_written += rows->num_rows();
    }
    report_.dead_letters += dead->num_rows();
    report_.table_version = result->commit.version;
    ++report_.commits;
    for (const auto& [p, offset] : last) committed_[p] = offset;
    std::map<int32_t, int64_t> owned_last;
    for (const auto& [p, offset] : last) {
      if (owned_.count(p)) owned_last[p] = offset;
    }
    source_->Committed(owned_last);
    Maintain();
    return arrow::Status::OK();
  }

  // destination.maintenance, counting this stream's commits as runs (optimize every N-th
  // commit, ...). A failure is reported and the stream goes on: its data is committed.
  void Maintain() {
    MaintainAfterCommit(config_.name, config_.destination, *table_, report_.commits,
                        &report_);
  }

  // Dead letters go to their table with the same per-partition offsets: a batch replayed
  // after a crash between the two commits does not add them twice.
  arrow::Status WriteDeadLetters(std::shared_ptr<arrow::Table> dead) {
    ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*dead_table_));
    std::vector<int64_t> keep;
    std::map<int32_t, int64_t> last;
    auto parts = std::static_pointer_cast<arrow::Int32Array>(
        dead->GetColumnByName(kPartitionColumn)->chunk(0));
    auto offsets = std::static_pointer_cast<arrow::Int64Array>(
        dead->GetColumnByName(kOffsetColumn)->chunk(0));
    for (int64_t i = 0; i < dead->num_rows(); ++i) {
      int64_t recorded =
          snap ? snap->AppVersion(source_->PositionApp(parts->Value(i))).value_or(-1)
               : -1;
      if (offsets->Value(i) <= recorded) continue;
      keep.push_back(i);
      last[parts->Value(i)] = offsets->Value(i);
    }
    if (keep.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(dead, TakeRows(dead, keep));
    WriteOptions w;
    for (const auto& [p, offset] : last)
      w.app_states[source_->PositionApp(p)].version = offset;
    w.merge_schema = true;
    w.operation = "STREAMING UPDATE";
    w.operation_parameters = {
        {"pipeline", config_.name}, {"topic", kafka_.topic}, {"deadLetters", "true"}};
    auto st =
        RetryOnConflict(config_.processing.max_retries + 20, [&]() {
          return dead_table_->Write(std::make_shared<arrow::TableBatchReader>(dead), w);
        }).status();
    if (!st.ok())
      return st.WithMessage("cannot write dead letters to ", config_.dead_letters.path,
                            ": ", st.message());
    return arrow::Status::OK();
  }

  // After losing a batch: read again from what the table holds.
  arrow::Status Reseek(const std::map<int32_t, int64_t>& partitions) {
    ARROW_ASSIGN_OR_RAISE(auto snap, load::LatestSnapshot(*table_));
    std::map<int32_t, int64_t> next;
    for (const auto& [p, unused] : partitions) {
      int64_t recorded =
          snap ? snap->AppVersion(source_->PositionApp(p)).value_or(-1) : -1;
      committed_[p] = recorded;
      if (owned_.count(p)) next[p] = recorded + 1;
    }
    source_->Seek(next);
    return arrow::Status::OK();
  }

  const PipelineConfig& config_;
  const StreamOptions& options_;
  const KafkaSourceConfig& kafka_;
  std::unique_ptr<load::Strategy> strategy_;
  StreamReport report_;
  std::shared_ptr<Table> table_;
  std::shared_ptr<Table> dead_table_;
  static constexpr size_t kPollBatch = 1000;
  std::optional<JsonRows> rows_;
  std::optional<DebeziumDecoder> decoder_;  // format debezium
  size_t declared_types_ = 0;               // of decoder_->types(), given to rows_
  bool cdc_ = false;
  load::ChangeOptions changes_;  // cdc: how messages are checked
  DeadLetters dead_;
  std::set<int32_t> owned_;
  std::map<int32_t, int64_t>
      committed_;  // the table's last offset per partition (-1: none)
  std::map<int32_t, int64_t> buffered_last_;  // the last buffered offset per partition
  int64_t bytes_ = 0;
  int64_t first_buffered_ms_ = 0;
  int64_t last_progress_ms_ = 0;
  int64_t poll_started_ = 0;
  int64_t decoding_since_ =
      -1;  // when the current poll's first message came (-1: none yet)
  bool closing_ = false;
  arrow::Status fatal_;  // a failure inside the source's callbacks
  // Last: destroyed first, so that a revoke its destruction calls back finds the rest.
  std::unique_ptr<StreamSource> source_;
};

}  // namespace

arrow::Result<StreamReport> RunStream(const PipelineConfig& config,
                                      const StreamOptions& options) {
  if (!IsStreamSource(config.source)) {
    return arrow::Status::Invalid(
        "pipeline ", config.name,
        ": inlet stream needs a kafka or postgres_cdc source (it has ",
        SourceKind(config.source), "; use inlet run)");
  }
  if (options.handle_signals) {
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  if (std::holds_alternative<PostgresCdcSourceConfig>(config.source))
    return RunPostgresCdc(config, options);
  if (options.catch_up)
    return arrow::Status::Invalid("pipeline ", config.name,
                                  ": --catch-up applies to postgres_cdc sources (a kafka "
                                  "stream stops when idle: --idle-exit)");
  Streamer s(config, options);
  return s.Run();
}

}  // namespace inlet::stream
