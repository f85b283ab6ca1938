#include "inlet/iceberg/manifest_rewrite.h"

#include <arrow/scalar.h>

#include <algorithm>
#include <cctype>

#include "inlet/common/uuid.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/metadata.h"
#include "inlet/iceberg/values.h"
#include "inlet/table/value.h"

namespace inlet::iceberg {

std::vector<FieldSummary> Summaries(const std::vector<EntryToWrite>& entries,
                                    size_t fields) {
  std::vector<FieldSummary> out(fields);
  std::vector<std::shared_ptr<arrow::Scalar>> lows(fields), highs(fields);
  for (const auto& e : entries) {
    for (size_t i = 0; i < fields && i < e.partition.size(); ++i) {
      const auto& v = e.partition[i];
      if (!v || !v->is_valid) {
        out[i].contains_null = true;
        continue;
      }
      auto lo = lows[i] ? CompareScalars(*v, *lows[i]) : std::optional<int>(-1);
      auto hi = highs[i] ? CompareScalars(*v, *highs[i]) : std::optional<int>(1);
      if (lo && *lo < 0) lows[i] = v;
      if (hi && *hi > 0) highs[i] = v;
      const auto id = v->type->id();
      if (id == arrow::Type::FLOAT || id == arrow::Type::DOUBLE)
        out[i].contains_nan = false;
    }
  }
  for (size_t i = 0; i < fields; ++i) {
    if (!lows[i]) continue;
    auto lo = ToSingleValue(*lows[i]);
    auto hi = ToSingleValue(*highs[i]);
    if (lo.ok()) out[i].lower_bound = *lo;
    if (hi.ok()) out[i].upper_bound = *hi;
  }
  return out;
}

arrow::Result<EntryToWrite> ManifestWriter::Carried(const ManifestEntry& e,
                                                    bool removed) const {
  EntryToWrite w;
  w.status = removed ? EntryStatus::kDeleted : EntryStatus::kExisting;
  w.snapshot_id = removed ? snapshot_id : e.snapshot_id;
  w.sequence_number = e.sequence_number;
  w.file_sequence_number = e.file_sequence_number;
  w.file = e.file;
  for (size_t i = 0; i < e.file.partition.size() && i < fields->size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto scalar,
                          PartitionScalar(e.file.partition[i], (*fields)[i]->type(),
                                          e.file.file_path, (*fields)[i]->name()));
    w.partition.push_back(scalar->is_valid ? scalar : nullptr);
  }
  return w;
}

arrow::Result<ManifestFile> ManifestWriter::Write(
    const std::vector<EntryToWrite>& entries, const std::string& tag) const {
  ManifestFile out;
  out.content = context->content;
  out.partition_spec_id = context->spec_id;
  out.added_snapshot_id = snapshot_id;
  out.sequence_number = sequence_number;
  out.min_sequence_number = sequence_number;
  for (const auto& e : entries) {
    const int64_t rows = e.file.record_count;
    if (e.status == EntryStatus::kDeleted) {
      ++out.deleted_files;
      out.deleted_rows += rows;
    } else if (e.status == EntryStatus::kExisting) {
      ++out.existing_files;
      out.existing_rows += rows;
    } else {
      ++out.added_files;
      out.added_rows += rows;
    }
    if (e.status != EntryStatus::kDeleted && e.sequence_number)
      out.min_sequence_number = std::min(out.min_sequence_number, *e.sequence_number);
  }
  out.partitions = Summaries(entries, fields->size());
  auto encoded = WriteManifest(*context, entries);
  if (!encoded.ok())
    return encoded.status().WithMessage("cannot write a manifest in ", base_uri, ": ",
                                        encoded.status().message());
  std::string bytes = std::move(*encoded);
  std::string rel = "metadata/" + NewUuid() + "-m" + tag + ".avro";
  ARROW_RETURN_NOT_OK(store->PutReplace(rel, bytes));
  out.path = base_uri + "/" + rel;
  out.length = static_cast<int64_t>(bytes.size());
  return out;
}

arrow::Result<std::vector<ManifestFile>> MergeSmallManifests(
    std::vector<ManifestFile> manifests, const ManifestWriter& writer,
    const std::map<std::string, std::string>& properties) {
  auto enabled = properties.find("commit.manifest-merge.enabled");
  if (enabled != properties.end()) {
    std::string v = enabled->second;
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "false") return manifests;
  }
  const int64_t min_count =
      IntValue(properties, "commit.manifest.min-count-to-merge", 100);
  const int64_t target =
      IntValue(properties, "commit.manifest.target-size-bytes", 8 * 1024 * 1024);
  std::vector<size_t> small;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const auto& m = manifests[i];
    // This commit's own manifests (files an overwrite removes, as DELETED entries) stay
    // as they are: merging drops deleted entries, and those record what this snapshot
    // removed.
    if (m.content == ManifestContent::kData &&
        m.added_snapshot_id != writer.snapshot_id &&
        m.partition_spec_id == writer.context->spec_id && m.length < target)
      small.push_back(i);
  }
  if (static_cast<int64_t>(small.size()) < std::max<int64_t>(min_count, 2))
    return manifests;
  // Bins of consecutive small manifests up to the target size.
  std::vector<std::vector<size_t>> bins(1);
  int64_t size = 0;
  for (size_t i : small) {
    if (!bins.back().empty() && size + manifests[i].length > target) {
      bins.emplace_back();
      size = 0;
    }
    bins.back().push_back(i);
    size += manifests[i].length;
  }
  std::vector<ManifestFile> merged;
  std::vector<bool> replaced(manifests.size(), false);
  for (const auto& bin : bins) {
    if (bin.size() < 2) continue;
    std::vector<EntryToWrite> entries;
    for (size_t i : bin) {
      const auto& m = manifests[i];
      ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(*writer.store, m.path));
      ARROW_ASSIGN_OR_RAISE(auto read, ReadManifest(bytes, m.path, m));
      for (const auto& e : read) {
        if (e.status == EntryStatus::kDeleted) continue;
        ARROW_ASSIGN_OR_RAISE(auto w, writer.Carried(e, /*removed=*/false));
        entries.push_back(std::move(w));
      }
      replaced[i] = true;
    }
    if (entries.empty()) continue;  // nothing live: the manifests just go
    ARROW_ASSIGN_OR_RAISE(auto out, writer.Write(entries, "2"));
    merged.push_back(std::move(out));
  }
  std::vector<ManifestFile> result;
  bool placed = false;
  for (size_t i = 0; i < manifests.size(); ++i) {
    if (!replaced[i]) {
      result.push_back(std::move(manifests[i]));
    } else if (!placed) {
      for (auto& m : merged) result.push_back(std::move(m));
      placed = true;
    }
  }
  return result;
}

}  // namespace inlet::iceberg
