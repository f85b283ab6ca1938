// The format-neutral table API. Delta Lake is the first implementation, Apache Iceberg
// the next; nothing that uses this header may depend on a table format's internals, and
// the header names none of them (format-specific facts come as
// TableInfo::format_details).
//
// Threading: a Table handle may be shared by threads; each call reads the table's
// metadata afresh and works on its own snapshot. Snapshots are immutable and safe to
// share.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "inlet/predicate.h"

namespace inlet {

/// Which snapshot of a table to read: the latest (all unset), a version, the latest
/// commit at or before a timestamp (milliseconds since the epoch, UTC), or a reference
/// the table format defines. At most one may be set.
///
/// A version is a number that grows with every commit of the table (Delta Lake: the log
/// version). Versions need not be contiguous: code must not assume that version + 1
/// exists, only that a later commit has a greater version.
struct SnapshotSpec {
  std::optional<int64_t> version;
  std::optional<int64_t> timestamp_ms;
  /// A format's own name for a snapshot: for Apache Iceberg a snapshot id, a tag or a
  /// branch. Delta Lake has none: GetSnapshot fails with Invalid when this is set.
  std::optional<std::string> ref;
};

struct ScanOptions {
  /// Columns to return, in this order; empty returns every column of the table schema.
  std::vector<std::string> columns;
  /// Rows to keep. Used to skip whole files by partition values and statistics, and to
  /// filter the remaining rows exactly.
  Conjunction filter;
  /// Stop after this many rows; negative means no limit.
  int64_t limit = -1;
  /// Maximum rows per returned batch.
  int64_t batch_size = 64 * 1024;
};

/// What a table looks like at one snapshot.
struct TableInfo {
  std::string format;  // "delta"
  std::string location;
  int64_t version = -1;
  /// The format's identity of the snapshot (Delta Lake: the version, as text).
  std::string snapshot_id;
  int64_t timestamp_ms = 0;
  std::shared_ptr<arrow::Schema> schema;
  /// Each top-level column's type as the format names it (Delta Lake: "long",
  /// "decimal(10,2)", "struct"), in schema order.
  std::vector<std::string> type_names;
  std::vector<std::string> partition_columns;
  /// The table's own identity (a UUID), name and description.
  std::string id;
  std::string name;
  std::string description;
  std::map<std::string, std::string> properties;
  int64_t num_files = 0;
  int64_t size_bytes = 0;
  /// What only this table format knows, as a JSON object (docs/formats.md; for Delta Lake
  /// the protocol versions and features).
  std::string format_details = "{}";
};

/// One entry of a table's history (newest first when listed).
struct HistoryEntry {
  int64_t version = 0;
  int64_t timestamp_ms = 0;
  std::string operation;
  /// The whole commit record as JSON (operation parameters, engine, metrics).
  std::string commit_info_json;
};

/// State an application commits atomically with its data, so that it loads each piece of
/// data exactly once: a number that only grows (a run counter, a source offset) and a
/// small document (a cursor, the files it loaded). A retried load compares the number
/// with its own; a load that lost a race to another commit of the same application
/// conflicts. Each format keeps it where its readers ignore it (docs/formats.md says
/// where).
struct AppState {
  /// The last number the application committed; nullopt when it never committed one.
  std::optional<int64_t> version;
  /// Its document; nullopt when it never committed one, or it was cleared.
  std::optional<std::string> document;
};

/// An immutable view of a table at one version.
class Snapshot {
 public:
  virtual ~Snapshot() = default;

  /// The snapshot's version (see SnapshotSpec).
  virtual int64_t version() const = 0;
  /// The format's identity of this snapshot (Delta Lake: the version, as text).
  virtual std::string snapshot_id() const = 0;
  /// The logical schema (user column names, even when the format maps them).
  virtual const std::shared_ptr<arrow::Schema>& schema() const = 0;
  virtual const std::vector<std::string>& partition_columns() const = 0;
  virtual TableInfo Info() const = 0;
  /// The snapshot's rows, counted from its files' statistics (deleted rows left out)
  /// without reading data; nullopt when a file does not record its row count.
  virtual std::optional<int64_t> RowCount() const = 0;

  /// The number an application last committed with its data as of this snapshot (see
  /// AppState); nullopt when it never committed one.
  virtual std::optional<int64_t> AppVersion(const std::string& app_id) const = 0;
  /// The application's document as of this snapshot; nullopt when it never committed one,
  /// or it was cleared. A format may keep documents in files of their own: reading one
  /// that is gone fails, naming it.
  virtual arrow::Result<std::optional<std::string>> AppDocument(
      const std::string& app_id) const = 0;
  /// Whether the application has a document as of this snapshot, without reading it (so
  /// that one that cannot be read can still be cleared).
  virtual bool HasAppDocument(const std::string& app_id) const = 0;
  /// The documents of every application whose id starts with prefix, by id.
  virtual arrow::Result<std::map<std::string, std::string>> AppDocuments(
      const std::string& prefix) const = 0;

  /// Streams the rows selected by options. Fails with Invalid for an unknown column or a
  /// literal that does not convert to its column's type; read errors surface from the
  /// reader, naming the data file.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Scan(
      const ScanOptions& options) const = 0;
};

enum class WriteMode {
  kAppend,
  /// Replace every row (or, with replace_where, the rows of the matching partitions).
  kOverwrite,
  /// Replace exactly the partitions that occur in the new data.
  kOverwritePartitions,
};

struct WriteOptions {
  WriteMode mode = WriteMode::kAppend;
  /// With kOverwrite: a predicate over partition columns selecting the rows to replace.
  /// Every new row must satisfy it.
  Conjunction replace_where;
  /// Used when the write creates the table. On an existing table it must be empty or the
  /// table's own partitioning: partitioning cannot change (Invalid otherwise).
  std::vector<std::string> partition_by;
  /// The sort order a created Iceberg table records (its default sort order): entries
  /// "column [asc|desc] [nulls first|nulls last]" (ascending by default; nulls first when
  /// ascending, last when descending). A write to a table with a sort order sorts its
  /// rows in runs of sort_run_bytes and writes each run to files of its own, so that
  /// every data file is sorted and says so. On an existing table it must be empty or the
  /// table's own order (Invalid otherwise). Delta tables have no sort order (Invalid when
  /// given).
  std::vector<std::string> sort_by;
  /// With a sort order: how many bytes of input rows (Arrow's in-memory size) are held
  /// and sorted together. Bounds the write's memory; a larger run gives fewer, wider
  /// files.
  int64_t sort_run_bytes = 256LL * 1024 * 1024;
  /// Table properties, used when the write creates the table; on an existing table only
  /// with update_properties.
  std::map<std::string, std::string> properties;
  /// On an existing table, properties that differ from the table's are set in the same
  /// commit, and the protocol raised to the features they need (change data feed,
  /// deletion vectors, append-only). Changing the column mapping mode is refused.
  bool update_properties = false;
  /// Data files are rolled once they reach about this size.
  int64_t target_file_size = 128LL * 1024 * 1024;
  /// Parquet codec: zstd (default), snappy, gzip, lz4, uncompressed. Overridden by the
  /// table's own codec property when it has one (docs/formats.md).
  std::string compression = "zstd";
  /// Application states (app id -> state) recorded atomically with the data; an unset
  /// field leaves that part of the app's state as it was. The commit fails with a commit
  /// conflict when a concurrent commit recorded state for the same app. A format may need
  /// to raise the table's protocol to keep documents (docs/formats.md).
  std::map<std::string, AppState> app_states;
  /// Applications whose document is cleared in the same commit. Their number stays: it
  /// only grows.
  std::vector<std::string> clear_app_documents;
  /// Input columns the table lacks are added to its schema (nullable) in the same commit,
  /// instead of failing the write.
  bool merge_schema = false;
  /// The operation name recorded in the history (defaults per mode).
  std::string operation;
  std::map<std::string, std::string> operation_parameters;
  /// The version the caller's decisions (such as a watermark it read) were based on.
  /// Every commit after it is checked for conflicts with this write, which fails with a
  /// commit conflict (see inlet/status.h) rather than commit on a stale base. -1: the
  /// caller saw no table. Unset: the latest version when the write starts.
  std::optional<int64_t> read_version;
  /// Conflicting concurrent commits are retried this many times at most.
  int max_commit_attempts = 200;
};

struct CommitResult {
  int64_t version = -1;
  int64_t rows_written = 0;
  int64_t files_added = 0;
  int64_t files_removed = 0;
  int64_t bytes_written = 0;
  /// Distinct partitions (value combinations) the new files belong to.
  int64_t partitions_touched = 0;
  int attempts = 0;
};

enum class MergeMode {
  /// Matched keys are updated, new keys inserted.
  kUpsert,
  /// Only new keys are inserted; matched rows stay as they are.
  kInsertOnly,
  /// Rows of the table with a key in the source are deleted; every source row is inserted
  /// (several rows per key stay several rows).
  kDeleteInsert,
  /// The source is a complete extract of the table (snapshot diff), one row per key: a
  /// table row whose key the source has is replaced when its values differ (compared by
  /// row
  /// hash on the table's columns the source has, but the soft-delete column), a row whose
  /// key it lacks is handled as MergeOptions::missing_keys says, and new keys are
  /// inserted.
  /// Every file is read once, and only the files with a change are rewritten (or given a
  /// deletion vector). Nothing is committed when nothing changed.
  kSnapshot,
};

/// What a snapshot merge does with a table row whose key is not in the extract.
enum class MissingKeys {
  kDelete,
  /// The row is kept with its soft-delete column set true.
  kSoftDelete,
  kKeep,
};

/// The names merge modes and missing-key policies go by in the CLI, pipeline files and
/// commit parameters: upsert, insert_only, delete_insert, snapshot; delete, soft_delete,
/// keep. nullopt for any other name.
const char* MergeModeName(MergeMode mode);
std::optional<MergeMode> MergeModeNamed(const std::string& name);
std::optional<MissingKeys> MissingKeysNamed(const std::string& name);
/// Every merge mode and missing-key policy with its name, in that order (for parsers that
/// list the choices).
const std::vector<std::pair<const char*, MergeMode>>& MergeModeNames();
const std::vector<std::pair<const char*, MissingKeys>>& MissingKeysNames();

/// History (slowly changing dimension type 2) for sequence-guarded merges: every version
/// of a row is kept, with the sequence range it was current for.
struct HistoryOptions {
  bool enabled = false;
  /// Column names. valid_from and valid_to have the sequence column's type (a struct of
  /// the sequence columns when there are several); valid_to is null while the version is
  /// current.
  std::string valid_from = "valid_from";
  std::string valid_to = "valid_to";
  std::string is_current = "is_current";
  /// A change starts a new version only when one of these columns changes; changes of
  /// other columns update the version in place. Empty: every column but the keys and
  /// sequences.
  std::vector<std::string> track_columns;
  /// A sequence column whose value 0 marks a row copied from a snapshot of the source,
  /// taken at the rest of that sequence (a version of the table, by its valid_from, or an
  /// upsert of the source): it shows every change ordered before it already, so the
  /// source's changes of its key ordered before it are late (discarded, counted) instead
  /// of becoming versions of their own, whichever batch they come in. Empty: no row is
  /// such a copy.
  std::string snapshot_marker;
};

struct MergeOptions {
  /// The columns identifying a row. Required.
  std::vector<std::string> keys;
  MergeMode mode = MergeMode::kUpsert;
  /// De-duplication of the source by key: the row with the greatest value of this column
  /// wins (ties: the later row). Empty: the last row of each key wins.
  std::string order_by;
  /// A boolean source column: true deletes the key's row from the table. Not written.
  std::string delete_flag;
  /// Partial updates: a null source value keeps the table's value.
  bool ignore_null_updates = false;
  /// Sequence-guarded changes (change data capture): the columns ordering a key's
  /// changes, compared column by column. Upsert mode only. The source's latest change of
  /// each key wins (order_by is not used), and it applies only when its sequence is
  /// greater than the table row's and than the key's last remembered delete; an older
  /// change is discarded as late. Deletes are remembered durably in the table, not for a
  /// retention window, so an update arriving after its key's delete cannot bring the row
  /// back. The sequence columns are written with the rows; a table row with a null
  /// sequence is older than any change. Fails with Invalid naming a sequence column with
  /// a null in the source.
  std::vector<std::string> sequence_by;
  /// With sequence_by: a boolean source column marking truncate events (their key columns
  /// may be null). A truncate at sequence s deletes every table row whose sequence is at
  /// most s, and from then on every change at or below s is late. Not written.
  std::string truncate_flag;
  /// Partial updates: only these columns take the source's values on a match. In upsert
  /// mode the columns the source lacks never do: a matched row keeps the table's values
  /// for them, and a new key's row gets nulls.
  std::vector<std::string> update_columns;
  /// Partial updates row by row: table column -> a boolean source column saying, per row,
  /// whether the source gave that column (a JSON message may lack a field, which is not
  /// the same as a null). Where the flag is false, a matched row keeps the table's value,
  /// a history version the value of the key's previous version, and a new key's row gets
  /// null. A key's rows in one source fold in their order: the winning row takes, for
  /// each column it lacks, the latest earlier row's value that gave it (not across a
  /// delete of the key). Upserts and histories; other modes ignore the flags. The flag
  /// columns are not written.
  std::map<std::string, std::string> given_flags;
  /// With sequence_by: keep history (SCD type 2) instead of the current state. Each key's
  /// versions are rebuilt from all its changes, so a late change is woven into the
  /// history where its sequence puts it, whatever the arrival order. Every delete is
  /// remembered. Truncate events are refused; order_by, ignore_null_updates and
  /// update_columns do not apply.
  HistoryOptions history;
  /// kSnapshot mode: rows whose key left the extract, and (with kSoftDelete) the boolean
  /// column marking them. Every row of the extract is live: the merge sets the source's
  /// column false on every row (adding it when the source lacks it); a table row marked
  /// true whose key comes back is replaced by its source row.
  MissingKeys missing_keys = MissingKeys::kDelete;
  std::string soft_delete_column;
  /// kSnapshot mode: the merge fails (Invalid, committing nothing) when it would delete,
  /// or soft-delete, more than this percentage of the table's rows: an empty or truncated
  /// extract must not empty the table. Unset: no limit.
  std::optional<double> max_delete_percent;
  /// Application states, read version, schema merge, and (when the merge creates the
  /// table) partitioning and properties. mode and replace_where are not used.
  WriteOptions write;
  /// Reads and matches as the merge would, and writes and commits nothing: the result's
  /// counts are what the merge would do (commit.version is -1).
  bool dry_run = false;
};

struct MergeResult {
  CommitResult commit;
  // With history: rows_inserted counts new versions, rows_updated the versions rewritten
  // (closed, or split by a late change), rows_deleted the deletes that closed a version.
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_deleted = 0;
  /// Source rows dropped as older duplicates of a key (or, with a truncate in the source,
  /// changes before it).
  int64_t source_duplicates = 0;
  /// With sequence_by: changes discarded because the table already held a newer (or
  /// equal) sequence for their key, a newer delete, or a truncate after them.
  int64_t late_discarded = 0;
  /// Rows deleted by truncate events (also counted in rows_deleted).
  int64_t rows_truncated = 0;
  /// Files read to find matches, and rewritten because they held some (copy-on-write) or
  /// given a deletion vector marking the changed rows (tables that write deletion
  /// vectors). A delete-insert keyed by the partition columns removes the files of the
  /// source's partitions unread: counted as rewritten, not scanned.
  int64_t files_scanned = 0;
  int64_t files_rewritten = 0;
  int64_t files_marked = 0;
  /// kSnapshot mode: the table rows compared with the extract.
  int64_t rows_compared = 0;
  /// Whether any row changes (with dry_run: would change). A kSnapshot merge that changes
  /// nothing commits nothing (commit.version is -1); other merges commit in any case.
  bool changed = true;
};

/// A number of files and their bytes.
struct FileCounts {
  int64_t files = 0;
  int64_t bytes = 0;
};

struct OptimizeOptions {
  /// Only the partitions whose values satisfy this predicate (partition columns only).
  Conjunction where;
  /// Small files are packed into files of about this size; files at least this large are
  /// left alone. 0: the table's target file size property, else 128 MiB.
  int64_t target_size = 0;
  /// Sorts each selected partition's rows along a Z-order curve of these columns (so that
  /// statistics on each of them prune files). Rewrites every file of those partitions and
  /// holds one partition's rows in memory at a time.
  std::vector<std::string> zorder_by;
  /// Times the whole optimize is planned again when a concurrent commit removed files it
  /// was compacting, before giving up with a commit conflict.
  int max_attempts = 5;
};

struct OptimizeResult {
  /// The committed version; -1 when there was nothing to compact.
  int64_t version = -1;
  /// The table's live data files before and after.
  FileCounts before;
  FileCounts after;
  int64_t files_removed = 0;
  int64_t files_added = 0;
  int64_t rows = 0;
  int64_t partitions_optimized = 0;
  int attempts = 0;
  int64_t duration_ms = 0;
};

struct VacuumOptions {
  /// Unreferenced files younger than this are kept (they may belong to a commit in
  /// progress), and removed files stay until their removal is this old (time travel).
  /// Unset: the table's retention property (default 168 hours).
  std::optional<double> retention_hours;
  /// Report what would be deleted, delete nothing.
  bool dry_run = false;
  /// Refuse a retention shorter than the table's own.
  bool enforce_retention = true;
};

struct VacuumResult {
  double retention_hours = 0;
  bool dry_run = false;
  /// The files deleted (to delete, with dry_run), relative to the table root.
  std::vector<std::string> files;
  FileCounts deleted;
  /// Iceberg: the branches and tags removed for being older than their max-ref-age-ms.
  std::vector<std::string> refs_removed;
  /// What storage held outside the table's metadata before and after.
  FileCounts before;
  FileCounts after;
  int64_t duration_ms = 0;
};

/// Table::Delete and Table::Update: the rows satisfying every predicate of `where` (a
/// comparison with a null never holds; IS NULL does). Empty `where` needs every_row.
struct RowChangeOptions {
  Conjunction where;
  /// Affirms that an empty `where` means every row.
  bool every_row = false;
  /// Application states and read version; mode, partitioning and properties are not used.
  WriteOptions write;
  /// Reads and matches, and writes and commits nothing: the counts are what it would do.
  bool dry_run = false;
};

struct UpdateOptions : RowChangeOptions {
  /// Column -> its new value, as text converted to the column's type as a predicate's
  /// literal is; nullopt sets null. Top-level columns of primitive types.
  std::vector<std::pair<std::string, std::optional<std::string>>> set;
};

struct RestoreResult {
  int64_t version = -1;           // the commit that restored
  int64_t restored_version = -1;  // the version restored
  int64_t files_added = 0;        // files of that version added back
  int64_t files_removed = 0;      // files it did not have, removed
  int attempts = 0;
};

struct CheckpointResult {
  int64_t version = -1;
  int64_t checkpoint_bytes = 0;
  /// The files of the table's metadata before and after; expired ones are cleaned up.
  FileCounts log_before;
  FileCounts log_after;
  int64_t duration_ms = 0;
};

/// How to reach a table on object storage, overriding the environment (see
/// docs/operations.md): endpoint, region, access_key_id, secret_access_key,
/// session_token, addressing (path | virtual), ca_bundle. Only for s3:// locations.
using StorageOptions = std::map<std::string, std::string>;

enum class TableFormat { kDelta, kIceberg };

/// "delta" or "iceberg"; nullopt for another name.
std::optional<TableFormat> TableFormatNamed(const std::string& name);

/// An Iceberg catalog: the database recording each table's current metadata file, so
/// that a commit is one compare-and-set of that pointer and every engine sharing the
/// catalog (Spark, Trino, pyiceberg) sees the same tables (docs/formats.md, Catalogs).
struct CatalogOptions {
  /// sqlite:PATH (a catalog file; created by the first write),
  /// postgresql://user@host:port/db (the password from PGPASSWORD, ~/.pgpass or the URI)
  /// or http(s)://host:port[/path] (an Iceberg REST catalog).
  std::string uri;
  /// The catalog_name column: the name the other engines give this catalog.
  std::string name = "default";
  /// Where a created table goes: <warehouse>/<namespace>/<table>. Default: beside a
  /// SQLite catalog file; required with PostgreSQL unless `location` is given.
  std::string warehouse;
  /// The location of a table OpenInCatalog creates, instead of the warehouse's.
  std::string location;
  /// REST catalogs: a bearer token; or OAuth2 client credentials "id:secret", exchanged
  /// for a token at `oauth2_server_uri` (default <uri>/v1/oauth/tokens) for `scope`
  /// (default "catalog"). Never logged or shown.
  std::string token;
  std::string credential;
  std::string oauth2_server_uri;
  std::string scope;
  /// REST catalogs over https: a PEM file of trusted certificates instead of the
  /// system's.
  std::string ca_bundle;
};

class Table;

/// Records the Iceberg table at `uri` (its directory, whose current metadata file is
/// recorded, or one metadata file) in `catalog` as `identifier` (namespace.table; the
/// namespace is created when absent), so that engines reading only catalogs (Trino) find
/// it. Returns the metadata file recorded. Fails when the catalog has a table of that
/// name already (nothing changed) or there is no Iceberg table at uri (kTableNotFound).
arrow::Result<std::string> RegisterIcebergTable(const CatalogOptions& catalog,
                                                const std::string& identifier,
                                                const std::string& uri,
                                                const StorageOptions& storage = {});

/// The tables of `catalog` as namespace.table, sorted; of namespace `ns` when given.
arrow::Result<std::vector<std::string>> ListCatalogTables(const CatalogOptions& catalog,
                                                          const std::string& ns = "");

/// A table at a location. Open() requires an existing table; OpenOrCreate() also accepts
/// an empty location, where the first Write creates the table (in the same commit).
class Table {
 public:
  virtual ~Table() = default;

  /// Opens the table at uri (a local path, file:// or s3:// URI), whatever its format.
  /// Fails with an ErrorKind::kTableNotFound error (inlet/status.h) when there is no
  /// table there.
  static arrow::Result<std::shared_ptr<Table>> Open(const std::string& uri,
                                                    const StorageOptions& storage = {});
  /// `format`: the format a table created there gets (default Delta Lake); an existing
  /// table of another format is refused (Invalid naming both).
  static arrow::Result<std::shared_ptr<Table>> OpenOrCreate(
      const std::string& uri, const StorageOptions& storage = {},
      std::optional<TableFormat> format = std::nullopt);

  /// Opens the Iceberg table `identifier` (namespace.table, namespace levels separated
  /// by dots) of a catalog; `create`: a table absent from the catalog is created by the
  /// first write, which registers it (else kTableNotFound naming table and catalog).
  /// Table files are reached with `storage`.
  static arrow::Result<std::shared_ptr<Table>> OpenInCatalog(
      const CatalogOptions& catalog, const std::string& identifier,
      const StorageOptions& storage = {}, bool create = false);

  virtual const std::string& location() const = 0;

  /// Loads the snapshot spec selects. Fails when the version does not exist or cannot be
  /// reconstructed (kTableNotFound when there is no table at all), or when the table
  /// needs a reader feature inlet does not support (kUnsupportedFeature, naming the
  /// feature).
  virtual arrow::Result<std::shared_ptr<Snapshot>> GetSnapshot(
      const SnapshotSpec& spec = {}) const = 0;

  /// The commits, newest first, at most limit of them (negative: all).
  virtual arrow::Result<std::vector<HistoryEntry>> History(int64_t limit = -1) const = 0;

  /// Writes data in one atomic commit. On success every row is visible at the returned
  /// version; on failure nothing is (data files already written are left unreferenced
  /// for vacuum). Safe against concurrent writers in other processes. Input that does not
  /// fit the table fails with kSchemaMismatch; a lost race with kCommitConflict.
  virtual arrow::Result<CommitResult> Write(
      std::shared_ptr<arrow::RecordBatchReader> data, const WriteOptions& options) = 0;

  /// The row-level changes of versions from..to (inclusive; to defaults to the latest) in
  /// the table's columns plus _change_type (insert, update_preimage, update_postimage,
  /// delete), _commit_version and _commit_timestamp. A version's change data files are
  /// used when it wrote any; otherwise its added files read as inserts and its removed
  /// files as deletes. Every version of the range must have had the change data feed
  /// enabled (delta.enableChangeDataFeed), as Spark requires: without it a rewritten
  /// file's unchanged rows would show as deleted and inserted again. file_level reads
  /// such versions file by file all the same. Fails naming a version that does not exist,
  /// one without the change data feed, or a data file that is gone.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Changes(
      int64_t from_version, std::optional<int64_t> to_version,
      bool file_level = false) const = 0;

  /// Merges source into the table by key in one atomic commit (copy-on-write): files are
  /// pruned by partition values and key statistics, read one at a time, and only those
  /// holding matched keys are rewritten. Memory is bounded by the source and one data
  /// file. Fails with Invalid naming a missing key column or a null key in the source.
  virtual arrow::Result<MergeResult> Merge(std::shared_ptr<arrow::Table> source,
                                           const MergeOptions& options) = 0;

  /// A snapshot merge (options.mode kSnapshot) of an extract given as a stream, read
  /// once: each batch is conformed, its keys indexed and its rows hashed, and the batch
  /// spilled to an unnamed temporary file (TMPDIR), so that memory holds about 40 bytes
  /// per extract row instead of the rows. A key repeated with an identical row counts as
  /// a source duplicate; repeated with other values it fails naming the key. Other
  /// merges, tables that record a change data feed and tables without this path read the
  /// stream into memory and Merge it.
  virtual arrow::Result<MergeResult> MergeExtract(
      std::shared_ptr<arrow::RecordBatchReader> extract, const MergeOptions& options);

  /// Deletes the rows options.where selects, in one atomic commit. Files are pruned by
  /// partition values and statistics; a file whose every row is selected by partition
  /// predicates alone is removed unread (unless the table records a change data feed).
  /// Other files with a selected row are rewritten without it, or, on a table that marks
  /// deleted rows (deletion vectors), keep their rows with those marked. The result
  /// counts rows_deleted and the files scanned, rewritten and marked. Fails naming an
  /// unknown column or a literal that does not convert.
  virtual arrow::Result<MergeResult> Delete(const RowChangeOptions& options) = 0;

  /// Sets columns of the rows options.where selects, in one atomic commit, as Delete
  /// finds and rewrites (or marks) them; their new versions are written as new rows (a
  /// row whose partition column changes moves to its new partition). The result counts
  /// rows_updated. Fails naming an unknown column, a key it cannot set (a non-primitive
  /// or non-nullable column set to null) or a value that does not convert.
  virtual arrow::Result<MergeResult> Update(const UpdateOptions& options) = 0;

  /// Compacts small files (bin-packing per partition, optionally in Z-order) in one
  /// commit that changes no rows (dataChange=false): readers, the change data feed and
  /// concurrent appends are unaffected. A concurrent commit that removed one of the files
  /// makes it plan again (options.max_attempts).
  virtual arrow::Result<OptimizeResult> Optimize(const OptimizeOptions& options) = 0;

  /// Deletes data files (and deletion vectors, change data, inlet's tombstone files) that
  /// no version within the retention reads and that are older than it. Never touches the
  /// table's metadata files. Records that it ran in the table's history when it deletes
  /// anything.
  virtual arrow::Result<VacuumResult> Vacuum(const VacuumOptions& options) = 0;

  /// Compacts the table's metadata so that readers load the latest snapshot fast, then
  /// deletes metadata files whose retention has expired and that no remaining snapshot
  /// needs (docs/formats.md: for Delta Lake a checkpoint, and log files past the log
  /// retention, default 30 days).
  virtual arrow::Result<CheckpointResult> Checkpoint() = 0;

  /// The table as of target (a version or a time), committed as a new version: files of
  /// that version the table no longer has are added back (they must not have been
  /// vacuumed), the others removed; its metadata and application documents (pipeline
  /// states) come back too, its protocol and application numbers stay. Fails on the
  /// current version, and when a concurrent commit changed the table.
  virtual arrow::Result<RestoreResult> Restore(const SnapshotSpec& target) = 0;
};

/// Releases what tables on object storage hold process-wide (Arrow's S3 support, if it
/// was used). Call once before the process exits, after every Table and Snapshot is gone.
void FinalizeObjectStorage();

}  // namespace inlet
