// Kafka as a StreamSource: the one boundary to librdkafka (its C API, its callbacks and
// its error codes become Status and StreamMessage here). Built into the inlet_kafka
// target, so that the core builds and tests without librdkafka.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <vector>

#include "inlet/common/json.h"
#include "inlet/log.h"
#include "inlet/source/stream_source.h"

namespace inlet {

std::string KafkaPositionApp(const std::string& topic, int32_t partition) {
  return "inlet.kafka/" + topic + "/" + std::to_string(partition);
}

namespace {

// "2 s", "0.5 s".
std::string FormatSeconds(int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g s", static_cast<double>(ms) / 1000.0);
  return text;
}

// librdkafka's messages may quote a value: a secret in them is masked.
std::string Masked(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at; (at = text.find(secret)) != std::string::npos;)
    text.replace(at, secret.size(), "***");
  return text;
}

class KafkaSource : public StreamSource {
 public:
  KafkaSource(std::string pipeline, KafkaSourceConfig config, Listener listener)
      : pipeline_(std::move(pipeline)),
        config_(std::move(config)),
        listener_(std::move(listener)) {}

  ~KafkaSource() override {
    if (queue_) rd_kafka_queue_destroy(queue_);
    if (rk_) rd_kafka_destroy(rk_);
  }

  arrow::Status Connect() {
    const auto& k = config_;
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::vector<std::pair<std::string, std::string>> settings = {
        {"bootstrap.servers", k.brokers},   {"group.id", k.group},
        {"enable.auto.commit", "false"},    {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", k.start},     {"enable.partition.eof", "false"},
        {"client.id", "inlet-" + pipeline_}};
    for (const auto& [name, value] : k.properties) settings.emplace_back(name, value);
    for (const auto& [name, value] : settings) {
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return arrow::Status::Invalid("pipeline ", pipeline_, ": kafka setting ", name,
                                      ": ", Masked(err, value));
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaSource::OnRebalance);
    rd_kafka_conf_set_error_cb(conf, &KafkaSource::OnError);
    rd_kafka_conf_set_log_cb(conf, &KafkaSource::OnLog);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      return arrow::Status::Invalid("pipeline ", pipeline_,
                                    ": cannot create the kafka consumer: ", err);
    }
    rd_kafka_poll_set_consumer(rk_);
    queue_ = rd_kafka_queue_get_consumer(rk_);
    ARROW_RETURN_NOT_OK(WaitForBrokers());
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, k.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
      return arrow::Status::IOError("pipeline ", pipeline_, ": cannot subscribe to ",
                                    k.topic, ": ", rd_kafka_err2str(e));
    }
    return arrow::Status::OK();
  }

  // Until a broker answers a metadata request: an unreachable cluster (or refused
  // credentials) fails the stream after config_.connect_timeout_ms, instead of waiting
  // for partitions forever.
  arrow::Status WaitForBrokers() {
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + std::chrono::milliseconds(config_.connect_timeout_ms);
    while (true) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      int wait = static_cast<int>(std::clamp<int64_t>(left.count(), 1, 500));
      const rd_kafka_metadata_t* metadata = nullptr;
      rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 0, nullptr, &metadata, wait);
      if (metadata) rd_kafka_metadata_destroy(metadata);
      if (!e) return arrow::Status::OK();
      // Serve the error events meanwhile: a fatal one (refused credentials) ends the
      // wait.
      batch_.resize(16);
      ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, batch_.data(), batch_.size());
      for (ssize_t i = 0; i < n; ++i) rd_kafka_message_destroy(batch_[i]);
      if (!fatal_.ok()) return fatal_;
      if (Clock::now() >= deadline) {
        std::string why = LastProblem();
        return arrow::Status::IOError(
            "pipeline ", pipeline_, ": kafka: no broker of ", config_.brokers,
            " answered within ", FormatSeconds(config_.connect_timeout_ms),
            " (source.connect_timeout): ", why.empty() ? rd_kafka_err2str(e) : why);
      }
    }
  }

  // Messages come in batches (one queue lock per batch, not per message); rebalances are
  // served inside the call.
  arrow::Result<size_t> Poll(
      int timeout_ms, size_t max,
      const std::function<arrow::Status(const StreamMessage&)>& on_message) override {
    batch_.resize(std::max<size_t>(max, 1));
    ssize_t n =
        rd_kafka_consume_batch_queue(queue_, timeout_ms, batch_.data(), batch_.size());
    arrow::Status st;
    for (ssize_t i = 0; i < n; ++i) {
      if (st.ok() && fatal_.ok()) {
        auto message = Convert(batch_[i]);
        if (!message.ok()) {
          st = message.status();
        } else if (*message) {
          st = on_message(**message);
        }
      }
      rd_kafka_message_destroy(batch_[i]);
    }
    ARROW_RETURN_NOT_OK(st);
    return n > 0 ? static_cast<size_t>(n) : 0;  // error events count as activity too
  }

  void Seek(const std::map<int32_t, int64_t>& next) override {
    if (next.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
    for (const auto& [p, offset] : next)
      rd_kafka_topic_partition_list_add(list, config_.topic.c_str(), p)->offset = offset;
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, list, 10000))
      rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(list);
  }

  // The group's offsets follow the table's, for monitoring (lag) only.
  void Committed(const std::map<int32_t, int64_t>& last) override {
    if (last.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(last.size()));
    for (const auto& [p, offset] : last) {
      rd_kafka_topic_partition_list_add(list, config_.topic.c_str(), p)->offset =
          offset + 1;
    }
    rd_kafka_commit(rk_, list, /*async=*/1);
    rd_kafka_topic_partition_list_destroy(list);
  }

  // From the broker's last fetch response.
  std::optional<int64_t> Lag(int32_t partition, int64_t last) override {
    int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(rk_, config_.topic.c_str(), partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      return std::nullopt;
    }
    int64_t next = last >= 0 ? last + 1 : std::max<int64_t>(low, 0);
    return std::max<int64_t>(0, high - next);
  }

  arrow::Status fatal() const override { return fatal_; }

  void Close() override {
    if (rk_ && !closed_) rd_kafka_consumer_close(rk_);
    closed_ = true;
  }

  std::string PositionApp(int32_t partition) const override {
    return KafkaPositionApp(config_.topic, partition);
  }
  const std::string& name() const override { return config_.topic; }

 private:
  // The message as the stream sees it; nullopt for one that carries nothing (a
  // partition's end, a transient error librdkafka retries).
  arrow::Result<std::optional<StreamMessage>> Convert(const rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::nullopt;
      std::string what = rd_kafka_message_errstr(m);
      // Broker outages and the like are retried by librdkafka; errors about the topic or
      // the configuration are not.
      if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          m->err == RD_KAFKA_RESP_ERR__FATAL ||
          m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
          m->err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        return arrow::Status::IOError("pipeline ", pipeline_, ": topic ", config_.topic,
                                      ": ", what);
      }
      return std::nullopt;
    }
    StreamMessage out;
    out.partition = m->partition;
    out.offset = m->offset;
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
    out.timestamp_ms = ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
    if (m->key) out.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    if (m->payload)
      out.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    if (config_.include_headers) out.headers_json = HeadersJson(m);
    return out;
  }

  static std::string HeadersJson(const rd_kafka_message_t* m) {
    rd_kafka_headers_t* hdrs = nullptr;
    Json out = Json::object();
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        out[name] = value ? Json(std::string(static_cast<const char*>(value), size))
                          : Json(nullptr);
      }
    }
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  // librdkafka retries broker outages by itself; refused credentials and fatal errors
  // stop the stream (else it would wait for partitions forever).
  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    auto e = static_cast<rd_kafka_resp_err_t>(err);
    bool fatal = e == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
                 e == RD_KAFKA_RESP_ERR__FATAL ||
                 e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
    if (!fatal) {
      self->NoteProblem(reason);
      return;
    }
    if (!self->fatal_.ok()) return;
    self->fatal_ = arrow::Status::IOError("pipeline ", self->pipeline_,
                                          ": kafka: ", self->MaskSecrets(reason));
  }

  // librdkafka's log, through inlet's (masked): configuration warnings at warning, its
  // other errors and warnings at info (retried conditions: what stops the stream is
  // reported as its error), the rest at debug.
  static void OnLog(const rd_kafka_t* rk, int level, const char* facility,
                    const char* text) {
    auto* self = static_cast<KafkaSource*>(rd_kafka_opaque(rk));
    if (!self) return;
    if (level <= 3) self->NoteProblem(text);
    // A configuration warning is the user's to see; connection trouble is retried.
    LogLevel mapped = level > 4                                  ? LogLevel::kDebug
                      : std::string_view(facility) == "CONFWARN" ? LogLevel::kWarning
                                                                 : LogLevel::kInfo;
    if (!LogEnabled(mapped)) return;
    Log(mapped, "kafka " + self->pipeline_ + " " + facility, self->MaskSecrets(text));
  }

  // The last problem librdkafka reported (called from its threads too).
  void NoteProblem(const char* text) {
    std::lock_guard<std::mutex> lock(problem_mutex_);
    last_problem_ = MaskSecrets(text);
  }
  std::string LastProblem() {
    std::lock_guard<std::mutex> lock(problem_mutex_);
    return last_problem_;
  }

  // The values of secret-looking librdkafka properties, masked in a message.
  std::string MaskSecrets(std::string text) const {
    for (const auto& [name, value] : config_.properties) {
      for (const char* word : {"password", "secret", "token", "key", "jaas"}) {
        if (name.find(word) != std::string::npos) text = Masked(std::move(text), value);
      }
    }
    return text;
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      auto st = self->Assign(parts);
      if (!st.ok()) {
        if (self->fatal_.ok()) self->fatal_ = st;
        rd_kafka_assign(rk, nullptr);
      }
    } else {
      // Revoked: the stream commits what it holds for these partitions while they are
      // still ours.
      self->listener_.on_revoke();
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Seeks every assigned partition to where the stream says it resumes.
  arrow::Status Assign(rd_kafka_topic_partition_list_t* parts) {
    std::vector<int32_t> partitions;
    for (int i = 0; i < parts->cnt; ++i) partitions.push_back(parts->elems[i].partition);
    ARROW_ASSIGN_OR_RAISE(auto resume, listener_.on_assign(partitions));
    for (int i = 0; i < parts->cnt; ++i) {
      auto& tp = parts->elems[i];
      std::optional<int64_t> next = resume[tp.partition];
      tp.offset = next ? *next
                       : (config_.start == "latest" ? RD_KAFKA_OFFSET_END
                                                    : RD_KAFKA_OFFSET_BEGINNING);
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk_, parts);
    if (e)
      return arrow::Status::IOError("cannot assign partitions: ", rd_kafka_err2str(e));
    return arrow::Status::OK();
  }

  std::string pipeline_;
  KafkaSourceConfig config_;
  Listener listener_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer's queue (messages, rebalances)
  std::vector<rd_kafka_message_t*> batch_;
  arrow::Status fatal_;
  bool closed_ = false;
  std::mutex problem_mutex_;
  std::string last_problem_;
};

}  // namespace

arrow::Result<std::unique_ptr<StreamSource>> OpenStreamSource(
    const std::string& pipeline, const SourceConfig& config,
    StreamSource::Listener listener) {
  const auto* kafka = std::get_if<KafkaSourceConfig>(&config);
  if (!kafka) {
    return arrow::Status::Invalid("pipeline ", pipeline, ": a ", SourceKind(config),
                                  " source is read by runs (inlet run), not streamed");
  }
  auto source = std::make_unique<KafkaSource>(pipeline, *kafka, std::move(listener));
  ARROW_RETURN_NOT_OK(source->Connect());
  return std::unique_ptr<StreamSource>(std::move(source));
}

}  // namespace inlet
