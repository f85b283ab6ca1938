#include "inlet/pipeline/quality_gates.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "inlet/load/commit.h"
#include "inlet/load/quality.h"
#include "inlet/load/rows.h"
#include "inlet/load/state.h"

namespace inlet::pipeline {

namespace {

arrow::Result<std::shared_ptr<arrow::Table>> DropColumns(
    const std::shared_ptr<arrow::Table>& t, const std::vector<std::string>& names) {
  std::vector<int> keep;
  for (int i = 0; i < t->num_columns(); ++i) {
    if (std::find(names.begin(), names.end(), t->field(i)->name()) == names.end())
      keep.push_back(i);
  }
  return t->SelectColumns(keep);
}

// Source columns the table lacks, handled by the schema-drift policy.
arrow::Result<std::shared_ptr<arrow::Table>> HandleDrift(
    const std::shared_ptr<arrow::Table>& rows, const Snapshot* snap,
    SchemaDriftPolicy policy, const std::vector<std::string>& not_written,
    bool* merge_schema) {
  if (!snap) return rows;
  std::vector<std::string> extra;
  for (const auto& f : rows->schema()->fields()) {
    bool consumed =
        std::find(not_written.begin(), not_written.end(), f->name()) != not_written.end();
    if (f->name() != kPartColumn && !consumed && !IsGivenFlag(f->name()) &&
        !snap->schema()->GetFieldByName(f->name())) {
      extra.push_back(f->name());
    }
  }
  if (extra.empty()) return rows;
  switch (policy) {
    case SchemaDriftPolicy::kFail: {
      std::string list;
      for (const auto& e : extra) list += (list.empty() ? "'" : ", '") + e + "'";
      return arrow::Status::Invalid(
          "schema drift: source column(s) ", list,
          " are not in the table (set quality.schema_drift to add_columns or ignore)");
    }
    case SchemaDriftPolicy::kIgnore:
      return DropColumns(rows, extra);
    case SchemaDriftPolicy::kAddColumns:
      *merge_schema = true;
      return rows;
  }
  return rows;
}

}  // namespace

arrow::Result<CheckedRows> CheckRows(const PipelineConfig& c,
                                     const load::Strategy& strategy,
                                     std::shared_ptr<arrow::Table> rows,
                                     const Snapshot* table,
                                     const std::vector<std::string>& part_names) {
  CheckedRows out;
  // Flags a merge consumes are never written: they are not drift.
  ARROW_ASSIGN_OR_RAISE(
      rows, HandleDrift(rows, table, c.quality.schema_drift, strategy.consumed_columns(),
                        &out.merge_schema));
  // Rows without a key (truncate events) skip the key gates.
  std::shared_ptr<arrow::Table> keyless;
  if (std::string flag_name = strategy.keyless_rows_flag(); !flag_name.empty()) {
    auto flag = rows->GetColumnByName(flag_name);
    ARROW_ASSIGN_OR_RAISE(keyless, load::SelectRows(rows, flag));
    ARROW_ASSIGN_OR_RAISE(arrow::Datum others, arrow::compute::Invert(flag));
    ARROW_ASSIGN_OR_RAISE(rows, load::SelectRows(rows, others));
  }
  // A merge (or a change stream) resolves repeated keys itself.
  load::QualityOptions q{c.destination.keys, c.quality.null_keys,
                         strategy.resolves_repeated_keys() ? RejectPolicy::kAllow
                                                           : c.quality.duplicate_keys};
  ARROW_ASSIGN_OR_RAISE(auto gated, load::ApplyKeyGates(rows, q, part_names));
  rows = gated.accepted;
  if (keyless && keyless->num_rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(rows, arrow::ConcatenateTables({rows, keyless}));
  }
  out.rejected = gated.rejected;
  out.deduplicated = gated.deduplicated;
  if (c.quality.min_rows && rows->num_rows() < *c.quality.min_rows) {
    return arrow::Status::Invalid("quality gate min_rows: the run has ", rows->num_rows(),
                                  " rows, fewer than ", *c.quality.min_rows);
  }
  if (c.quality.max_rows && rows->num_rows() > *c.quality.max_rows) {
    return arrow::Status::Invalid("quality gate max_rows: the run has ", rows->num_rows(),
                                  " rows, more than ", *c.quality.max_rows);
  }
  ARROW_ASSIGN_OR_RAISE(out.rows, DropColumns(rows, {kPartColumn}));
  return out;
}

arrow::Status WriteQuarantine(const PipelineConfig& c,
                              const std::shared_ptr<arrow::Table>& rejected,
                              int64_t run) {
  std::vector<std::string> dropped = {kPartColumn};
  for (const auto& [column, flag] : GivenFlags(*rejected->schema()))
    dropped.push_back(flag);
  ARROW_ASSIGN_OR_RAISE(auto rows, DropColumns(rejected, dropped));
  arrow::StringBuilder pb;
  arrow::Int64Builder rb;
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    ARROW_RETURN_NOT_OK(pb.Append(c.name));
    ARROW_RETURN_NOT_OK(rb.Append(run));
  }
  ARROW_ASSIGN_OR_RAISE(auto pipeline_col, pb.Finish());
  ARROW_ASSIGN_OR_RAISE(auto run_col, rb.Finish());
  ARROW_ASSIGN_OR_RAISE(
      rows, rows->AddColumn(rows->num_columns(), arrow::field("_pipeline", arrow::utf8()),
                            std::make_shared<arrow::ChunkedArray>(pipeline_col)));
  ARROW_ASSIGN_OR_RAISE(
      rows, rows->AddColumn(rows->num_columns(), arrow::field("_run", arrow::int64()),
                            std::make_shared<arrow::ChunkedArray>(run_col)));
  ARROW_ASSIGN_OR_RAISE(
      auto table, Table::OpenOrCreate(c.quality.quarantine_path,
                                      SideTableStorage(c, c.quality.quarantine_path)));
  // The quarantine commit precedes the main one; a run that died between the two is
  // repeated with the same run number, and must not quarantine its rows twice.
  std::string app_id = load::StateDomain(c.name) + ".quarantine";
  ARROW_ASSIGN_OR_RAISE(auto existing, load::LatestSnapshot(*table));
  if (existing && existing->AppVersion(app_id).value_or(0) >= run)
    return arrow::Status::OK();
  WriteOptions opts;
  opts.app_states[app_id].version = run;
  opts.merge_schema = true;
  opts.operation = "QUARANTINE";
  opts.operation_parameters["pipeline"] = c.name;
  auto st = table->Write(std::make_shared<arrow::TableBatchReader>(rows), opts).status();
  if (!st.ok())
    return st.WithMessage("cannot write quarantine table ", c.quality.quarantine_path,
                          ": ", st.message());
  return arrow::Status::OK();
}

}  // namespace inlet::pipeline
