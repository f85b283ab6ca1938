#include "inlet/iceberg/deletes.h"

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_set>

#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/transaction.h"
#include "inlet/table/file_scan.h"
#include "inlet/table/parquet_file.h"
#include "inlet/table/row_bitmap.h"
#include "inlet/table/row_keys.h"

namespace inlet::iceberg {

namespace {

bool IsParquet(const DataFile& f) {
  return f.file_format == "PARQUET" || f.file_format == "parquet";
}

table::StoredField StoredOf(const arrow::Field& f) {
  table::StoredField out;
  out.physical_name = f.name();
  if (auto id = FieldId(f)) out.field_id = *id;
  return out;
}

// The columns of `file` with the given field ids, read by id in the scan schema's types
// (a column promoted since the file was written reads as it is now).
arrow::Result<std::shared_ptr<arrow::Table>> ReadColumns(
    const std::shared_ptr<const TableStore>& store, const arrow::Schema& with_ids,
    const std::map<int32_t, std::shared_ptr<arrow::Field>>& dropped,
    const std::vector<int32_t>& ids, const std::string& file_uri) {
  std::vector<table::ScanColumn> columns;
  arrow::FieldVector fields;
  for (int32_t id : ids) {
    std::shared_ptr<arrow::Field> field;
    for (const auto& f : with_ids.fields())
      if (FieldId(*f) == id) field = f;
    std::string name = field ? field->name() : "";
    if (!field) {
      // A column dropped since the delete was written: the files still hold it under
      // its id, typed as the newest schema that had it. Named apart, as a column of the
      // same name may have been added since.
      auto it = dropped.find(id);
      if (it == dropped.end())
        return arrow::Status::NotImplemented(
            "equality deletes compare ", file_uri, " by field id ", id,
            ", which is not a top-level column of any of the table's schemas");
      field = it->second;
      name = "__dropped_" + std::to_string(id);
    }
    auto plain = arrow::field(name, field->type(), field->nullable());
    columns.push_back({plain, StoredOf(*field), false});
    fields.push_back(plain);
  }
  table::ScanFile f;
  f.path = FilePath(*store, file_uri);
  f.name = file_uri;
  ARROW_ASSIGN_OR_RAISE(
      auto reader, table::ScanFiles(store, {f}, std::move(columns), arrow::schema(fields),
                                    {}, table::MatchBy::kFieldId, -1, 64 * 1024));
  return arrow::Table::FromRecordBatchReader(reader.get());
}

std::vector<std::string> Names(const arrow::Table& t) {
  return t.schema()->field_names();
}

// The rows position delete files remove, by data file path (URI as the manifests name
// it), with each delete's data sequence number.
arrow::Result<std::map<std::string, std::vector<std::pair<uint64_t, int64_t>>>>
ReadPositionDeletes(const TableStore& store, const std::vector<ManifestEntry>& deletes,
                    const std::set<std::string>& wanted) {
  std::map<std::string, std::vector<std::pair<uint64_t, int64_t>>> out;
  for (const auto& e : deletes) {
    const DataFile& f = e.file;
    if (f.content != FileContent::kPositionDeletes || !IsParquet(f)) continue;
    if (f.referenced_data_file && !wanted.count(*f.referenced_data_file)) continue;
    ARROW_ASSIGN_OR_RAISE(
        auto reader, OpenParquetFile(store.fs(), FilePath(store, f.file_path), 64 * 1024,
                                     ParquetReads::kSerial));
    std::shared_ptr<arrow::Table> rows;
    auto st = reader->ReadTable(&rows);
    if (!st.ok())
      return st.WithMessage("cannot read delete file ", f.file_path, ": ", st.message());
    auto paths = rows->GetColumnByName("file_path");
    auto positions = rows->GetColumnByName("pos");
    if (!paths || !positions)
      return arrow::Status::Invalid("delete file ", f.file_path,
                                    " lacks the file_path and pos columns");
    ARROW_ASSIGN_OR_RAISE(auto path_col, arrow::compute::Cast(paths, arrow::utf8()));
    ARROW_ASSIGN_OR_RAISE(auto pos_col, arrow::compute::Cast(positions, arrow::int64()));
    auto path_chunks = path_col.chunked_array();
    auto pos_chunks = pos_col.chunked_array();
    for (int c = 0; c < path_chunks->num_chunks(); ++c) {
      const auto& p = static_cast<const arrow::StringArray&>(*path_chunks->chunk(c));
      const auto& n = static_cast<const arrow::Int64Array&>(*pos_chunks->chunk(c));
      for (int64_t i = 0; i < p.length(); ++i) {
        std::string path(p.GetView(i));
        if (!wanted.count(path)) continue;
        out[path].emplace_back(static_cast<uint64_t>(n.Value(i)), e.sequence_number);
      }
    }
  }
  return out;
}

// A deletion-vector-v1 blob (spec "Deletion Vectors"): its length (4 bytes, big-endian),
// the magic and 64-bit portable roaring bitmap Delta's deletion vectors share, a CRC-32.
arrow::Result<std::vector<uint64_t>> ReadDeletionVector(const TableStore& store,
                                                        const DataFile& f) {
  if (!f.content_offset || !f.content_size_in_bytes)
    return arrow::Status::Invalid("deletion vector in ", f.file_path,
                                  " has no content_offset and content_size_in_bytes");
  auto file = store.fs()->OpenInputFile(FilePath(store, f.file_path));
  if (!file.ok())
    return file.status().WithMessage("cannot open deletion vector file ", f.file_path,
                                     ": ", file.status().message());
  ARROW_ASSIGN_OR_RAISE(auto blob,
                        (*file)->ReadAt(*f.content_offset, *f.content_size_in_bytes));
  if (blob->size() < 12)
    return arrow::Status::Invalid("deletion vector in ", f.file_path, " is truncated");
  const auto* b = blob->data();
  uint32_t length =
      (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  // The blob is the length, the magic and bitmap it counts, and a CRC-32.
  if (4 + static_cast<int64_t>(length) + 4 != blob->size())
    return arrow::Status::Invalid("deletion vector in ", f.file_path, " at offset ",
                                  *f.content_offset, ": its length ", length,
                                  " does not fit its blob of ", blob->size(), " bytes");
  std::string_view body(reinterpret_cast<const char*>(b + 4), length);
  const auto* c = b + 4 + length;
  uint32_t crc =
      (uint32_t{c[0]} << 24) | (uint32_t{c[1]} << 16) | (uint32_t{c[2]} << 8) | c[3];
  if (crc != table::Crc32(body))
    return arrow::Status::Invalid("deletion vector in ", f.file_path, " at offset ",
                                  *f.content_offset, " fails its CRC-32 check");
  // A deletion vector's record_count is its cardinality (spec "Deletion Vectors").
  std::optional<uint64_t> cardinality;
  if (f.record_count >= 0) cardinality = static_cast<uint64_t>(f.record_count);
  auto rows = table::DecodeRowBitmap(body, cardinality);
  if (!rows.ok())
    return rows.status().WithMessage("deletion vector in ", f.file_path, ": ",
                                     rows.status().message());
  return rows;
}

}  // namespace

bool IsDeletionVector(const DataFile& f) {
  return f.content == FileContent::kPositionDeletes &&
         (f.file_format == "PUFFIN" || f.file_format == "puffin");
}

struct DeleteIndex::State {
  std::shared_ptr<const TableStore> store;
  std::shared_ptr<arrow::Schema> with_ids;
  // Top-level columns of earlier schemas that the schema read lacks (dropped since), by
  // field id, as the newest schema that had them types them.
  std::map<int32_t, std::shared_ptr<arrow::Field>> dropped;
  // The partition fields' types of each spec that binds to the schema read.
  std::map<int32_t, arrow::FieldVector> partition_fields;

  // Whether two files of one spec are in the same partition: values compared in the
  // spec's types (a decimal written before its column was widened is the same number in
  // fewer bytes; NaN equals NaN), raw when the spec does not bind.
  bool SamePartition(const ManifestEntry& a, const ManifestEntry& b) const {
    if (a.spec_id != b.spec_id) return false;
    auto fields = partition_fields.find(a.spec_id);
    const auto& pa = a.file.partition;
    const auto& pb = b.file.partition;
    if (fields == partition_fields.end() || pa.size() != pb.size() ||
        pa.size() != fields->second.size())
      return pa == pb;
    for (size_t i = 0; i < pa.size(); ++i) {
      const auto& type = fields->second[i]->type();
      auto x = PartitionScalar(pa[i], type, a.file.file_path, fields->second[i]->name());
      auto y = PartitionScalar(pb[i], type, b.file.file_path, fields->second[i]->name());
      if (!x.ok() || !y.ok()) {
        if (!(pa[i] == pb[i])) return false;
        continue;
      }
      if ((*x)->is_valid != (*y)->is_valid) return false;
      if ((*x)->is_valid && !(*x)->Equals(**y, arrow::EqualOptions().nans_equal(true)))
        return false;
    }
    return true;
  }
  // Position deletes by data file, with their sequence numbers.
  std::map<std::string, std::vector<std::pair<uint64_t, int64_t>>> positions;
  // Deletion vectors by the data file they reference.
  std::map<std::string, std::vector<ManifestEntry>> vectors;
  // Equality delete files, and whether their spec is unpartitioned (global).
  std::vector<std::pair<ManifestEntry, bool>> equality;

  std::mutex mu;
  // Loaded equality delete files: the key of each deleted row.
  std::map<std::string, std::shared_ptr<const std::unordered_set<std::string>>> loaded;

  arrow::Result<std::shared_ptr<const std::unordered_set<std::string>>> Keys(
      const ManifestEntry& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = loaded.find(e.file.file_path); it != loaded.end()) return it->second;
    auto rows =
        ReadColumns(store, *with_ids, dropped, e.file.equality_ids, e.file.file_path);
    if (!rows.ok())
      return rows.status().WithMessage("cannot read equality delete file ",
                                       e.file.file_path, ": ", rows.status().message());
    ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(**rows, Names(**rows)));
    auto set = std::make_shared<const std::unordered_set<std::string>>(
        std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    loaded[e.file.file_path] = set;
    return set;
  }
};

arrow::Result<std::shared_ptr<DeleteIndex>> DeleteIndex::Make(
    std::shared_ptr<const TableStore> store, const TableMetadata& metadata,
    std::shared_ptr<arrow::Schema> with_ids, std::vector<ManifestEntry> deletes,
    const std::vector<const ManifestEntry*>& data) {
  auto index = std::make_shared<DeleteIndex>();
  auto state = std::make_shared<State>();
  state->store = store;
  state->with_ids = std::move(with_ids);
  std::set<int32_t> read_ids;
  for (const auto& f : state->with_ids->fields())
    if (auto id = FieldId(*f)) read_ids.insert(*id);
  std::vector<const Schema*> schemas;
  for (const auto& schema : metadata.schemas) schemas.push_back(&schema);
  std::sort(schemas.begin(), schemas.end(), [](const Schema* a, const Schema* b) {
    return a->schema_id > b->schema_id;  // newest first: it types the column
  });
  for (const Schema* schema : schemas) {
    for (const auto& f : schema->arrow_schema->fields()) {
      auto id = FieldId(*f);
      if (id && !read_ids.count(*id)) state->dropped.emplace(*id, f);
    }
  }
  for (const auto& spec : metadata.specs) {
    auto bound = BindSpec(spec, *state->with_ids);
    if (bound.ok()) state->partition_fields[spec.spec_id] = bound->fields;
  }
  std::vector<ManifestEntry> position_files;
  for (auto& e : deletes) {
    const DataFile& f = e.file;
    if (f.content == FileContent::kEqualityDeletes) {
      if (!IsParquet(f))
        return arrow::Status::NotImplemented("equality delete file ", f.file_path, " is ",
                                             f.file_format, ": inlet reads Parquet only");
      if (f.equality_ids.empty())
        return arrow::Status::Invalid("equality delete file ", f.file_path,
                                      " has no equality_ids");
      const PartitionSpec* spec = metadata.SpecById(e.spec_id);
      if (!spec)
        return arrow::Status::Invalid("equality delete file ", f.file_path,
                                      " names partition spec ", e.spec_id,
                                      ", which the table does not have");
      // Unpartitioned (no fields, or only void ones): the delete applies to every file.
      bool global =
          std::all_of(spec->fields.begin(), spec->fields.end(),
                      [](const PartitionField& p) { return p.transform == "void"; });
      state->equality.emplace_back(std::move(e), global);
    } else if (IsDeletionVector(f)) {
      if (!f.referenced_data_file)
        return arrow::Status::Invalid("deletion vector in ", f.file_path,
                                      " names no referenced_data_file");
      state->vectors[*f.referenced_data_file].push_back(std::move(e));
    } else if (IsParquet(f)) {
      position_files.push_back(std::move(e));
    } else {
      return arrow::Status::NotImplemented("delete file ", f.file_path, " is ",
                                           f.file_format);
    }
  }
  if (!position_files.empty()) {
    std::set<std::string> wanted;
    for (const auto* e : data) wanted.insert(e->file.file_path);
    ARROW_ASSIGN_OR_RAISE(state->positions,
                          ReadPositionDeletes(*store, position_files, wanted));
  }
  index->state_ = std::move(state);
  return index;
}

DeletedRows DeleteIndex::For(const ManifestEntry& data, bool positional_only) const {
  const std::string& path = data.file.file_path;
  const int64_t seq = data.sequence_number;
  // Positions and vectors apply to data files of their sequence number or older;
  // equality deletes to strictly older ones, in the same partition unless global.
  std::vector<uint64_t> positions;
  if (auto it = state_->positions.find(path); it != state_->positions.end())
    for (const auto& [pos, at] : it->second)
      if (at >= seq) positions.push_back(pos);
  std::vector<const ManifestEntry*> vectors, equality;
  if (auto it = state_->vectors.find(path); it != state_->vectors.end())
    for (const auto& e : it->second)
      if (e.sequence_number >= seq) vectors.push_back(&e);
  for (const auto& [e, global] : state_->equality)
    if (!positional_only && e.sequence_number > seq &&
        (global || state_->SamePartition(e, data)))
      equality.push_back(&e);
  if (positions.empty() && vectors.empty() && equality.empty()) return nullptr;
  auto state = state_;
  return [state, path, positions = std::move(positions), vectors,
          equality]() mutable -> arrow::Result<std::vector<uint64_t>> {
    for (const auto* e : vectors) {
      ARROW_ASSIGN_OR_RAISE(auto rows, ReadDeletionVector(*state->store, e->file));
      positions.insert(positions.end(), rows.begin(), rows.end());
    }
    // Equality deletes by the set of columns they compare.
    std::map<std::vector<int32_t>, std::vector<const ManifestEntry*>> by_ids;
    for (const auto* e : equality) by_ids[e->file.equality_ids].push_back(e);
    for (const auto& [ids, files] : by_ids) {
      ARROW_ASSIGN_OR_RAISE(auto rows, ReadColumns(state->store, *state->with_ids,
                                                   state->dropped, ids, path));
      ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(*rows, Names(*rows)));
      for (const auto* e : files) {
        ARROW_ASSIGN_OR_RAISE(auto deleted, state->Keys(*e));
        for (size_t i = 0; i < keys.size(); ++i)
          if (deleted->count(keys[i])) positions.push_back(i);
      }
    }
    std::sort(positions.begin(), positions.end());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    return positions;
  };
}

}  // namespace inlet::iceberg
