#include "inlet/table/extract_spill.h"

#include <arrow/io/buffered.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "inlet/common/read_ahead.h"
#include "inlet/table/merge_files.h"

namespace inlet::table {

namespace {

// A temporary file, unlinked at once: only the descriptor reaches it.
arrow::Result<int> UnnamedTempFile() {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  std::string name = (dir / "inlet-extract-XXXXXX").string();
  int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return arrow::Status::IOError("cannot create a temporary file in ", dir.string(),
                                  " for the extract: ", std::strerror(errno),
                                  " (set TMPDIR to a directory with room)");
  }
  ::unlink(name.c_str());
  return fd;
}

// "(id=7)" or "(region='eu', id=7)": the key of a row, for an error.
std::string KeyOf(const arrow::Table& rows, int64_t row,
                  const std::vector<std::string>& keys) {
  std::string out = "(";
  for (const auto& k : keys) {
    if (out.size() > 1) out += ", ";
    auto column = rows.GetColumnByName(k);
    auto scalar = column ? column->GetScalar(row) : arrow::Status::Invalid("");
    out += k + "=" + (scalar.ok() ? (*scalar)->ToString() : "?");
  }
  return out + ")";
}

// The columns of rows but skip.
std::vector<std::string> ColumnsBut(const arrow::Schema& rows, const std::string& skip) {
  std::vector<std::string> out;
  for (const auto& f : rows.fields()) {
    if (f->name() != skip) out.push_back(f->name());
  }
  return out;
}

// Indexes the keys (ids) of a batch whose rows are numbered from first, and marks in
// *repeats (appended, one per row) those whose key came before. `same` holds every row's
// hash so far, this batch's included: a repeat must hash as its key's first row.
arrow::Status MarkRepeats(const arrow::Table& rows, const std::vector<std::string>& keys,
                          const std::vector<int64_t>& ids,
                          const std::vector<RowHash>& same, int64_t first,
                          const std::string& location, KeyIndex* by_key,
                          std::vector<bool>* repeats, int64_t* count) {
  for (int64_t i = 0; i < rows.num_rows(); ++i) {
    if (i + 16 < rows.num_rows()) by_key->Prefetch(ids[i + 16]);
    auto [row, inserted] = by_key->Emplace(ids[i], first + i);
    if (!inserted && same[*row] != same[first + i]) {
      return arrow::Status::Invalid(
          "merge into ", location, ": the extract holds key ", KeyOf(rows, i, keys),
          " twice, with different values; nothing was committed");
    }
    repeats->push_back(!inserted);
    if (!inserted) ++*count;
  }
  return arrow::Status::OK();
}

}  // namespace

void TableRows::Reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n + n / 2 + 1) capacity *= 2;  // at most 2/3 full
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  shift_ = 64 - std::countr_zero(capacity);
  for (const Slot& s : old) {
    if ((s.lo & kStateBits) != kEmpty) SlotFor(s.key) = s;
  }
}

TableRows::Slot& TableRows::SlotFor(int64_t id) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(id);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if ((s.lo & kStateBits) == kEmpty || s.key == id) return s;
  }
}

const TableRows::Slot* TableRows::Find(int64_t id) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(id);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if ((s.lo & kStateBits) == kEmpty) return nullptr;
    if (s.key == id) return &s;
  }
}

arrow::Result<std::optional<TableRows>> TableRows::Read(
    FileReadAhead* reads, size_t files, const std::vector<std::string>& compare_columns,
    int64_t expected_rows, KeyEncoder* encoder) {
  TableRows t;
  t.Reserve(static_cast<size_t>(std::max<int64_t>(expected_rows, 0)));
  for (size_t f = 0; f < files; ++f) {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reads->NextBatch());
      if (!batch) break;  // the end of the file
      ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches({batch}));
      ARROW_ASSIGN_OR_RAISE(auto ids, encoder->Encode(*rows));
      ARROW_ASSIGN_OR_RAISE(auto hashes, HashRows(*batch, compare_columns));
      t.Reserve(t.size_ + ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 16 < ids.size()) t.Prefetch(ids[i + 16]);
        Slot& s = t.SlotFor(ids[i]);
        if ((s.lo & kStateBits) != kEmpty) return std::optional<TableRows>();
        s = Slot{ids[i], (hashes[i].lo & ~kStateBits) | kUnseen, hashes[i].hi};
        ++t.size_;
      }
    }
  }
  return std::optional<TableRows>(std::move(t));
}

TableRows::Seen TableRows::See(int64_t id, const RowHash& hash) {
  if (slots_.empty()) return Seen::kDiffers;
  Slot& row = SlotFor(id);
  const uint64_t state = row.lo & kStateBits;
  if (state == kEmpty) return Seen::kDiffers;  // a new key
  const bool equal =
      (row.lo & ~kStateBits) == (hash.lo & ~kStateBits) && row.hi == hash.hi;
  if (state == kSeenEqual) return equal ? Seen::kRepeat : Seen::kConflict;
  if (state == kSeenOther)  // repeats of a kept row are the spill's to judge
    return equal ? Seen::kConflict : Seen::kDiffers;
  row.lo |= equal ? kSeenEqual : kSeenOther;
  return equal ? Seen::kEqual : Seen::kDiffers;
}

std::vector<bool> TableRows::Given(const std::vector<int64_t>& ids) const {
  constexpr size_t kAhead = 16;  // keys whose slots are on their way
  std::vector<bool> out(ids.size(), false);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + kAhead < ids.size()) Prefetch(ids[i + kAhead]);
    const Slot* s = Find(ids[i]);
    out[i] = s && (s->lo & kStateBits) != kUnseen;
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadExtract(
    arrow::RecordBatchReader* extract, const std::vector<std::string>& keys,
    const std::string& skip_column, const std::string& location, int64_t* duplicates) {
  ARROW_ASSIGN_OR_RAISE(auto rows, extract->ToTable());
  KeyEncoder encoder(keys);
  ARROW_ASSIGN_OR_RAISE(auto ids, encoder.Encode(*rows));
  ARROW_ASSIGN_OR_RAISE(auto same,
                        HashRows(*rows, ColumnsBut(*rows->schema(), skip_column)));
  KeyIndex by_key;
  by_key.Reserve(ids.size());
  std::vector<bool> repeats;
  *duplicates = 0;
  ARROW_RETURN_NOT_OK(
      MarkRepeats(*rows, keys, ids, same, 0, location, &by_key, &repeats, duplicates));
  if (*duplicates == 0) return rows;
  std::vector<int64_t> kept;
  for (size_t i = 0; i < repeats.size(); ++i) {
    if (!repeats[i]) kept.push_back(static_cast<int64_t>(i));
  }
  return TakeRows(rows, kept);
}

arrow::Result<std::unique_ptr<ExtractSpill>> ExtractSpill::Make(
    arrow::RecordBatchReader* extract, const Conform& conform,
    const std::vector<std::string>& keys, const std::vector<std::string>& compare_columns,
    const std::string& skip_column, const std::string& location, KeyEncoder* encoder,
    KeyIndex* by_key, std::vector<RowHash>* hashes, std::optional<TableRows>* table) {
  std::unique_ptr<ExtractSpill> spill(new ExtractSpill());
  ARROW_ASSIGN_OR_RAISE(spill->fd_, UnnamedTempFile());
  int write_fd = ::dup(spill->fd_);
  if (write_fd < 0) return arrow::Status::IOError("dup: ", std::strerror(errno));
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::FileOutputStream::Open(write_fd));
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
  // Repeats compare on every column but skip_column: by the rows' hashes when those cover
  // them (the common case), else by hashes of their own.
  std::vector<std::string> same_columns;
  std::vector<RowHash> own;
  const std::vector<RowHash>* same = hashes;
  auto failed = [&](const arrow::Status& st) {
    return st.WithMessage("cannot spill the extract of the merge into ", location,
                          " to a temporary file: ", st.message());
  };
  // The extract's next batches are decoded while this one is hashed and compared.
  ReadAhead<std::shared_ptr<arrow::RecordBatch>> ahead(
      [extract]() -> arrow::Result<std::optional<std::shared_ptr<arrow::RecordBatch>>> {
        std::shared_ptr<arrow::RecordBatch> next;
        ARROW_RETURN_NOT_OK(extract->ReadNext(&next));
        if (!next) return std::nullopt;
        return next;
      },
      2);
  bool ended = false;
  while (!ended) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_ASSIGN_OR_RAISE(auto next, ahead.Next());
    if (next) batch = std::move(*next);
    if (!batch) {
      if (writer) break;
      // No batch at all: an empty extract, with its schema.
      ARROW_ASSIGN_OR_RAISE(batch, arrow::RecordBatch::MakeEmpty(extract->schema()));
      ended = true;
    }
    if (batch->num_rows() == 0 && writer) continue;
    ARROW_ASSIGN_OR_RAISE(auto rows, conform(batch));
    if (!writer) {
      spill->schema_ = rows->schema();
      auto w = arrow::ipc::MakeStreamWriter(file, spill->schema_);
      if (!w.ok()) return failed(w.status());
      writer = *w;
      same_columns = ColumnsBut(*spill->schema_, skip_column);
      if (same_columns != compare_columns) same = &own;
      // Rows equal on the compared columns must be equal rows to be left out.
      if (table && !skip_column.empty()) table->reset();
    }
    ARROW_ASSIGN_OR_RAISE(auto ids, encoder->Encode(*rows));
    ARROW_ASSIGN_OR_RAISE(auto row_hashes, HashRows(*rows, compare_columns));
    if (table && *table) {
      // Only the rows that differ from the table's (or are new) go on.
      std::vector<int64_t> keep;
      keep.reserve(ids.size());
      for (int64_t i = 0; i < rows->num_rows(); ++i) {
        if (i + 16 < rows->num_rows()) (*table)->Prefetch(ids[i + 16]);
        switch ((*table)->See(ids[i], row_hashes[i])) {
          case TableRows::Seen::kEqual:
            break;
          case TableRows::Seen::kRepeat:
            ++spill->duplicates_;
            break;
          case TableRows::Seen::kConflict:
            return arrow::Status::Invalid(
                "merge into ", location, ": the extract holds key ",
                KeyOf(*rows, i, keys),
                " twice, with different values; nothing was committed");
          case TableRows::Seen::kDiffers:
            keep.push_back(i);
            break;
        }
      }
      if (keep.empty()) continue;
      if (static_cast<int64_t>(keep.size()) < rows->num_rows()) {
        ARROW_ASSIGN_OR_RAISE(rows, TakeRows(rows, keep));
        for (size_t k = 0; k < keep.size(); ++k) {
          ids[k] = ids[keep[k]];
          row_hashes[k] = row_hashes[keep[k]];
        }
        ids.resize(keep.size());
        row_hashes.resize(keep.size());
      }
    }
    hashes->insert(hashes->end(), row_hashes.begin(), row_hashes.end());
    if (same == &own) {
      ARROW_ASSIGN_OR_RAISE(auto more, HashRows(*rows, same_columns));
      own.insert(own.end(), more.begin(), more.end());
    }
    ARROW_RETURN_NOT_OK(MarkRepeats(*rows, keys, ids, *same, spill->rows_, location,
                                    by_key, &spill->skipped_, &spill->duplicates_));
    spill->rows_ += rows->num_rows();
    if (auto st = writer->WriteTable(*rows); !st.ok()) return failed(st);
  }
  if (auto st = writer->Close(); !st.ok()) return failed(st);
  if (auto st = file->Close(); !st.ok()) return failed(st);
  return spill;
}

ExtractSpill::~ExtractSpill() {
  if (fd_ >= 0) ::close(fd_);
}

arrow::Status ExtractSpill::WriteRows(DataWriter* writer,
                                      const std::vector<int64_t>& rows) const {
  if (rows.empty()) return arrow::Status::OK();
  int read_fd = ::dup(fd_);
  if (read_fd < 0) return arrow::Status::IOError("dup: ", std::strerror(errno));
  if (::lseek(read_fd, 0, SEEK_SET) != 0) {
    ::close(read_fd);
    return arrow::Status::IOError("cannot rewind the extract's temporary file: ",
                                  std::strerror(errno));
  }
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(read_fd));
  ARROW_ASSIGN_OR_RAISE(auto input,
                        arrow::io::BufferedInputStream::Create(
                            int64_t{1} << 20, arrow::default_memory_pool(), file));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input));
  int64_t first = 0;  // of the batch
  size_t next = 0;    // in rows
  std::vector<int64_t> local;
  while (next < rows.size()) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) {
      return arrow::Status::IOError("the extract's temporary file ended at row ", first,
                                    " of ", rows_);
    }
    const int64_t end = first + batch->num_rows();
    local.clear();
    for (; next < rows.size() && rows[next] < end; ++next)
      local.push_back(rows[next] - first);
    if (!local.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
      ARROW_RETURN_NOT_OK(table::WriteRows(writer, table, local));
    }
    first = end;
  }
  return arrow::Status::OK();
}

}  // namespace inlet::table
