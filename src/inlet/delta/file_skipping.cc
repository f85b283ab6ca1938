#include "inlet/delta/file_skipping.h"

#include <algorithm>

#include "inlet/delta/stats.h"
#include "inlet/table/partition.h"

namespace inlet::delta {

namespace {

bool IsPartitionColumn(const Metadata& m, const std::string& name) {
  return std::find(m.partition_columns.begin(), m.partition_columns.end(), name) !=
         m.partition_columns.end();
}

// Whether the file's partition value satisfies p (true when undecidable).
bool PartitionMayMatch(const AddFile& file, const BoundPredicate& p,
                       const ColumnInfo& info) {
  auto it = file.partition_values.find(info.physical_name);
  if (it == file.partition_values.end()) it = file.partition_values.find(info.name);
  std::optional<std::string> text =
      it == file.partition_values.end() ? std::nullopt : it->second;
  auto value = ParsePartitionValue(text, p.field->type(), info.name);
  if (!value.ok()) return true;
  return Satisfies(p, **value);
}

}  // namespace

arrow::Result<std::vector<const AddFile*>> SelectFiles(
    const TableState& state, const DeltaSchema& schema,
    const std::vector<BoundPredicate>& preds) {
  struct Check {
    const BoundPredicate* pred;
    const ColumnInfo* info;
    bool partition;
  };
  std::vector<Check> checks;
  for (const auto& p : preds) {
    int idx = schema.FindColumn(p.field->name());
    if (idx < 0) continue;
    checks.push_back(
        {&p, &schema.columns[idx], IsPartitionColumn(state.metadata, p.field->name())});
  }
  std::vector<const AddFile*> out;
  out.reserve(state.files.size());
  for (const auto& file : state.files) {
    bool keep = true;
    Json stats;
    bool stats_parsed = false;
    for (const auto& c : checks) {
      if (c.partition) {
        keep = PartitionMayMatch(file, *c.pred, *c.info);
      } else {
        if (!stats_parsed) {
          stats_parsed = true;
          if (!file.stats.empty()) {
            auto parsed = ParseJson(file.stats, "stats");
            if (parsed.ok()) stats = std::move(*parsed);
          }
        }
        if (!stats.is_object()) continue;
        keep = MayMatch(*c.pred, ReadColumnStats(stats, {c.info->physical_name},
                                                 c.pred->field->type()));
        // With deletion vectors the counts include deleted rows; bounds stay valid.
      }
      if (!keep) break;
    }
    if (keep) out.push_back(&file);
  }
  return out;
}

}  // namespace inlet::delta
