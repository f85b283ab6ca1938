#include "inlet/table/tombstones.h"

#include <arrow/compute/api.h>

#include <algorithm>
#include <set>

#include "inlet/table/data_writer.h"
#include "inlet/table/parquet_file.h"

namespace inlet::table {

namespace {

// Compaction starts once a table keeps this many tombstone files.
constexpr size_t kMaxFiles = 16;

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

arrow::Result<std::string> Unhex(const std::string& text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() % 2) return arrow::Status::Invalid("bad sequence floor '", text, "'");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0)
      return arrow::Status::Invalid("bad sequence floor '", text, "'");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

arrow::Result<std::vector<std::string>> Strings(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key) || !j[key].is_array())
    return arrow::Status::Invalid("'", key, "' is not a list");
  for (const auto& v : j[key]) {
    if (!v.is_string()) return arrow::Status::Invalid("'", key, "' holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::string List(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

arrow::Result<Tombstones> Tombstones::Load(std::shared_ptr<const TableStore> store,
                                           const Snapshot* base,
                                           const arrow::Schema& schema,
                                           std::vector<std::string> keys,
                                           std::vector<std::string> sequence_by,
                                           bool every_delete) {
  arrow::FieldVector fields;
  std::set<std::string> seen;
  for (const auto* names : {&keys, &sequence_by}) {
    for (const auto& name : *names) {
      if (!seen.insert(name).second) continue;
      auto f = schema.GetFieldByName(name);
      if (!f) return arrow::Status::Invalid("column '", name, "' is not in the table");
      fields.push_back(arrow::field(name, f->type()));
    }
  }
  Tombstones t(std::move(store), arrow::schema(fields), std::move(keys),
               std::move(sequence_by), every_delete);
  if (!base) return t;
  ARROW_ASSIGN_OR_RAISE(auto text, base->AppDocument(kTombstoneApp));
  if (!text) return t;
  auto what = std::string("the remembered deletes (") + kTombstoneApp + ")";
  ARROW_ASSIGN_OR_RAISE(auto j, ParseJson(*text, what));
  ARROW_ASSIGN_OR_RAISE(auto kept_keys, Strings(j, "keys"));
  ARROW_ASSIGN_OR_RAISE(auto kept_sequence, Strings(j, "sequenceBy"));
  if (kept_keys != t.keys_ || kept_sequence != t.sequence_by_) {
    return arrow::Status::Invalid("the table remembers deletes by key (", List(kept_keys),
                                  ") and sequence (", List(kept_sequence),
                                  "), not by key (", List(t.keys_), ") and sequence (",
                                  List(t.sequence_by_), ")");
  }
  bool kept_every = j.contains("everyDelete") && j["everyDelete"].is_boolean() &&
                    j["everyDelete"].get<bool>();
  if (kept_every != every_delete) {
    return arrow::Status::Invalid(
        kept_every ? "the table keeps history (SCD type 2): merge into it with history"
                   : "the table keeps current rows only (SCD type 1): it cannot take a "
                     "history merge");
  }
  if (j.contains("files") && j["files"].is_array()) {
    for (const auto& f : j["files"]) {
      File file;
      ARROW_ASSIGN_OR_RAISE(file.path, GetString(f, "path", what));
      file.rows = GetIntOr(f, "rows", 0);
      file.size = GetIntOr(f, "size", 0);
      t.files_.push_back(std::move(file));
    }
  }
  if (j.contains("floor") && j["floor"].is_string()) {
    ARROW_ASSIGN_OR_RAISE(t.floor_, Unhex(j["floor"].get<std::string>()));
  }
  return t;
}

void Tombstones::RaiseFloor(const std::string& sequence) {
  if (floor_ && *floor_ >= sequence) return;
  floor_ = sequence;
}

arrow::Result<std::shared_ptr<arrow::Table>> Tombstones::ReadFile(const File& f) const {
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        OpenParquetFile(store_->fs(), store_->Resolve(f.path)));
  std::shared_ptr<arrow::Table> t;
  auto st = reader->ReadTable(&t);
  if (!st.ok())
    return st.WithMessage("cannot read tombstone file ", f.path, ": ", st.message());
  return t;
}

arrow::Status Tombstones::Scan(
    KeyEncoder* encoder, const KeyIndex& wanted,
    const std::function<arrow::Status(std::shared_ptr<arrow::Table>,
                                      std::vector<int64_t>)>& hit) const {
  for (const auto& f : files_) {
    ARROW_ASSIGN_OR_RAISE(auto t, ReadFile(f));
    ARROW_ASSIGN_OR_RAISE(auto ids, encoder->Encode(*t));
    std::vector<int64_t> matches = wanted.FindAll(ids);
    std::vector<int64_t> rows, hit_ids;
    for (size_t r = 0; r < ids.size(); ++r) {
      if (matches[r] < 0) continue;
      rows.push_back(static_cast<int64_t>(r));
      hit_ids.push_back(ids[r]);
    }
    if (rows.empty()) continue;
    ARROW_ASSIGN_OR_RAISE(auto hits, TakeRows(t, rows));
    ARROW_RETURN_NOT_OK(hit(std::move(hits), std::move(hit_ids)));
  }
  return arrow::Status::OK();
}

arrow::Result<std::unordered_map<int64_t, std::string>> Tombstones::Find(
    KeyEncoder* encoder, const KeyIndex& wanted) const {
  std::unordered_map<int64_t, std::string> out;
  ARROW_RETURN_NOT_OK(Scan(
      encoder, wanted, [&](std::shared_ptr<arrow::Table> hits, std::vector<int64_t> ids) {
        ARROW_ASSIGN_OR_RAISE(auto seqs, OrderedKeys(*hits, sequence_by_));
        for (size_t r = 0; r < ids.size(); ++r) {
          auto& best = out[ids[r]];
          if (seqs[r] > best) best = std::move(seqs[r]);
        }
        return arrow::Status::OK();
      }));
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> Tombstones::FindAll(
    KeyEncoder* encoder, const KeyIndex& wanted) const {
  std::vector<std::shared_ptr<arrow::Table>> parts;
  ARROW_RETURN_NOT_OK(Scan(encoder, wanted,
                           [&](std::shared_ptr<arrow::Table> hits, std::vector<int64_t>) {
                             ARROW_ASSIGN_OR_RAISE(auto conformed, Conform(*hits));
                             parts.push_back(conformed);
                             return arrow::Status::OK();
                           }));
  if (parts.empty()) return arrow::Table::MakeEmpty(schema_);
  return arrow::ConcatenateTables(parts);
}

// The key and sequence columns of rows, cast to the table's current types (a tombstone
// file may predate a widening).
arrow::Result<std::shared_ptr<arrow::Table>> Tombstones::Conform(
    const arrow::Table& rows) const {
  arrow::ChunkedArrayVector columns;
  for (const auto& f : schema_->fields()) {
    auto c = rows.GetColumnByName(f->name());
    if (!c)
      return arrow::Status::Invalid("tombstones: column '", f->name(), "' is missing");
    if (!c->type()->Equals(*f->type())) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, arrow::compute::Cast(c, f->type()));
      c = cast.chunked_array();
    }
    columns.push_back(c);
  }
  return arrow::Table::Make(schema_, columns, rows.num_rows());
}

arrow::Status Tombstones::Add(const std::shared_ptr<arrow::Table>& rows) {
  if (rows->num_rows() == 0) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto conformed, Conform(*rows));
  added_.push_back(conformed);
  return arrow::Status::OK();
}

arrow::Result<std::vector<Tombstones::File>> Tombstones::WriteFiles(
    const std::vector<std::shared_ptr<arrow::Table>>& tables) const {
  DataWriterOptions o;
  o.num_indexed_cols = 0;
  o.directory = kTombstoneDirectory;
  o.file_prefix = "tombstones";
  ARROW_ASSIGN_OR_RAISE(auto writer, DataWriter::Make(store_, schema_, o));
  for (const auto& t : tables) {
    arrow::TableBatchReader reader(*t);
    std::shared_ptr<arrow::RecordBatch> batch;
    while (true) {
      ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
      if (!batch) break;
      ARROW_RETURN_NOT_OK(writer->Write(batch));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto adds, writer->Finish());
  std::vector<File> out;
  for (const auto& a : adds)
    out.push_back(File{a.path, a.statistics.num_records, a.size_bytes});
  return out;
}

// Rewrites every tombstone into one file, one row per key (its latest delete; with
// every_delete, one per distinct delete) and none at or below the floor. Reads all of
// them: memory follows the number of deleted keys.
arrow::Status Tombstones::Compact() {
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& f : files_) {
    ARROW_ASSIGN_OR_RAISE(auto t, ReadFile(f));
    ARROW_ASSIGN_OR_RAISE(auto conformed, Conform(*t));
    tables.push_back(conformed);
  }
  ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(tables));
  KeyEncoder encoder(keys_);
  ARROW_ASSIGN_OR_RAISE(auto ids, encoder.Encode(*all));
  ARROW_ASSIGN_OR_RAISE(auto seqs, OrderedKeys(*all, sequence_by_));
  std::vector<int64_t> keep;
  if (every_delete_) {
    std::set<std::pair<int64_t, std::string>> seen;
    for (size_t r = 0; r < ids.size(); ++r) {
      if (seen.emplace(ids[r], seqs[r]).second) keep.push_back(static_cast<int64_t>(r));
    }
  } else {
    std::unordered_map<int64_t, int64_t> best;
    for (size_t r = 0; r < ids.size(); ++r) {
      if (floor_ && seqs[r] <= *floor_) continue;
      auto [it, inserted] = best.emplace(ids[r], static_cast<int64_t>(r));
      if (!inserted && seqs[r] > seqs[it->second]) it->second = static_cast<int64_t>(r);
    }
    for (const auto& [id, row] : best) keep.push_back(row);
  }
  std::sort(keep.begin(), keep.end());
  ARROW_ASSIGN_OR_RAISE(auto kept, TakeRows(all, keep));
  ARROW_ASSIGN_OR_RAISE(files_, WriteFiles({kept}));
  return arrow::Status::OK();
}

arrow::Result<std::string> Tombstones::Finish() {
  if (!added_.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto written, WriteFiles(added_));
    files_.insert(files_.end(), written.begin(), written.end());
    added_.clear();
  }
  if (files_.size() > kMaxFiles) ARROW_RETURN_NOT_OK(Compact());
  Json files = Json::array();
  for (const auto& f : files_)
    files.push_back(Json{{"path", f.path}, {"rows", f.rows}, {"size", f.size}});
  Json j{{"keys", keys_}, {"sequenceBy", sequence_by_}, {"files", files}};
  if (every_delete_) j["everyDelete"] = true;
  j["floor"] = floor_ ? Json(Hex(*floor_)) : Json(nullptr);
  return DumpJson(j);
}

arrow::Result<std::vector<std::string>> TombstoneFiles(const std::string& config) {
  auto what = std::string("the remembered deletes (") + kTombstoneApp + ")";
  ARROW_ASSIGN_OR_RAISE(auto j, ParseJson(config, what));
  std::vector<std::string> out;
  if (j.contains("files") && j["files"].is_array()) {
    for (const auto& f : j["files"]) {
      ARROW_ASSIGN_OR_RAISE(auto path, GetString(f, "path", what));
      out.push_back(std::move(path));
    }
  }
  return out;
}

}  // namespace inlet::table
