// The seam between pipelines and where their data comes from. A source's configuration is
// one alternative per kind (SourceConfig). A bounded source (files today; PostgreSQL
// queries, HTTP APIs) is read once per run (BoundedSource); an unbounded one
// (Kafka today; PostgreSQL logical replication next) is consumed continuously by stream/
// (source/stream_source.h).
//
// Each source owns its resume position. A bounded source's is a JSON object it alone
// reads and writes; the pipeline state stores it with the rows it covers, in the same
// commit, without looking inside. Adding a source kind means: an alternative of
// SourceConfig (parsed in pipeline/config.cc), and an implementation of BoundedSource or
// StreamSource that OpenBoundedSource / OpenStreamSource return for it.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "inlet/common/json.h"
#include "inlet/io.h"
#include "inlet/source/debezium.h"
#include "inlet/source/json_schema.h"

namespace inlet {

/// Declared column types (column -> type), in declaration order.
using DeclaredSchema = DeclaredColumns;

/// How a source's records become rows.
struct DecodingConfig {
  /// Files: csv, json, ndjson, parquet or debezium, empty for each file's extension.
  /// Kafka: json or debezium.
  std::string format;
  DeclaredSchema schema;
  /// debezium: the connector's decimal.handling.mode (decimal_handling).
  DecimalHandling decimals = DecimalHandling::kPrecise;
  /// csv: delimiter, header, quote, escape, null values.
  CsvOptions csv{};
};

/// What a run does with a file it loaded before that has changed otherwise than by
/// growing (a grown CSV or line-delimited JSON file has its appended lines loaded).
enum class ChangedFiles {
  kFail,    // the run fails, naming the file (the default)
  kReload,  // the file is loaded again whole (duplicates for append; fine for merges)
  kIgnore,  // the change, and any growth, is not loaded; the run warns
};

/// What a run does with a file it cannot read (malformed, or a value that does not fit
/// its declared type).
enum class BadFiles {
  kFail,        // the run fails, naming the file, line and column (the default)
  kSkip,        // the file is left out; the report and the state say why
  kQuarantine,  // as kSkip, and the file is copied under quarantine_dir
};

/// Files (type: files): a file, a directory or a glob, read by `inlet run`.
struct FileSourceConfig {
  std::string path;  // resolved against the YAML file's directory
  DecodingConfig decoding;
  ChangedFiles changed_files = ChangedFiles::kFail;
  BadFiles bad_files = BadFiles::kFail;
  std::string quarantine_dir{};  // with kQuarantine; resolved like path
  /// A run whose path matches no file fails (otherwise it warns).
  bool require_files = false;
  /// How to reach an s3:// path (S3Config::Apply's settings, over the AWS environment).
  std::map<std::string, std::string> storage;
};

/// A Kafka topic (type: kafka), consumed by `inlet stream`.
struct KafkaSourceConfig {
  std::string brokers;
  std::string topic;
  /// The consumer group (default inlet-<pipeline name>). Offsets committed to it are for
  /// monitoring: the table's own record of them decides where consumption resumes.
  std::string group;
  /// Where a partition the table has no offset for starts: earliest or latest.
  std::string start = "earliest";
  /// How long a stream waits at its start for a broker to answer before it fails
  /// (connect_timeout).
  int64_t connect_timeout_ms = 30000;
  /// Passed to librdkafka as they are (security.protocol, sasl.*, ssl.*, ...). Values may
  /// be secrets: they are never logged or written.
  std::map<std::string, std::string> properties;
  /// Adds the message key as _kafka_key (string), and the headers as _kafka_headers (a
  /// JSON object of strings).
  bool include_key = true;
  bool include_headers = false;
  /// schema_file: the messages' JSON Schema (its columns are also decoding.schema); its
  /// required fields, enums and additionalProperties are checked per message.
  std::string schema_file;
  MessageSchema message_schema;
  DecodingConfig decoding;
};

/// What a PostgreSQL source does with a column of a type it has no mapping for.
enum class UnknownTypes {
  kFail,  // the run fails before reading, naming the column and its type (the default)
  kText,  // the column is read as text (PostgreSQL's own text form of the value)
};

/// How a PostgreSQL source reads numeric columns declared without a precision.
enum class UnconstrainedNumeric {
  kDecimal,  // decimal(38, 18), as Spark's JDBC reader; a value that does not fit fails
  kString,   // PostgreSQL's text form, exactly
  kDouble,   // a double (inexact)
};

/// A PostgreSQL table or query (type: postgres), read by `inlet run` in one consistent
/// snapshot (a REPEATABLE READ, READ ONLY transaction), through ADBC (source/adbc.h).
struct PostgresSourceConfig {
  /// A libpq URI (postgresql://user@host:port/db?sslmode=...), built from the keywords
  /// when the pipeline gives those instead.
  std::string connection;
  /// From password: ${VAR}; otherwise libpq's PGPASSWORD, ~/.pgpass or the URI. Never
  /// shown.
  std::string password;
  /// Exactly one: a table (schema.table or table) or a query.
  std::string table;
  std::string query;
  UnknownTypes unknown_types = UnknownTypes::kFail;
  UnconstrainedNumeric unconstrained_numeric = UnconstrainedNumeric::kDecimal;
  /// watermark: a run reads at most about this many rows past the watermark (whole
  /// groups of one cursor value), in cursor order, and the runner commits one chunk after
  /// another; 0 reads them all at once.
  int64_t chunk_rows = 1000000;
  /// The source as messages and reports name it: the database without its password,
  /// and the table (or "query").
  std::string description;
};

/// A PostgreSQL table's changes (type: postgres_cdc), consumed by `inlet stream` through
/// logical replication (the pgoutput plugin): an initial snapshot, then every committed
/// change in commit order (stream/pg_cdc.h).
struct PostgresCdcSourceConfig {
  /// The connection, password, type policies and description; table and query are empty.
  PostgresSourceConfig pg;
  /// The tables followed, each into its own table (destination.path with {table} for the
  /// table's name and {schema} for its schema), through one slot.
  std::vector<std::string> tables;
  /// The replication slot and the publication (created when missing, the publication for
  /// the table); default inlet_<pipeline> for both.
  std::string slot;
  std::string publication;
  /// Load the table's rows as of the slot's creation before its changes (otherwise only
  /// changes from then on).
  bool initial_snapshot = true;
};

/// How an HTTP source authenticates. Secrets come from ${VAR} and are never shown.
struct HttpAuth {
  enum class Type { kNone, kBearer, kBasic, kApiKey, kOAuth2 };
  Type type = Type::kNone;
  std::string token;               // bearer
  std::string username, password;  // basic
  std::string name, value;         // api_key: the header or query parameter, its value
  bool in_query = false;           // api_key: in the query instead of a header
  /// oauth2 (client credentials, RFC 6749 4.4): the token endpoint, the client, the
  /// scope (may be empty), and whether the client authenticates with HTTP basic auth
  /// (otherwise in the form body).
  std::string token_url, client_id, client_secret, scope;
  bool client_auth_basic = false;
};

/// How an HTTP source walks an API's pages.
struct HttpPagination {
  enum class Type {
    kNone,     // one request
    kOffset,   // offset_param=0, then += the limit; limit_param=limit
    kPage,     // page_param=start, then + 1
    kCursor,   // cursor_param = the value at cursor_path of the last page
    kLink,     // the Link header's rel="next" URL (RFC 8288)
    kNextUrl,  // the URL at next_url_path of the last page
  };
  Type type = Type::kNone;
  std::string offset_param = "offset";
  std::string limit_param = "limit";
  int64_t limit = 100;
  std::string page_param = "page";
  int64_t start = 0;  // offset: the first offset; page: the first page number (1)
  /// page: a page size sent with each request when set (page_size_param=page_size).
  std::string page_size_param;
  int64_t page_size = 0;
  std::string cursor_param = "cursor";
  std::string cursor_path;
  std::string next_url_path;
  /// The total number of records (a JSON path): paging stops once that many were read,
  /// and a run whose pages gave another number fails (the records moved while paged).
  std::string total_path;
  /// More pages than this fail the run (a runaway or looping API); 0: no limit.
  int64_t max_pages = 10000;
};

/// An HTTP API (type: http) read by `inlet run`: its pages' records, decoded as JSON
/// messages are (source/json_rows.h).
struct HttpSourceConfig {
  std::string url;
  std::string method = "GET";  // GET or POST
  std::string body;            // POST: the request body (JSON)
  std::vector<std::pair<std::string, std::string>> headers;
  /// Query parameters, added to the URL's own. A value may hold {watermark}.
  std::vector<std::pair<std::string, std::string>> params;
  HttpAuth auth;
  /// The records: a JSON path (data.items) to a list in each page, empty when the body
  /// is the list itself.
  std::string records_path;
  HttpPagination paginate;
  /// {watermark} in url, params or body: the watermark strategy's watermark (less its
  /// lookback), or (other strategies) the greatest value of the record field `cursor`
  /// loaded so far; before the first load, `initial` (unset: a parameter that is only
  /// the placeholder is left out). format: iso8601 (timestamps as 2024-05-01T10:00:00Z),
  /// unix or unix_ms (seconds or milliseconds since 1970).
  struct Incremental {
    std::string cursor;
    std::optional<std::string> initial;
    std::string format = "iso8601";
  };
  Incremental incremental;
  int64_t timeout_ms = 30000;
  int64_t connect_timeout_ms = 10000;
  int64_t max_response_bytes = 64LL * 1024 * 1024;
  /// Retries of a request that got 429, 5xx or no response: exponential backoff from
  /// `backoff` (full jitter) up to max_backoff between attempts; a Retry-After header is
  /// honoured up to max_retry_after (a longer wait fails the run).
  int max_retries = 5;
  int64_t backoff_ms = 1000;
  int64_t max_backoff_ms = 60000;
  int64_t max_retry_after_ms = 300000;
  std::string ca_bundle, client_cert, client_key;
  bool verify_tls = true;
  /// Non-empty: each response body is also written under this directory
  /// (<dir>/<UTC time of the run>/page-00001.json), for audit and replay.
  std::string archive_dir;
  /// Non-empty: runs read the pages archived in this directory (one run's directory under
  /// archive_dir) instead of requesting the API, to load a past run's responses again.
  std::string replay_dir;
  /// schema_file: the records' JSON Schema (its columns are also decoding.schema).
  std::string schema_file;
  MessageSchema message_schema;
  DecodingConfig decoding;
  /// Values given from the environment (${VAR}) in headers, params and the URL's query:
  /// masked in every message, as the auth secrets are.
  std::vector<std::string> secrets;
  /// The API as messages name it: the URL without its query's secrets.
  std::string description;
};

/// The int64 column in which a postgres_cdc source gives each change its LSN in the
/// write-ahead log (0 for rows of the initial snapshot): the changes' order (changes of a
/// row, and a truncate and the table's other changes, follow commit order).
inline constexpr char kPgLsnColumn[] = "_pg_lsn";
/// The int64 column in which it gives the LSN of the change's transaction's commit record
/// (0 for the initial snapshot's rows): changes are ordered by it first, then by
/// kPgLsnColumn (a deferred constraint may let a later commit's change come earlier in
/// the log).
inline constexpr char kPgCommitLsnColumn[] = "_pg_commit_lsn";

/// One alternative per source kind.
using SourceConfig =
    std::variant<FileSourceConfig, KafkaSourceConfig, PostgresSourceConfig,
                 PostgresCdcSourceConfig, HttpSourceConfig>;

/// "files", "kafka", "postgres", "postgres_cdc" or "http", as the pipeline file names the
/// kind.
const char* SourceKind(const SourceConfig& config);
/// Whether the source is consumed continuously (inlet stream) rather than read by runs.
bool IsStreamSource(const SourceConfig& config);

/// What a run reads of a bounded source.
enum class SourceScope {
  /// What the position does not cover yet (append, merge, cdc).
  kNew,
  /// Everything; the strategy selects rows (watermark). Parts an earlier run marked as
  /// holding nothing loadable may be skipped while they are unchanged.
  kAll,
  /// Everything as one extract, and nothing when it is unchanged since the position (full
  /// refresh, snapshot diff). An empty extract is refused: it would empty the table.
  kWholeExtract,
};

/// What a strategy learned of one part (file) a run read, so that later runs may skip the
/// part while it is unchanged: the greatest cursor it holds (the cursor's int64 form),
/// and whether it has rows with a null cursor.
struct PartMark {
  std::optional<int64_t> max_cursor;
  bool has_null = false;
};

struct ReadRequest {
  SourceScope scope = SourceScope::kNew;
  /// kAll: whether an unchanged part with this mark may be skipped; unset: none is.
  std::function<bool(const PartMark&)> skippable;
  /// Called after each part is read with (parts read, parts to read, rows so far), for
  /// progress displays.
  std::function<void(size_t, size_t, int64_t)> on_part;
  /// For merges by key: rows of a part that lacks a column other parts have (or a
  /// declared one) say so in a given flag (see kGivenPrefix), so that the merge keeps the
  /// table's values there.
  bool mark_given = false;
  /// The cursor range the strategy selects from (watermark). A source that filters where
  /// it reads (a database) may leave out the rows outside it; the strategy still selects
  /// exactly, so a source may also ignore it.
  struct CursorRange {
    std::string column;
    /// "timestamp" (microseconds), "date" (days) or "integer": the form of `lowest`.
    std::string kind;
    /// Rows with a cursor below this cannot be loaded (unset: any can).
    std::optional<int64_t> lowest;
    /// The watermark, in the same form: rows above it are new. A source that reads in
    /// chunks counts its chunk from here (not from `lowest`, which a lookback lowers), so
    /// that every chunk takes the watermark further.
    std::optional<int64_t> loaded;
    /// Timestamp cursors: rows above this (microseconds; now minus the safety margin)
    /// cannot be loaded yet. A source reading in chunks leaves them out of its chunks.
    std::optional<int64_t> highest;
    /// Rows with a null cursor are wanted (to load, or to fail on).
    bool nulls = true;
    /// A backfill: from <= cursor < to, as the user gave them.
    std::optional<std::string> from;
    std::optional<std::string> to;
  };
  std::optional<CursorRange> cursor_range;
  /// The source may read the range in chunks (SourceRead::more): the run's checks hold
  /// chunk by chunk (no row-count gates, no dry run). later_chunk: the run's first chunk
  /// is committed, and with it the rows of a null cursor, which later ones leave out.
  bool chunked = false;
  bool later_chunk = false;
};

/// The name of the int32 column of SourceRead::rows that gives each row's part.
inline constexpr char kPartColumn[] = "__inlet_file";

/// The prefix of a given flag's name: the boolean column kGivenPrefix + C is false in the
/// rows whose part (file, message) lacked column C (MergeOptions::given_flags). Never a
/// source's own column name.
inline constexpr char kGivenPrefix[] = "__inlet_given:";

/// The given flags among columns: column -> flag column.
std::map<std::string, std::string> GivenFlags(const arrow::Schema& columns);

/// Whether a column is a given flag.
bool IsGivenFlag(const std::string& name);

/// A part (file) a run left out, and why.
struct SkippedPart {
  std::string part;
  std::string reason;
  std::string quarantined;  // where it was copied, if it was
};

/// What a bounded source read.
struct SourceRead {
  /// The rows with declared types and a trailing kPartColumn; null when there is nothing
  /// to read.
  std::shared_ptr<arrow::Table> rows;
  /// The parts rows came from (file paths), by kPartColumn.
  std::vector<std::string> parts;
  /// What the source knows of each part, for Mark (its own: a file's size and time).
  std::vector<Json> part_state;
  /// The read stopped at a chunk's end (source.chunk_rows): the rows past it come in the
  /// next run, which the runner starts once this one committed.
  bool more = false;
  /// The position once these rows are loaded: kNew counts them as read, kWholeExtract
  /// remembers this extract, kAll keeps the marks of the parts it skipped (Mark adds
  /// those of the parts read).
  Json position = Json::object();
  /// What the run should tell its user (a moved source root, a glob matching nothing).
  std::vector<std::string> warnings;
  /// Parts left out by the bad-files policy; the position remembers them (kNew) until
  /// they change.
  std::vector<SkippedPart> skipped;
};

/// A whole extract as a stream (BoundedSource::Stream).
struct SourceStream {
  /// The batches, without kPartColumn; null when the source cannot stream this read.
  std::shared_ptr<arrow::RecordBatchReader> batches;
  /// The position once these rows are loaded (as SourceRead::position).
  Json position = Json::object();
  /// How many parts (files) the stream reads.
  int64_t parts = 1;
  /// When the batches carry kPartColumn: the parts by its numbers, for messages.
  std::vector<std::string> part_names;
  /// The extract is the one position records (kWholeExtract of unchanged files): there
  /// is nothing to read.
  bool unchanged = false;
};

/// A source read once per run. Implementations are not thread-safe.
class BoundedSource {
 public:
  virtual ~BoundedSource() = default;

  /// Reads what request asks for, resuming from position (the one the table holds; an
  /// empty object before the first run). Errors name the part (file, line, column).
  virtual arrow::Result<SourceRead> Read(const Json& position,
                                         const ReadRequest& request) const = 0;
  /// The whole extract (kWholeExtract) as a stream of batches (with or without
  /// kPartColumn), for a run that needs no rows in memory, resuming from position as Read
  /// does; no batches when the source cannot stream. The stream fails on any error naming
  /// the part, and (a database's) at its end when it held no rows.
  virtual arrow::Result<SourceStream> Stream(const Json& /*position*/,
                                             const ReadRequest&) const {
    return SourceStream();
  }
  /// Records in read->position what a strategy learned of a part of the read.
  virtual void Mark(size_t part, const PartMark& mark, SourceRead* read) const = 0;
  /// Whether position `after` covers data that `before` does not: a run that changes
  /// nothing else commits only then. Marks alone do not count.
  virtual bool Advanced(const Json& before, const Json& after) const = 0;
  /// Where the data comes from, for messages.
  virtual std::string Describe() const = 0;
};

/// The bounded source of a configuration; Invalid for an unbounded kind (it streams).
arrow::Result<std::unique_ptr<BoundedSource>> OpenBoundedSource(
    const SourceConfig& config);

}  // namespace inlet
