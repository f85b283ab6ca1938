#include "inlet/stream/streamer.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <set>

#include <arrow/builder.h>
#include <arrow/table.h>

#include "inlet/common/retry.h"
#include "inlet/common/time.h"
#include "inlet/load/rows.h"
#include "inlet/pipeline/runner.h"
#include "inlet/source/debezium.h"
#include "inlet/status.h"
#include "inlet/stream/json_rows.h"
#include "inlet/table.h"

namespace inlet::stream {

namespace {

using pipeline::CurrentSnapshot;
using pipeline::PipelineConfig;

std::atomic<bool> g_signalled{false};

void OnSignal(int) { g_signalled.store(true); }

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// librdkafka's messages may quote a value: a secret in them is masked.
std::string Masked(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at; (at = text.find(secret)) != std::string::npos;) text.replace(at, secret.size(), "***");
  return text;
}

// The rows of messages that failed to decode, for the dead-letter table.
class DeadLetters {
 public:
  arrow::Status Add(const std::string& topic, int32_t partition, int64_t offset, int64_t timestamp_ms,
                    const rd_kafka_message_t* m, const std::string& error) {
    ARROW_RETURN_NOT_OK(topic_.Append(topic));
    ARROW_RETURN_NOT_OK(partition_.Append(partition));
    ARROW_RETURN_NOT_OK(offset_.Append(offset));
    ARROW_RETURN_NOT_OK(timestamp_ms >= 0 ? timestamp_.Append(timestamp_ms * 1000) : timestamp_.AppendNull());
    if (m->key) {
      ARROW_RETURN_NOT_OK(key_.Append(static_cast<const uint8_t*>(m->key), static_cast<int32_t>(m->key_len)));
    } else {
      ARROW_RETURN_NOT_OK(key_.AppendNull());
    }
    if (m->payload) {
      ARROW_RETURN_NOT_OK(value_.Append(static_cast<const uint8_t*>(m->payload), static_cast<int32_t>(m->len)));
    } else {
      ARROW_RETURN_NOT_OK(value_.AppendNull());
    }
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
  arrow::TimestampBuilder timestamp_{arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), arrow::default_memory_pool()};
  arrow::BinaryBuilder key_, value_;
  int64_t rows_ = 0;
};

class Streamer {
 public:
  Streamer(const PipelineConfig& c, const StreamOptions& o) : c_(c), o_(o) {
    r_.pipeline = c.name;
    r_.table = c.destination.path;
    r_.topic = c.source.kafka.topic;
    cdc_ = c.strategy.type == pipeline::StrategyType::kCdc;
    if (cdc_) changes_ = pipeline::ChangeStrategyOptions(c, c.source.format == "debezium" ? "__op" : "op");
  }

  ~Streamer() {
    // A stream that failed commits nothing more, not even from the revoke on close.
    closing_ = true;
    if (queue_) rd_kafka_queue_destroy(queue_);
    if (rk_) rd_kafka_destroy(rk_);
  }

  arrow::Result<StreamReport> Run() {
    int64_t started = SteadyMs();
    if (c_.source.format == "debezium") {
      decoder_.emplace("", DebeziumOptions{c_.source.decimals, c_.source.schema});
    }
    ARROW_ASSIGN_OR_RAISE(table_, Table::OpenOrCreate(c_.destination.path, c_.destination.storage));
    ARROW_ASSIGN_OR_RAISE(auto snap, CurrentSnapshot(*table_));
    rows_.emplace(RowOptions(snap ? snap->schema() : nullptr));
    if (!c_.dead_letters.path.empty()) {
      ARROW_ASSIGN_OR_RAISE(dead_table_, Table::OpenOrCreate(c_.dead_letters.path,
                                                              pipeline::SideTableStorage(c_, c_.dead_letters.path)));
    }
    ARROW_RETURN_NOT_OK(Connect());
    int64_t last_message = SteadyMs();
    r_.status = "stopped";
    // Messages come in batches (one queue lock per batch, not per message); rebalances are
    // served inside the call.
    std::vector<rd_kafka_message_t*> batch(kPollBatch);
    while (fatal_.ok()) {
      if (g_signalled.load() || (o_.stop && o_.stop->load())) break;
      int64_t polled = SteadyMs();
      ssize_t n = rd_kafka_consume_batch_queue(queue_, 100, batch.data(), batch.size());
      int64_t now = SteadyMs();
      r_.wait_ms += now - polled;
      arrow::Status st;
      for (ssize_t i = 0; i < n; ++i) {
        if (st.ok() && fatal_.ok()) st = Handle(batch[i]);
        rd_kafka_message_destroy(batch[i]);
        if (st.ok() && fatal_.ok() && (Buffered() >= c_.processing.flush_rows || bytes_ >= c_.processing.flush_bytes)) {
          r_.decode_ms += SteadyMs() - now;
          st = Flush();
          now = SteadyMs();
        }
      }
      ARROW_RETURN_NOT_OK(st);
      r_.decode_ms += SteadyMs() - now;
      now = SteadyMs();
      if (n > 0) last_message = now;
      if (!fatal_.ok()) break;
      if (Buffered() > 0 && now - first_buffered_ms_ >= c_.processing.flush_interval_ms) {
        ARROW_RETURN_NOT_OK(Flush());
      }
      if (o_.on_progress && now - last_progress_ms_ >= o_.progress_interval_ms) {
        last_progress_ms_ = now;
        Progress(started);
      }
      // Idle time counts only while partitions are assigned (a consumer waiting for the
      // group to rebalance is not idle).
      if (owned_.empty()) last_message = now;
      if (o_.idle_exit_ms > 0 && now - last_message >= o_.idle_exit_ms) {
        r_.status = "idle";
        break;
      }
    }
    ARROW_RETURN_NOT_OK(fatal_);
    ARROW_RETURN_NOT_OK(Flush());
    closing_ = true;
    rd_kafka_consumer_close(rk_);
    ARROW_RETURN_NOT_OK(fatal_);
    r_.duration_ms = SteadyMs() - started;
    return r_;
  }

 private:
  // The report so far, with each owned partition's lag, to on_progress.
  void Progress(int64_t started) {
    StreamReport now = r_;
    now.status = "running";
    now.duration_ms = SteadyMs() - started;
    for (int32_t p : owned_) {
      int64_t low = 0, high = 0;
      if (rd_kafka_get_watermark_offsets(rk_, c_.source.kafka.topic.c_str(), p, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      int64_t next = committed_[p] >= 0 ? committed_[p] + 1 : std::max<int64_t>(low, 0);
      now.lag[p] = std::max<int64_t>(0, high - next);
    }
    o_.on_progress(now);
  }

  // Declared columns, and the existing table's: messages must fit the table's types.
  JsonRowOptions RowOptions(const std::shared_ptr<arrow::Schema>& table) const {
    JsonRowOptions o;
    o.declared = c_.source.schema;
    for (const auto& f : table ? table->fields() : arrow::FieldVector{}) {
      bool declared = false;
      for (const auto& [name, type] : o.declared) declared = declared || name == f->name();
      bool metadata = f->name().rfind("_kafka_", 0) == 0 || f->name() == kIngestedAtColumn;
      bool derived = false;
      for (const auto& p : c_.destination.partition_by) derived = derived || (p.name == f->name() && !p.transform.empty());
      if (declared || metadata || derived || !ReadableFromJson(*f->type())) continue;
      o.declared.emplace_back(f->name(), f->type());
    }
    o.include_key = c_.source.kafka.include_key;
    o.include_headers = c_.source.kafka.include_headers;
    const MessageSchema& ms = c_.source.kafka.message_schema;
    o.required = ms.required;
    o.closed = ms.closed;
    if (cdc_ || !ms.enums.empty()) {
      o.check = [this](const MessageFields& f) {
        ARROW_RETURN_NOT_OK(CheckEnums(f));
        return cdc_ ? CheckChange(f) : arrow::Status::OK();
      };
    }
    return o;
  }

  // The schema file's enums.
  arrow::Status CheckEnums(const MessageFields& f) const {
    for (const auto& [name, allowed] : c_.source.kafka.message_schema.enums) {
      auto value = f.String(name);
      if (value && !allowed.count(std::string(*value))) {
        return arrow::Status::Invalid("field '", name, "': '", *value, "' is not one of the schema's enum values");
      }
    }
    return arrow::Status::OK();
  }

  // A change event must name a known operation, and (but for a truncate) its key and
  // sequence values: one that does not is refused alone, not with its batch.
  arrow::Status CheckChange(const MessageFields& f) const {
    const std::string& column = changes_.operation_column;
    auto op = f.String(column);
    if (!op) return arrow::Status::Invalid("the operation field '", column, "' is missing, null or not a string");
    ARROW_ASSIGN_OR_RAISE(load::ChangeOp change, load::OperationOf(changes_, *op));
    if (change != load::ChangeOp::kTruncate) {
      for (const auto& k : c_.destination.keys) {
        if (!f.Has(k)) return arrow::Status::Invalid("the key field '", k, "' is missing or null");
      }
    }
    for (const auto& name : changes_.sequence_by) {
      if (name.rfind("_kafka_", 0) == 0) continue;  // a metadata column: always set
      if (!f.Has(name)) return arrow::Status::Invalid("the sequence field '", name, "' is missing or null");
    }
    return arrow::Status::OK();
  }

  int64_t Buffered() const { return rows_->rows() + dead_.rows(); }

  arrow::Status Connect() {
    const auto& k = c_.source.kafka;
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::vector<std::pair<std::string, std::string>> settings = {
        {"bootstrap.servers", k.brokers}, {"group.id", k.group}, {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"}, {"auto.offset.reset", k.start},
        {"enable.partition.eof", "false"}, {"client.id", "inlet-" + c_.name}};
    for (const auto& [name, value] : k.properties) settings.emplace_back(name, value);
    for (const auto& [name, value] : settings) {
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return arrow::Status::Invalid("pipeline ", c_.name, ": kafka setting ", name, ": ", Masked(err, value));
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &Streamer::OnRebalance);
    rd_kafka_conf_set_error_cb(conf, &Streamer::OnError);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      return arrow::Status::Invalid("pipeline ", c_.name, ": cannot create the kafka consumer: ", err);
    }
    rd_kafka_poll_set_consumer(rk_);
    queue_ = rd_kafka_queue_get_consumer(rk_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, k.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) return arrow::Status::IOError("pipeline ", c_.name, ": cannot subscribe to ", k.topic, ": ", rd_kafka_err2str(e));
    return arrow::Status::OK();
  }

  // librdkafka retries broker outages by itself; refused credentials and fatal errors stop
  // the stream (else it would wait for partitions forever).
  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Streamer*>(opaque);
    auto e = static_cast<rd_kafka_resp_err_t>(err);
    bool fatal = e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR__FATAL ||
                 e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
    if (!fatal || !self->fatal_.ok()) return;
    self->fatal_ = arrow::Status::IOError("pipeline ", self->c_.name, ": kafka: ", self->MaskSecrets(reason));
  }

  // The values of secret-looking librdkafka properties, masked in a message.
  std::string MaskSecrets(std::string text) const {
    for (const auto& [name, value] : c_.source.kafka.properties) {
      for (const char* word : {"password", "secret", "token", "key", "jaas"}) {
        if (name.find(word) != std::string::npos) text = Masked(std::move(text), value);
      }
    }
    return text;
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Streamer*>(opaque);
    ++self->r_.rebalances;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      auto st = self->Assign(parts);
      if (!st.ok()) {
        self->fatal_ = st;
        rd_kafka_assign(rk, nullptr);
      }
    } else {
      // Revoked: what is held for these partitions is committed while they are still ours
      // (a commit that loses them to another consumer is refused by the offset check).
      if (!self->closing_ && self->fatal_.ok()) {
        auto st = self->Flush();
        if (!st.ok()) self->fatal_ = st;
      }
      self->owned_.clear();
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Seeks every assigned partition to the offset after the table's record of it.
  arrow::Status Assign(rd_kafka_topic_partition_list_t* parts) {
    ARROW_ASSIGN_OR_RAISE(auto snap, CurrentSnapshot(*table_));
    owned_.clear();
    for (int i = 0; i < parts->cnt; ++i) {
      auto& tp = parts->elems[i];
      std::optional<int64_t> v;
      if (snap) v = snap->GetAppState(OffsetAppId(tp.topic, tp.partition)).version;
      committed_[tp.partition] = v.value_or(-1);
      tp.offset = v ? *v + 1 : (c_.source.kafka.start == "latest" ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING);
      owned_.insert(tp.partition);
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk_, parts);
    if (e) return arrow::Status::IOError("cannot assign partitions: ", rd_kafka_err2str(e));
    return arrow::Status::OK();
  }

  arrow::Status Handle(const rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return arrow::Status::OK();
      std::string what = rd_kafka_message_errstr(m);
      // Broker outages and the like are retried by librdkafka; errors about the topic or
      // the configuration are not.
      if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || m->err == RD_KAFKA_RESP_ERR__FATAL ||
          m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || m->err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        return arrow::Status::IOError("pipeline ", c_.name, ": topic ", c_.source.kafka.topic, ": ", what);
      }
      return arrow::Status::OK();
    }
    ++r_.messages;
    int32_t p = m->partition;
    auto held = buffered_last_.find(p);
    if (!owned_.count(p) || m->offset <= committed_[p] || (held != buffered_last_.end() && m->offset <= held->second)) {
      ++r_.skipped;  // from before a rebalance, or already in the table
      return arrow::Status::OK();
    }
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
    MessageMeta meta;
    meta.topic = c_.source.kafka.topic;
    meta.partition = p;
    meta.offset = m->offset;
    meta.timestamp_ms = ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
    if (m->key) meta.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    if (c_.source.kafka.include_headers) meta.headers_json = HeadersJson(m);
    std::string flat;
    auto text = RowText(m, &flat);
    if (text.ok() && !*text) {
      ++r_.tombstones;
      buffered_last_[p] = m->offset;
      return arrow::Status::OK();
    }
    if (Buffered() == 0) first_buffered_ms_ = SteadyMs();
    arrow::Status st = text.ok() ? rows_->Append(**text, meta) : text.status();
    if (!st.ok()) {
      std::string where = c_.source.kafka.topic + "/" + std::to_string(p) + "@" + std::to_string(m->offset);
      if (!dead_table_) {
        return arrow::Status::Invalid("pipeline ", c_.name, ": message ", where, ": ", st.message(),
                                      " (set dead_letters.path to keep such messages and go on)");
      }
      ARROW_RETURN_NOT_OK(dead_.Add(c_.source.kafka.topic, p, m->offset, meta.timestamp_ms, m, st.message()));
    }
    buffered_last_[p] = m->offset;
    bytes_ += static_cast<int64_t>(m->len);
    return arrow::Status::OK();
  }

  // The JSON object a message's row is read from: its value, or a Debezium event flattened
  // into *flat. Nullopt for a tombstone: a change stream's null message (Kafka's compaction
  // marker after a delete), which carries nothing to apply.
  arrow::Result<std::optional<std::string_view>> RowText(const rd_kafka_message_t* m, std::string* flat) {
    if (!m->payload) {
      if (cdc_ || decoder_) return std::nullopt;
      return arrow::Status::Invalid("the message has no value");
    }
    std::string_view value(static_cast<const char*>(m->payload), m->len);
    if (!decoder_) return value;
    ARROW_ASSIGN_OR_RAISE(auto decoded, decoder_->Flatten(value, m->offset));
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

  static std::string HeadersJson(const rd_kafka_message_t* m) {
    rd_kafka_headers_t* hdrs = nullptr;
    Json out = Json::object();
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        out[name] = value ? Json(std::string(static_cast<const char*>(value), size)) : Json(nullptr);
      }
    }
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
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
    } timer{SteadyMs(), &r_.commit_ms};
    int64_t now_us = NowMillis() * 1000;
    ARROW_ASSIGN_OR_RAISE(auto rows, rows_->Finish(now_us));
    ARROW_ASSIGN_OR_RAISE(auto dead, dead_.Finish(now_us));
    std::map<int32_t, int64_t> last = std::move(buffered_last_);
    buffered_last_.clear();
    bytes_ = 0;
    if (!c_.destination.partition_by.empty() && rows->num_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(rows, load::AddDerivedColumns(rows, pipeline::Derived(c_.destination)));
    }
    // Merges need rows; a batch of dead letters and tombstones only records its offsets.
    bool merge = rows->num_rows() > 0 && c_.strategy.type != pipeline::StrategyType::kAppend;
    if (merge && cdc_) {
      ARROW_ASSIGN_OR_RAISE(rows, load::MarkChanges(rows, changes_, {}));
    }
    MergeResult merged;
    const std::string& topic = c_.source.kafka.topic;
    auto attempt = [&]() -> arrow::Result<CommitResult> {
      ARROW_ASSIGN_OR_RAISE(auto snap, CurrentSnapshot(*table_));
      for (const auto& [p, offset] : last) {
        int64_t recorded = snap ? snap->GetAppState(OffsetAppId(topic, p)).version.value_or(-1) : -1;
        if (recorded != committed_[p]) {
          return arrow::Status::Cancelled("partition ", p, " was committed by another consumer up to offset ", recorded);
        }
      }
      if (dead->num_rows() > 0) ARROW_RETURN_NOT_OK(WriteDeadLetters(dead));
      WriteOptions w;
      w.mode = WriteMode::kAppend;
      for (const auto& p : c_.destination.partition_by) w.partition_by.push_back(p.name);
      w.properties = c_.destination.properties;
      for (const auto& [p, offset] : last) w.app_states[OffsetAppId(topic, p)].version = offset;
      w.merge_schema = true;
      w.read_version = snap ? snap->version() : -1;
      w.operation = "STREAMING UPDATE";
      w.operation_parameters = {{"pipeline", c_.name}, {"topic", topic}, {"outputMode", "Append"}};
      if (merge) {
        MergeOptions mo = cdc_ ? pipeline::CdcMergeOptions(c_) : pipeline::MergeStrategyOptions(c_);
        mo.write = w;
        mo.write.operation = "STREAMING MERGE";
        ARROW_ASSIGN_OR_RAISE(merged, table_->Merge(rows, mo));
        return merged.commit;
      }
      return table_->Write(std::make_shared<arrow::TableBatchReader>(rows), w);
    };
    auto result = RetryOnConflict(c_.processing.max_retries + 20, attempt);
    if (!result.ok() && result.status().IsCancelled()) {
      // Another consumer owns (and has committed) these offsets now: this batch is theirs.
      ++r_.batches_discarded;
      ARROW_RETURN_NOT_OK(Reseek(last));
      return arrow::Status::OK();
    }
    if (!result.ok()) {
      return result.status().WithMessage("pipeline ", c_.name, ": cannot commit to ", c_.destination.path, ": ",
                                         result.status().message());
    }
    if (merge) {
      r_.rows_inserted += merged.rows_inserted;
      r_.rows_updated += merged.rows_updated;
      r_.rows_deleted += merged.rows_deleted;
      r_.rows_late += merged.late_discarded;
      r_.rows_written += merged.rows_inserted + merged.rows_updated;
    } else {
      r_.rows_written += rows->num_rows();
    }
    r_.dead_letters += dead->num_rows();
    r_.table_version = result->version;
    ++r_.commits;
    for (const auto& [p, offset] : last) committed_[p] = offset;
    CommitToGroup(last);
    Maintain();
    return arrow::Status::OK();
  }

  // destination.maintenance, counting this stream's commits as runs (optimize every N-th
  // commit, ...). A failure is reported and the stream goes on: its data is committed.
  void Maintain() {
    const auto& m = c_.destination.maintenance;
    if (m.optimize_interval == 0 && m.vacuum_interval == 0 && m.checkpoint_interval == 0) return;
    pipeline::RunReport run;
    run.pipeline = c_.name;
    run.run = r_.commits;
    run.table_version = r_.table_version;
    auto st = pipeline::RunMaintenance(c_, &run);
    if (!st.ok()) {
      ++r_.maintenance_failures;
      std::cerr << "inlet stream: pipeline " << c_.name << ": " << run.error << std::endl;
    } else if (!run.maintenance.empty()) {
      ++r_.maintenance_runs;
    }
  }

  // Dead letters go to their table with the same per-partition offsets: a batch replayed
  // after a crash between the two commits does not add them twice.
  arrow::Status WriteDeadLetters(std::shared_ptr<arrow::Table> dead) {
    const std::string& topic = c_.source.kafka.topic;
    ARROW_ASSIGN_OR_RAISE(auto snap, CurrentSnapshot(*dead_table_));
    std::vector<int64_t> keep;
    std::map<int32_t, int64_t> last;
    auto parts = std::static_pointer_cast<arrow::Int32Array>(dead->GetColumnByName(kPartitionColumn)->chunk(0));
    auto offsets = std::static_pointer_cast<arrow::Int64Array>(dead->GetColumnByName(kOffsetColumn)->chunk(0));
    for (int64_t i = 0; i < dead->num_rows(); ++i) {
      int64_t recorded = snap ? snap->GetAppState(OffsetAppId(topic, parts->Value(i))).version.value_or(-1) : -1;
      if (offsets->Value(i) <= recorded) continue;
      keep.push_back(i);
      last[parts->Value(i)] = offsets->Value(i);
    }
    if (keep.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(dead, TakeRows(dead, keep));
    WriteOptions w;
    for (const auto& [p, offset] : last) w.app_states[OffsetAppId(topic, p)].version = offset;
    w.merge_schema = true;
    w.operation = "STREAMING UPDATE";
    w.operation_parameters = {{"pipeline", c_.name}, {"topic", topic}, {"deadLetters", "true"}};
    auto st = RetryOnConflict(c_.processing.max_retries + 20, [&]() {
      return dead_table_->Write(std::make_shared<arrow::TableBatchReader>(dead), w);
    }).status();
    if (!st.ok()) return st.WithMessage("cannot write dead letters to ", c_.dead_letters.path, ": ", st.message());
    return arrow::Status::OK();
  }

  // After losing a batch: read again from what the table holds.
  arrow::Status Reseek(const std::map<int32_t, int64_t>& partitions) {
    ARROW_ASSIGN_OR_RAISE(auto snap, CurrentSnapshot(*table_));
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
    for (const auto& [p, unused] : partitions) {
      int64_t recorded = snap ? snap->GetAppState(OffsetAppId(c_.source.kafka.topic, p)).version.value_or(-1) : -1;
      committed_[p] = recorded;
      if (!owned_.count(p)) continue;
      rd_kafka_topic_partition_list_add(list, c_.source.kafka.topic.c_str(), p)->offset = recorded + 1;
    }
    if (list->cnt > 0) {
      if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, list, 10000)) rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return arrow::Status::OK();
  }

  // The group's offsets follow the table's, for monitoring (lag) only.
  void CommitToGroup(const std::map<int32_t, int64_t>& last) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(last.size()));
    for (const auto& [p, offset] : last) {
      if (owned_.count(p)) rd_kafka_topic_partition_list_add(list, c_.source.kafka.topic.c_str(), p)->offset = offset + 1;
    }
    if (list->cnt > 0) rd_kafka_commit(rk_, list, /*async=*/1);
    rd_kafka_topic_partition_list_destroy(list);
  }

  const PipelineConfig& c_;
  const StreamOptions& o_;
  StreamReport r_;
  std::shared_ptr<Table> table_;
  std::shared_ptr<Table> dead_table_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer's queue (messages, rebalances)
  static constexpr size_t kPollBatch = 1000;
  std::optional<JsonRows> rows_;
  std::optional<DebeziumDecoder> decoder_;  // format debezium
  size_t declared_types_ = 0;               // of decoder_->types(), given to rows_
  bool cdc_ = false;
  load::ChangeOptions changes_;  // cdc
  DeadLetters dead_;
  std::set<int32_t> owned_;
  std::map<int32_t, int64_t> committed_;      // the table's last offset per partition (-1: none)
  std::map<int32_t, int64_t> buffered_last_;  // the last buffered offset per partition
  int64_t bytes_ = 0;
  int64_t first_buffered_ms_ = 0;
  int64_t last_progress_ms_ = 0;
  bool closing_ = false;
  arrow::Status fatal_;
};

}  // namespace

std::string OffsetAppId(const std::string& topic, int32_t partition) {
  return "inlet.kafka/" + topic + "/" + std::to_string(partition);
}

Json StreamReport::ToJson() const {
  Json j = {{"pipeline", pipeline}, {"table", table}, {"topic", topic}, {"status", status},
            {"messages", messages}, {"rows_written", rows_written}, {"dead_letters", dead_letters},
            {"skipped", skipped}, {"tombstones", tombstones}, {"commits", commits},
            {"batches_discarded", batches_discarded},
            {"rebalances", rebalances}, {"table_version", table_version}, {"duration_ms", duration_ms},
            {"wait_ms", wait_ms}, {"decode_ms", decode_ms}, {"commit_ms", commit_ms},
            {"maintenance_runs", maintenance_runs}, {"maintenance_failures", maintenance_failures}};
  if (rows_inserted + rows_updated + rows_deleted + rows_late > 0) {
    j["rows_inserted"] = rows_inserted;
    j["rows_updated"] = rows_updated;
    j["rows_deleted"] = rows_deleted;
    j["rows_late"] = rows_late;
  }
  if (!lag.empty()) {
    Json l = Json::object();
    for (const auto& [p, n] : lag) l[std::to_string(p)] = n;
    j["lag"] = l;
  }
  if (!error.empty()) j["error"] = error;
  return j;
}

arrow::Result<StreamReport> RunStream(const PipelineConfig& config, const StreamOptions& options) {
  if (config.source.type != "kafka") {
    return arrow::Status::Invalid("pipeline ", config.name, ": inlet stream needs a kafka source (it has ",
                                  config.source.type, "; use inlet run)");
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Streamer s(config, options);
  return s.Run();
}

}  // namespace inlet::stream
