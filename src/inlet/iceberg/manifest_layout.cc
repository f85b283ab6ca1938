// How a commit lays out its manifests (transaction.h): a partition spec bound to the
// table schema, the headers of its data and delete manifests, and the row ids a format
// version 3 snapshot assigns.
#include "inlet/iceberg/transaction.h"

namespace inlet::iceberg {

arrow::Result<BoundSpec> BindSpec(const PartitionSpec& spec,
                                  const arrow::Schema& with_ids) {
  BoundSpec out;
  out.spec = spec;
  for (const auto& f : spec.fields) {
    int source = -1;
    for (int i = 0; i < with_ids.num_fields(); ++i)
      if (FieldId(*with_ids.field(i)) == f.source_id) source = i;
    if (source < 0)
      return arrow::Status::NotImplemented(
          "partition field '", f.name, "' has a source (id ", f.source_id,
          ") that is not a top-level column: not written yet");
    ARROW_ASSIGN_OR_RAISE(auto t, ParseTransform(f.transform));
    ARROW_ASSIGN_OR_RAISE(auto type, ResultType(t, with_ids.field(source)->type()));
    out.transforms.push_back(t);
    out.sources.push_back(source);
    out.fields.push_back(arrow::field(f.name, type));
  }
  return out;
}

arrow::Result<SpecManifests> ManifestsOfSpec(const BoundSpec& bound,
                                             const arrow::Schema& with_ids,
                                             int32_t schema_id, int format_version) {
  SpecManifests out;
  out.data.format_version = format_version;
  out.bound = bound;
  Schema schema;
  schema.schema_id = schema_id;
  schema.arrow_schema = std::make_shared<arrow::Schema>(with_ids);
  ARROW_ASSIGN_OR_RAISE(auto schema_json, SchemaToJson(schema));
  out.data.schema_json = schema_json.dump();
  out.data.schema_id = schema_id;
  Json fields = Json::array();
  for (const auto& f : bound.spec.fields)
    fields.push_back(Json{{"source-id", f.source_id},
                          {"field-id", f.field_id},
                          {"name", f.name},
                          {"transform", f.transform}});
  out.data.spec_fields_json = fields.dump();
  out.data.spec_id = bound.spec.spec_id;
  for (size_t i = 0; i < bound.fields.size(); ++i)
    out.data.partition.emplace_back(
        bound.fields[i]->name(), bound.spec.fields[i].field_id, bound.fields[i]->type());
  out.deletes = out.data;
  out.deletes.content = ManifestContent::kDeletes;
  return out;
}

void AssignRowIds(TableMetadata* m, std::vector<ManifestFile>* manifests,
                  iceberg::Snapshot* snap) {
  if (m->format_version < 3) return;
  const int64_t first = m->next_row_id.value_or(0);
  const int64_t next = AssignFirstRowIds(manifests, first);
  snap->first_row_id = first;
  snap->added_rows = next - first;
  m->next_row_id = next;
}

}  // namespace inlet::iceberg
