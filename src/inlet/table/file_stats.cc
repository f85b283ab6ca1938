#include "inlet/table/file_stats.h"

#include <arrow/compute/api.h>
#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include <cstdlib>

#include "inlet/table/value.h"

namespace inlet {

namespace {

int32_t FieldId(const arrow::Field& f) {
  if (!f.metadata()) return -1;
  auto v = f.metadata()->Get("PARQUET:field_id");
  return v.ok() ? static_cast<int32_t>(std::strtol(v->c_str(), nullptr, 10)) : -1;
}

// The leaves of fields (struct fields nest), at most *budget of them (negative: all).
void AddLeaves(const arrow::FieldVector& fields, std::vector<std::string>* path,
               int* budget, std::vector<LeafStatistics>* out) {
  for (size_t i = 0; i < fields.size() && *budget != 0; ++i) {
    path->push_back(fields[i]->name());
    if (fields[i]->type()->id() == arrow::Type::STRUCT) {
      AddLeaves(fields[i]->type()->fields(), path, budget, out);
    } else {
      LeafStatistics leaf;
      leaf.path = *path;
      leaf.field_id = FieldId(*fields[i]);
      leaf.type = fields[i]->type();
      out->push_back(std::move(leaf));
      if (*budget > 0) --*budget;
    }
    path->pop_back();
  }
}

// Merges the statistics of one leaf (column `column` of the file) over its row groups.
void Collect(const parquet::FileMetaData& metadata, int column, LeafStatistics* leaf) {
  for (int rg = 0; rg < metadata.num_row_groups(); ++rg)
    leaf->compressed_bytes +=
        metadata.RowGroup(rg)->ColumnChunk(column)->total_compressed_size();
  int64_t null_count = 0;
  bool nulls_known = true, bounds_known = true;
  std::shared_ptr<arrow::Scalar> lo, hi;
  for (int rg = 0; rg < metadata.num_row_groups(); ++rg) {
    if (metadata.RowGroup(rg)->num_rows() == 0)
      continue;  // an empty row group bounds nothing
    auto chunk = metadata.RowGroup(rg)->ColumnChunk(column);
    auto st = chunk->statistics();
    if (!st || !chunk->is_stats_set()) {
      nulls_known = bounds_known = false;
      break;
    }
    if (st->HasNullCount()) {
      null_count += st->null_count();
    } else {
      nulls_known = false;
    }
    if (!bounds_known) continue;
    if (!st->HasMinMax()) {
      // An all-null row group has no bounds and needs none; otherwise they are unknown.
      bounds_known = st->HasNullCount() && st->null_count() == chunk->num_values();
      continue;
    }
    std::shared_ptr<arrow::Scalar> mn, mx;
    auto conv = parquet::arrow::StatisticsAsScalars(*st, &mn, &mx);
    auto mn_cast = conv.ok() ? arrow::compute::Cast(arrow::Datum(mn), leaf->type) : conv;
    auto mx_cast = conv.ok() ? arrow::compute::Cast(arrow::Datum(mx), leaf->type) : conv;
    if (!mn_cast.ok() || !mx_cast.ok()) {
      bounds_known = false;
      continue;
    }
    mn = mn_cast->scalar();
    mx = mx_cast->scalar();
    if (!CompareScalars(*mn, *mx)) {
      bounds_known = false;
      continue;
    }
    if (!lo || *CompareScalars(*mn, *lo) < 0) lo = mn;
    if (!hi || *CompareScalars(*mx, *hi) > 0) hi = mx;
  }
  if (nulls_known) leaf->null_count = null_count;
  if (bounds_known && lo && hi) {
    leaf->min = std::move(lo);
    leaf->max = std::move(hi);
  }
}

}  // namespace

FileStatistics StatisticsFromParquet(const parquet::FileMetaData& metadata,
                                     const arrow::Schema& schema, int num_indexed_cols) {
  FileStatistics out;
  out.num_records = metadata.num_rows();
  std::vector<LeafStatistics> leaves;
  std::vector<std::string> path;
  int budget = num_indexed_cols < 0 ? -1 : num_indexed_cols;
  AddLeaves(schema.fields(), &path, &budget, &leaves);
  const auto* descr = metadata.schema();
  for (auto& leaf : leaves) {
    int column = -1;
    for (int c = 0; c < descr->num_columns(); ++c) {
      if (descr->Column(c)->path()->ToDotVector() == leaf.path) {
        column = c;
        break;
      }
    }
    if (column < 0) continue;  // lists and maps have no leaf of this path
    Collect(metadata, column, &leaf);
    out.columns.push_back(std::move(leaf));
  }
  return out;
}

}  // namespace inlet
