#include "inlet/iceberg/iceberg_table.h"

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/type.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "inlet/common/uuid.h"
#include "inlet/iceberg/transaction.h"
#include "inlet/status.h"
#include "inlet/table/app_objects.h"
#include "inlet/table/merge.h"

namespace inlet::iceberg {

namespace {

constexpr char kMetadataDir[] = "metadata";
constexpr char kSuffix[] = ".metadata.json";

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() &&
         s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The version number in a metadata file's name: v<N>.metadata.json (file-system tables)
// or <N>-<uuid>.metadata.json (catalogs); -1 for other names.
int64_t VersionOf(const std::string& name) {
  if (!EndsWith(name, kSuffix)) return -1;
  size_t start = name[0] == 'v' ? 1 : 0;
  size_t end = start;
  while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
  if (end == start) return -1;
  if (name[end] != '-' && name.compare(end, std::string::npos, kSuffix) != 0) return -1;
  return std::strtoll(name.substr(start, end - start).c_str(), nullptr, 10);
}

// The current metadata file of a table directory, relative to it; empty when it has
// none.
arrow::Result<std::string> CurrentMetadataFile(const TableStore& store) {
  auto hint = store.ReadFile(std::string(kMetadataDir) + "/version-hint.text");
  if (hint.ok()) {
    std::string text = (*hint)->ToString();
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
      text.pop_back();
    if (!text.empty()) {
      // A number N (v<N>.metadata.json) or a file name.
      bool digits = std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
      if (!digits) return std::string(kMetadataDir) + "/" + text;
      // The hint is written after the metadata file it names: a newer file may exist.
      int64_t n = std::strtoll(text.c_str(), nullptr, 10);
      for (;;) {
        std::string next =
            std::string(kMetadataDir) + "/v" + std::to_string(n + 1) + kSuffix;
        ARROW_ASSIGN_OR_RAISE(auto info, store.fs()->GetFileInfo(store.Resolve(next)));
        if (info.type() != arrow::fs::FileType::File) break;
        ++n;
      }
      return std::string(kMetadataDir) + "/v" + std::to_string(n) + kSuffix;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto listed, store.List(kMetadataDir, ListDetail::kNames));
  std::string best;
  int64_t best_version = -1;
  for (const auto& info : listed) {
    std::string name = info.base_name();
    int64_t v = VersionOf(name);
    if (v > best_version) {
      best_version = v;
      best = name;
    }
  }
  if (best.empty()) return best;
  return std::string(kMetadataDir) + "/" + best;
}

// The metadata file a catalog names for a table; a missing one names both.
arrow::Result<std::string> ReadNamedMetadata(const Catalog& catalog,
                                             const TableIdent& ident,
                                             const TableStore& store,
                                             const std::string& uri) {
  auto text = ReadWhole(store, uri);
  if (!text.ok())
    return text.status().WithMessage(catalog.description(), " names ", uri,
                                     " as the metadata of ", ident.ToString(), ": ",
                                     text.status().message());
  return text;
}

std::string Parent(const std::string& uri) {
  auto slash = uri.find_last_of('/');
  return slash == std::string::npos ? "." : uri.substr(0, slash);
}

}  // namespace

// Iceberg's file locations are literal strings, not percent-encoded URIs (Java passes
// them to Hadoop's Path, which keeps '%' as it is): a partition directory pyiceberg
// escaped to "d%C3%A9l" is named so on disk.
std::string FilePath(const TableStore& store, const std::string& uri) {
  std::string path = uri;
  if (path.rfind("file://", 0) == 0) return path.substr(7);
  if (path.rfind("file:", 0) == 0) return path.substr(5);
  if (path.rfind("s3://", 0) == 0) return path.substr(5);
  if (path.rfind("s3a://", 0) == 0) return path.substr(6);
  if (!path.empty() && path[0] == '/' && store.local()) return path;
  return store.Resolve(path);
}

arrow::Result<std::string> ReadWhole(const TableStore& store, const std::string& uri) {
  std::string path = FilePath(store, uri);
  auto file = store.fs()->OpenInputFile(path);
  if (!file.ok())
    return file.status().WithMessage("cannot read ", uri, ": ", file.status().message());
  auto buffer = (*file)->Read(*(*file)->GetSize());
  if (!buffer.ok())
    return buffer.status().WithMessage("cannot read ", uri, ": ",
                                       buffer.status().message());
  return (*buffer)->ToString();
}

// ---------------------------------------------------------------------------------------
// IcebergTable

arrow::Result<bool> IcebergTable::Holds(const std::string& uri,
                                        const StorageOptions& storage) {
  if (EndsWith(uri, kSuffix)) return true;
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(uri, storage));
  // A storage error is an error, not "no Iceberg table": a Delta log must never be
  // started in an Iceberg table's directory because a listing failed once.
  ARROW_ASSIGN_OR_RAISE(auto log, store->fs()->GetFileInfo(store->Resolve("_delta_log")));
  if (log.type() == arrow::fs::FileType::Directory) return false;
  ARROW_ASSIGN_OR_RAISE(auto current, CurrentMetadataFile(*store));
  return !current.empty();
}

arrow::Result<std::shared_ptr<IcebergTable>> IcebergTable::Open(
    const std::string& uri, const StorageOptions& storage) {
  if (EndsWith(uri, kSuffix)) {
    std::string dir = Parent(uri);
    ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(dir, storage));
    std::string file = uri.substr(dir.size() + 1);
    return std::shared_ptr<IcebergTable>(new IcebergTable(store, uri, file, storage));
  }
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(uri, storage));
  ARROW_ASSIGN_OR_RAISE(auto current, CurrentMetadataFile(*store));
  if (current.empty())
    return TableNotFound("not an Iceberg table: " + store->location() +
                         " (no metadata/*.metadata.json)");
  return std::shared_ptr<IcebergTable>(
      new IcebergTable(store, store->location(), "", storage));
}

arrow::Result<std::shared_ptr<IcebergTable>> IcebergTable::OpenInCatalog(
    std::shared_ptr<Catalog> catalog, TableIdent ident, const StorageOptions& storage,
    bool create, const std::string& location) {
  ARROW_ASSIGN_OR_RAISE(auto current, catalog->CurrentMetadata(ident));
  std::string root;
  if (current) {
    // The table's files are where its metadata says, which the store must reach.
    ARROW_ASSIGN_OR_RAISE(auto dir, TableStore::Make(Parent(*current), storage));
    ARROW_ASSIGN_OR_RAISE(auto text, ReadNamedMetadata(*catalog, ident, *dir, *current));
    ARROW_ASSIGN_OR_RAISE(auto metadata, ParseMetadata(text, *current));
    root = metadata.location;
  } else if (!create) {
    return TableNotFound("no table " + ident.ToString() + " in " +
                         catalog->description());
  } else if (!location.empty()) {
    root = location;
  } else {
    ARROW_ASSIGN_OR_RAISE(root, catalog->DefaultLocation(ident));
  }
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(root, storage));
  std::shared_ptr<IcebergTable> table(
      new IcebergTable(store, store->location(), "", storage));
  table->catalog_ = std::move(catalog);
  table->ident_ = std::move(ident);
  return table;
}

arrow::Result<std::shared_ptr<IcebergTable>> IcebergTable::Create(
    const std::string& uri, const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(uri, storage));
  return std::shared_ptr<IcebergTable>(
      new IcebergTable(store, store->location(), "", storage));
}

arrow::Result<std::shared_ptr<const TableStore>> IcebergTable::RootStore() const {
  if (!metadata_file_.empty())
    return arrow::Status::Invalid("cannot write to ", location_,
                                  ": a table opened from one metadata file is read-only "
                                  "(name its directory)");
  return dir_store_;
}

std::string IcebergTable::TableUri() const {
  return (dir_store_->local() ? "file://" : "s3://") + dir_store_->root();
}

arrow::Result<WriteBase> IcebergTable::LoadForWrite() const {
  ARROW_RETURN_NOT_OK(RootStore().status());
  WriteBase out;
  if (catalog_) {
    ARROW_ASSIGN_OR_RAISE(auto current, catalog_->CurrentMetadata(ident_));
    if (!current) return out;
    out.metadata_uri = *current;
    out.file_version =
        std::max<int64_t>(VersionOf(current->substr(current->rfind('/') + 1)), 0);
  } else {
    ARROW_ASSIGN_OR_RAISE(auto current, CurrentMetadataFile(*dir_store_));
    if (current.empty()) return out;
    std::string name = current.substr(current.find_last_of('/') + 1);
    if (name[0] != 'v' || VersionOf(name) < 0)
      return arrow::Status::Invalid("cannot write to ", location_,
                                    " by its path: its Iceberg metadata file ", name,
                                    " is named by a catalog; write through the catalog "
                                    "(--catalog URI namespace.table)");
    ARROW_RETURN_NOT_OK(CheckNoCatalogFiles());
    out.file_version = VersionOf(name);
    out.metadata_uri = TableUri() + "/" + current;
  }
  ARROW_ASSIGN_OR_RAISE(auto loaded, LoadMetadata());
  out.metadata = loaded.second;
  if (catalog_) {
    // The metadata read may be newer than the pointer looked up above: commit on it.
    out.metadata_uri = loaded.first;
    out.file_version =
        std::max<int64_t>(VersionOf(loaded.first.substr(loaded.first.rfind('/') + 1)), 0);
  }
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(out.metadata->location, storage_));
  out.snapshot = std::make_shared<IcebergSnapshot>(store, out.metadata, loaded.first,
                                                   out.metadata->CurrentSnapshot());
  return out;
}

arrow::Result<std::string> IcebergTable::MetadataFileRel() const {
  if (!metadata_file_.empty()) return metadata_file_;
  ARROW_ASSIGN_OR_RAISE(auto rel, CurrentMetadataFile(*dir_store_));
  if (rel.empty())
    return TableNotFound("not an Iceberg table: " + location_ +
                         " (no metadata/*.metadata.json)");
  return rel;
}

arrow::Result<std::string> IcebergTable::MetadataUri() const {
  if (catalog_) {
    ARROW_ASSIGN_OR_RAISE(auto loaded, LoadMetadata());
    return loaded.first;
  }
  ARROW_ASSIGN_OR_RAISE(std::string rel, MetadataFileRel());
  return TableUri() + "/" + rel;
}

arrow::Result<std::string> IcebergTable::CatalogEntry() const {
  if (!metadata_file_.empty() || catalog_) return MetadataUri();
  ARROW_ASSIGN_OR_RAISE(auto base, LoadForWrite());
  if (!base.metadata)
    return TableNotFound("not an Iceberg table: " + location_ +
                         " (no metadata/*.metadata.json)");
  TableMetadata m = *base.metadata;
  m.metadata_log.push_back(MetadataLogEntry{m.last_updated_ms, base.metadata_uri});
  ARROW_ASSIGN_OR_RAISE(auto text, SerializeMetadata(m));
  return PutNamedMetadata(base.file_version + 1, text);
}

arrow::Result<std::string> IcebergTable::PutNamedMetadata(int64_t version,
                                                          const std::string& text) const {
  ARROW_RETURN_NOT_OK(dir_store_->CreateDir(kMetadataDir));
  char number[32];
  std::snprintf(number, sizeof(number), "%05lld", static_cast<long long>(version));
  std::string rel = std::string(kMetadataDir) + "/" + number + "-" + NewUuid() + kSuffix;
  ARROW_ASSIGN_OR_RAISE(bool created, dir_store_->PutIfAbsent(rel, text));
  if (!created)
    return arrow::Status::IOError("cannot write ", dir_store_->Resolve(rel),
                                  ": it exists already");
  return TableUri() + "/" + rel;
}

void IcebergTable::DiscardCatalogEntry(const std::string& uri) const {
  if (!metadata_file_.empty() || catalog_) return;
  (void)dir_store_->fs()->DeleteFile(FilePath(*dir_store_, uri));
}

arrow::Status IcebergTable::CheckNoCatalogFiles() const {
  ARROW_ASSIGN_OR_RAISE(auto listed, dir_store_->List(kMetadataDir, ListDetail::kNames));
  for (const auto& info : listed) {
    std::string name = info.base_name();
    if (VersionOf(name) >= 0 && name[0] != 'v')
      return arrow::Status::Invalid(
          "cannot write to ", location_, " by its path: a catalog has committed to it (",
          kMetadataDir, "/", name,
          "); write through the catalog (--catalog URI "
          "namespace.table), or its commits and these would fork the table");
  }
  return arrow::Status::OK();
}

arrow::Result<bool> IcebergTable::CommitMetadata(const WriteBase& base,
                                                 const TableMetadata& next,
                                                 const std::string& text) const {
  if (catalog_ && catalog_->TakesUpdates())
    return catalog_->CommitUpdates(ident_, base.metadata.get(), next);
  if (catalog_) return SwapInCatalog(base, text);
  return PutMetadata(base.file_version + 1, text);
}

arrow::Result<bool> IcebergTable::SwapInCatalog(const WriteBase& base,
                                                const std::string& text) const {
  ARROW_ASSIGN_OR_RAISE(std::string uri, PutNamedMetadata(base.file_version + 1, text));
  ARROW_ASSIGN_OR_RAISE(bool swapped,
                        base.metadata_uri.empty()
                            ? catalog_->AddTable(ident_, uri)
                            : catalog_->SwapMetadata(ident_, base.metadata_uri, uri));
  // The catalog never pointed at the file: nobody reads it.
  if (!swapped) (void)dir_store_->fs()->DeleteFile(FilePath(*dir_store_, uri));
  return swapped;
}

arrow::Result<bool> IcebergTable::PutMetadata(int64_t version,
                                              const std::string& text) const {
  ARROW_RETURN_NOT_OK(dir_store_->CreateDir(kMetadataDir));
  std::string rel = std::string(kMetadataDir) + "/v" + std::to_string(version) + kSuffix;
  ARROW_ASSIGN_OR_RAISE(bool created, dir_store_->PutIfAbsent(rel, text));
  if (!created) return false;
  // Readers that follow the hint (DuckDB, pyiceberg) find the new file; a stale hint is
  // harmless to inlet, which looks past it.
  const std::string hint = std::string(kMetadataDir) + "/version-hint.text";
  (void)dir_store_->PutReplace(hint, std::to_string(version));
  // A faster writer may have committed v<version+1> and written its hint before this
  // one: point the hint at the newest file again.
  for (int64_t newest = version;;) {
    std::string next =
        std::string(kMetadataDir) + "/v" + std::to_string(newest + 1) + kSuffix;
    auto info = dir_store_->fs()->GetFileInfo(dir_store_->Resolve(next));
    if (!info.ok() || info->type() != arrow::fs::FileType::File) {
      if (newest != version) (void)dir_store_->PutReplace(hint, std::to_string(newest));
      break;
    }
    ++newest;
  }
  return true;
}

arrow::Result<std::pair<std::string, std::shared_ptr<const TableMetadata>>>
IcebergTable::LoadMetadata() const {
  if (catalog_) {
    ARROW_ASSIGN_OR_RAISE(auto current, catalog_->CurrentMetadata(ident_));
    if (!current)
      return TableNotFound("no table " + ident_.ToString() + " in " +
                           catalog_->description());
    ARROW_ASSIGN_OR_RAISE(auto text,
                          ReadNamedMetadata(*catalog_, ident_, *dir_store_, *current));
    ARROW_ASSIGN_OR_RAISE(auto parsed, ParseMetadata(text, *current));
    return std::make_pair(*current,
                          std::make_shared<const TableMetadata>(std::move(parsed)));
  }
  ARROW_ASSIGN_OR_RAISE(std::string rel, MetadataFileRel());
  auto bytes = dir_store_->ReadFile(rel);
  std::string name = dir_store_->Resolve(rel);
  if (!bytes.ok()) {
    if (bytes.status().IsIOError() && !metadata_file_.empty())
      return TableNotFound("cannot read Iceberg metadata file " + name + ": " +
                           bytes.status().message());
    return bytes.status().WithMessage("cannot read Iceberg metadata file ", name, ": ",
                                      bytes.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(auto parsed, ParseMetadata((*bytes)->ToString(), name));
  return std::make_pair(name, std::make_shared<const TableMetadata>(std::move(parsed)));
}

arrow::Result<std::shared_ptr<inlet::Snapshot>> IcebergTable::GetSnapshot(
    const SnapshotSpec& spec) const {
  ARROW_ASSIGN_OR_RAISE(auto loaded, LoadMetadata());
  auto& [file, metadata] = loaded;
  // Data files are named by absolute URIs; relative ones resolve against the location.
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(metadata->location, storage_));
  const iceberg::Snapshot* chosen = metadata->CurrentSnapshot();
  if (spec.version) {
    if (metadata->format_version == 1)
      return arrow::Status::Invalid(
          "Iceberg table ", location_,
          " is format version 1, whose snapshots have no sequence "
          "numbers: choose one by --ref SNAPSHOT_ID or --as-of");
    chosen = nullptr;
    for (const auto& s : metadata->snapshots)
      if (s.sequence_number == *spec.version) chosen = &s;
    if (!chosen)
      return arrow::Status::Invalid("Iceberg table ", location_, " has no snapshot with ",
                                    "sequence number ", *spec.version,
                                    " (inlet history lists them)");
  } else if (spec.timestamp_ms) {
    chosen = nullptr;
    for (const auto& e : metadata->snapshot_log)
      if (e.timestamp_ms <= *spec.timestamp_ms)
        chosen = metadata->SnapshotById(e.snapshot_id);
    if (!chosen)
      return arrow::Status::Invalid("Iceberg table ", location_,
                                    " has no snapshot at or before that time");
  } else if (spec.ref) {
    chosen = nullptr;
    if (auto it = metadata->refs.find(*spec.ref); it != metadata->refs.end()) {
      chosen = metadata->SnapshotById(it->second.snapshot_id);
    } else {
      char* end = nullptr;
      long long id = std::strtoll(spec.ref->c_str(), &end, 10);
      if (end && *end == '\0' && !spec.ref->empty()) chosen = metadata->SnapshotById(id);
    }
    if (!chosen)
      return arrow::Status::Invalid("Iceberg table ", location_,
                                    " has no snapshot, tag or ", "branch '", *spec.ref,
                                    "'");
  }
  bool travelled = spec.version || spec.timestamp_ms || spec.ref;
  return std::make_shared<IcebergSnapshot>(store, metadata, file, chosen, travelled);
}

arrow::Result<std::vector<HistoryEntry>> IcebergTable::History(int64_t limit) const {
  ARROW_ASSIGN_OR_RAISE(auto loaded, LoadMetadata());
  const auto& m = *loaded.second;
  std::vector<const iceberg::Snapshot*> snaps;
  for (const auto& s : m.snapshots) snaps.push_back(&s);
  std::sort(snaps.begin(), snaps.end(), [](const auto* a, const auto* b) {
    return a->sequence_number > b->sequence_number;
  });
  std::vector<HistoryEntry> out;
  for (const auto* s : snaps) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    HistoryEntry e;
    e.version = s->sequence_number;
    e.timestamp_ms = s->timestamp_ms;
    e.operation = s->operation();
    Json summary = Json::object();
    for (const auto& [k, v] : s->summary) summary[k] = v;
    Json info = {{"snapshot-id", s->snapshot_id}, {"summary", summary}};
    if (s->parent_snapshot_id) info["parent-snapshot-id"] = *s->parent_snapshot_id;
    e.commit_info_json = DumpJson(info);
    out.push_back(std::move(e));
  }
  return out;
}

arrow::Status IcebergTable::ReadOnly(const char* what) const {
  return WithKind(arrow::Status::NotImplemented(
                      "cannot ", what, " ", location_, ": inlet does not ", what,
                      " Iceberg tables yet (read an older snapshot with --version, "
                      "--as-of or --ref; Spark's CALL system.rollback_to_snapshot rolls "
                      "the table back)"),
                  ErrorKind::kUnsupportedFeature);
}

arrow::Result<CommitResult> IcebergTable::Write(
    std::shared_ptr<arrow::RecordBatchReader> data, const WriteOptions& options) {
  return table::Write(*this, std::move(data), options);
}

arrow::Result<std::unique_ptr<table::Transaction>> IcebergTable::Begin(
    const arrow::Schema& input, const WriteOptions& options, bool changes_rows) const {
  ARROW_ASSIGN_OR_RAISE(
      auto tx, IcebergWriteTransaction::Begin(*this, input, options, changes_rows));
  return tx;
}
arrow::Result<MergeResult> IcebergTable::Merge(std::shared_ptr<arrow::Table> source,
                                               const MergeOptions& options) {
  return table::Merge(*this, std::move(source), options);
}
arrow::Result<MergeResult> IcebergTable::MergeExtract(
    std::shared_ptr<arrow::RecordBatchReader> extract, const MergeOptions& options) {
  return table::MergeExtract(*this, std::move(extract), options);
}
arrow::Result<MergeResult> IcebergTable::Delete(const RowChangeOptions& options) {
  return table::ChangeRows(*this, options, nullptr);
}
arrow::Result<MergeResult> IcebergTable::Update(const UpdateOptions& options) {
  return table::ChangeRows(*this, options, &options.set);
}
arrow::Result<RestoreResult> IcebergTable::Restore(const SnapshotSpec&) {
  return ReadOnly("restore");
}

// ---------------------------------------------------------------------------------------
// IcebergSnapshot

namespace {

std::shared_ptr<arrow::Field> WithoutIds(const std::shared_ptr<arrow::Field>& f);

std::shared_ptr<arrow::DataType> TypeWithoutIds(
    const std::shared_ptr<arrow::DataType>& t) {
  switch (t->id()) {
    case arrow::Type::STRUCT: {
      arrow::FieldVector fields;
      for (const auto& f : t->fields()) fields.push_back(WithoutIds(f));
      return arrow::struct_(fields);
    }
    case arrow::Type::LIST:
      return arrow::list(
          WithoutIds(static_cast<const arrow::ListType&>(*t).value_field()));
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapType&>(*t);
      return std::make_shared<arrow::MapType>(WithoutIds(m.key_field()),
                                              WithoutIds(m.item_field()));
    }
    default:
      return t;
  }
}

std::shared_ptr<arrow::Field> WithoutIds(const std::shared_ptr<arrow::Field>& f) {
  return arrow::field(f->name(), TypeWithoutIds(f->type()), f->nullable());
}

}  // namespace

IcebergSnapshot::IcebergSnapshot(std::shared_ptr<const TableStore> store,
                                 std::shared_ptr<const TableMetadata> metadata,
                                 std::string metadata_file,
                                 const iceberg::Snapshot* snapshot, bool travelled)
    : store_(std::move(store)),
      metadata_(std::move(metadata)),
      metadata_file_(std::move(metadata_file)),
      snapshot_(snapshot),
      iceberg_schema_(metadata_->CurrentSchema()) {
  if (travelled && snapshot_ && snapshot_->schema_id) {
    if (const auto* s = metadata_->SchemaById(*snapshot_->schema_id)) iceberg_schema_ = s;
  }
  arrow::FieldVector fields;
  for (const auto& f : iceberg_schema_->arrow_schema->fields())
    fields.push_back(WithoutIds(f));
  schema_ = arrow::schema(fields);
  if (const auto* spec = metadata_->DefaultSpec()) {
    for (const auto& f : spec->fields) partition_columns_.push_back(f.name);
  }
}

int64_t IcebergSnapshot::version() const {
  return snapshot_ ? snapshot_->sequence_number : 0;
}

std::string IcebergSnapshot::snapshot_id() const {
  return snapshot_ ? std::to_string(snapshot_->snapshot_id) : "";
}

TableInfo IcebergSnapshot::Info() const {
  TableInfo info;
  info.format = "iceberg";
  info.location = metadata_->location;
  info.version = version();
  info.snapshot_id = snapshot_id();
  info.timestamp_ms = snapshot_ ? snapshot_->timestamp_ms : metadata_->last_updated_ms;
  info.schema = schema_;
  for (const auto& f : schema_->fields()) info.type_names.push_back(TypeName(*f->type()));
  info.partition_columns = partition_columns_;
  info.id = metadata_->table_uuid;
  info.properties = metadata_->properties;
  if (snapshot_) {
    info.num_files = IntValue(snapshot_->summary, "total-data-files", 0);
    info.size_bytes = IntValue(snapshot_->summary, "total-files-size", 0);
  }
  Json spec = Json::array();
  if (const auto* s = metadata_->DefaultSpec()) {
    for (const auto& f : s->fields) {
      std::string source;
      FindFieldById(*iceberg_schema_->arrow_schema, f.source_id, &source);
      spec.push_back(
          Json{{"name", f.name}, {"transform", f.transform}, {"source", source}});
    }
  }
  Json details = {{"format_version", metadata_->format_version},
                  {"metadata_file", metadata_file_},
                  {"current_schema_id", metadata_->current_schema_id},
                  {"partition_spec", spec},
                  {"snapshots", metadata_->snapshots.size()}};
  info.format_details = DumpJson(details);
  return info;
}

std::optional<int64_t> IcebergSnapshot::RowCount() const {
  if (!snapshot_) return 0;
  if (IntValue(snapshot_->summary, "total-position-deletes", 0) != 0 ||
      IntValue(snapshot_->summary, "total-equality-deletes", 0) != 0 ||
      IntValue(snapshot_->summary, "total-delete-files", 0) != 0)
    return std::nullopt;
  int64_t rows = IntValue(snapshot_->summary, "total-records", -1);
  if (rows < 0) return std::nullopt;
  return rows;
}

// Application states are snapshot summary keys (kAppVersionKey, kAppDocumentKey + app);
// the newest snapshot of the ancestry that has one says. inlet's commits carry every
// key forward, so that a snapshot another engine wrote on top only adds a step. They are
// also mirrored in table properties of the same names, which no engine's snapshot expiry
// removes: the current snapshot reads them there when the snapshots inlet wrote have
// been expired (by Spark's expire_snapshots after its own commits, say).
arrow::Result<std::optional<std::string>> IcebergSnapshot::AppKey(
    const std::string& key) const {
  auto ancestry = metadata_->Ancestry(snapshot_);
  for (const auto* s : ancestry) {
    if (auto it = s->summary.find(key); it != s->summary.end()) return it->second;
    // inlet's snapshots carry every application's keys: the newest one is authoritative.
    if (s->summary.count("inlet.operation")) return std::nullopt;
  }
  const iceberg::Snapshot* oldest = ancestry.empty() ? nullptr : ancestry.back();
  const bool expired = oldest && oldest->parent_snapshot_id &&
                       !metadata_->SnapshotById(*oldest->parent_snapshot_id);
  if (snapshot_ == metadata_->CurrentSnapshot() && UseAppMirror(*metadata_, snapshot_)) {
    auto it = metadata_->properties.find(key);
    if (it == metadata_->properties.end()) return std::nullopt;
    return it->second;
  }
  if (expired)
    return arrow::Status::Invalid(
        "cannot read the state of ", key, " in ", store_->location(), ": snapshot ",
        oldest->snapshot_id,
        "'s ancestors were expired before any snapshot inlet wrote, so "
        "the state is unknown (keep at least the newest snapshot inlet wrote)");
  return std::nullopt;
}

std::optional<int64_t> IcebergSnapshot::AppVersion(const std::string& app_id) const {
  // An unknown state (expired history) reads as none here; AppDocument, which every
  // pipeline reads first, fails on it.
  auto found = AppKey(kAppVersionKey + app_id);
  std::optional<std::string> v = found.ok() ? *found : std::nullopt;
  if (!v) return std::nullopt;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (!end || *end != '\0') return std::nullopt;
  return n;
}

arrow::Result<std::optional<std::string>> IcebergSnapshot::AppDocument(
    const std::string& app_id) const {
  auto found = AppKey(kAppDocumentKey + app_id);
  if (!found.ok()) {
    // The history was expired before any snapshot inlet wrote: the state is unknown if
    // the application ever kept a document here, and there is none if it never did.
    std::string object = table::AppObjectPath(app_id, 0);
    ARROW_ASSIGN_OR_RAISE(
        auto kept, store_->List(object.substr(0, object.rfind('/')), ListDetail::kNames));
    if (!kept.empty()) return found.status();
    return std::nullopt;
  }
  const std::optional<std::string>& v = *found;
  if (!v) return std::nullopt;
  char* end = nullptr;
  long long id = std::strtoll(v->c_str(), &end, 10);
  if (!end || *end != '\0' || id < 0)
    return arrow::Status::Invalid("snapshot ", snapshot_id(), " of ", store_->location(),
                                  ": malformed ", kAppDocumentKey, app_id, " '", *v, "'");
  if (id == 0) return std::nullopt;  // cleared
  ARROW_ASSIGN_OR_RAISE(
      auto text, table::ReadAppObject(*store_, app_id, id, "snapshot " + snapshot_id()));
  return text;
}

bool IcebergSnapshot::HasAppDocument(const std::string& app_id) const {
  auto v = AppKey(kAppDocumentKey + app_id);
  return v.ok() && *v && **v != "0";
}

arrow::Result<std::map<std::string, std::string>> IcebergSnapshot::AppDocuments(
    const std::string& prefix) const {
  std::set<std::string> apps;
  const std::string key_prefix = kAppDocumentKey + prefix;
  for (const auto* s : metadata_->Ancestry(snapshot_)) {
    for (const auto& [k, v] : s->summary)
      if (k.rfind(key_prefix, 0) == 0) apps.insert(k.substr(sizeof(kAppDocumentKey) - 1));
  }
  if (snapshot_ == metadata_->CurrentSnapshot() && UseAppMirror(*metadata_, snapshot_))
    for (const auto& [k, v] : metadata_->properties)
      if (k.rfind(key_prefix, 0) == 0) apps.insert(k.substr(sizeof(kAppDocumentKey) - 1));
  std::map<std::string, std::string> out;
  for (const auto& app : apps) {
    ARROW_ASSIGN_OR_RAISE(auto document, AppDocument(app));
    if (document) out[app] = std::move(*document);
  }
  return out;
}

}  // namespace inlet::iceberg
