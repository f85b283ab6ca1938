#include "inlet/postgres/pg_sql.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/type.h>

#include "inlet/common/arrow_json.h"
#include "inlet/source/pg_text.h"

namespace inlet::pg {

namespace {

using pgtext::QuoteIdent;
using pgtext::QuoteLiteral;

// Whether the driver cannot copy values of this type as they are: they go as JSON text.
bool AsJson(const arrow::DataType& t) {
  switch (t.id()) {
    case arrow::Type::STRUCT:
    case arrow::Type::MAP:
    case arrow::Type::SPARSE_UNION:
    case arrow::Type::DENSE_UNION:
      return true;
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST:
    case arrow::Type::LIST_VIEW:
    case arrow::Type::LARGE_LIST_VIEW: {
      // PostgreSQL's arrays are rectangular and of one base type: a list of scalars maps
      // onto one, anything deeper is JSON.
      const auto& element = *t.field(0)->type();
      return element.num_fields() > 0 || AsJson(element);
    }
    default:
      return false;
  }
}

std::shared_ptr<arrow::DataType> StageType(const std::shared_ptr<arrow::DataType>& t) {
  if (AsJson(*t)) return arrow::utf8();
  switch (t->id()) {
    case arrow::Type::UINT64:
      return arrow::decimal128(20, 0);
    case arrow::Type::NA:
      return arrow::utf8();
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64: {
      const auto& d = static_cast<const arrow::DecimalType&>(*t);
      return arrow::decimal128(d.precision(), d.scale());
    }
    case arrow::Type::DICTIONARY:
      return StageType(static_cast<const arrow::DictionaryType&>(*t).value_type());
    case arrow::Type::HALF_FLOAT:
      return arrow::float32();
    case arrow::Type::DATE64:
      return arrow::date32();
    case arrow::Type::TIME32:
      return arrow::time64(arrow::TimeUnit::MICRO);
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST:
    case arrow::Type::LIST_VIEW:
    case arrow::Type::LARGE_LIST_VIEW:
      return arrow::list(StageType(t->field(0)->type()));
    case arrow::Type::LIST: {
      auto element = StageType(t->field(0)->type());
      if (element->Equals(*t->field(0)->type())) return t;
      return arrow::list(element);
    }
    default:
      return t;
  }
}

}  // namespace

arrow::Result<std::string> ColumnTypeOf(const arrow::DataType& type,
                                        const std::string& column) {
  if (AsJson(type)) return std::string("jsonb");
  switch (type.id()) {
    case arrow::Type::BOOL:
      return std::string("boolean");
    case arrow::Type::INT8:
    case arrow::Type::UINT8:
    case arrow::Type::INT16:
      return std::string("smallint");
    case arrow::Type::UINT16:
    case arrow::Type::INT32:
      return std::string("integer");
    case arrow::Type::UINT32:
    case arrow::Type::INT64:
      return std::string("bigint");
    case arrow::Type::UINT64:
      return std::string("numeric(20,0)");
    case arrow::Type::HALF_FLOAT:
    case arrow::Type::FLOAT:
      return std::string("real");
    case arrow::Type::DOUBLE:
      return std::string("double precision");
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      const auto& d = static_cast<const arrow::DecimalType&>(type);
      if (d.precision() > 38)
        return arrow::Status::Invalid("column '", column, "' is ", type.ToString(),
                                      ", wider than the 38 digits inlet reads back");
      // PostgreSQL's numeric takes a scale from 0 to its precision.
      if (d.scale() < 0 || d.scale() > d.precision()) return std::string("numeric");
      return "numeric(" + std::to_string(d.precision()) + "," +
             std::to_string(d.scale()) + ")";
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::NA:
      return std::string("text");
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return std::string("bytea");
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
      return std::string("date");
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
      return std::string("time");
    case arrow::Type::TIMESTAMP:
      return std::string(static_cast<const arrow::TimestampType&>(type).timezone().empty()
                             ? "timestamp"
                             : "timestamptz");
    case arrow::Type::DURATION:
    case arrow::Type::INTERVAL_MONTH_DAY_NANO:
      return std::string("interval");
    case arrow::Type::DICTIONARY:
      return ColumnTypeOf(*static_cast<const arrow::DictionaryType&>(type).value_type(),
                          column);
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST:
    case arrow::Type::LIST_VIEW:
    case arrow::Type::LARGE_LIST_VIEW: {
      ARROW_ASSIGN_OR_RAISE(std::string element,
                            ColumnTypeOf(*type.field(0)->type(), column));
      return element + "[]";
    }
    default:
      return arrow::Status::Invalid("column '", column, "' has type ", type.ToString(),
                                    ", which has no PostgreSQL type inlet maps it to");
  }
}

arrow::Result<std::shared_ptr<arrow::Schema>> StageSchema(const arrow::Schema& input,
                                                          const std::string& ordinal) {
  arrow::FieldVector fields;
  for (const auto& f : input.fields()) {
    ARROW_RETURN_NOT_OK(ColumnTypeOf(*f->type(), f->name()).status());
    fields.push_back(arrow::field(f->name(), StageType(f->type())));
  }
  fields.push_back(arrow::field(ordinal, arrow::int64(), /*nullable=*/false));
  return arrow::schema(std::move(fields));
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> StageBatch(
    const arrow::RecordBatch& batch, const std::shared_ptr<arrow::Schema>& stage_schema,
    int64_t first_row) {
  arrow::ArrayVector columns;
  for (int i = 0; i < batch.num_columns(); ++i) {
    std::shared_ptr<arrow::Array> column = batch.column(i);
    const auto& to = stage_schema->field(i)->type();
    if (column->type_id() == arrow::Type::DICTIONARY) {  // its values, then as they go
      const auto& values = static_cast<const arrow::DictionaryType&>(*column->type());
      ARROW_ASSIGN_OR_RAISE(column, arrow::compute::Cast(*column, values.value_type()));
    }
    if (column->type()->Equals(*to)) {
      columns.push_back(column);
    } else if (AsJson(*column->type())) {
      arrow::StringBuilder text;
      ARROW_RETURN_NOT_OK(text.Reserve(column->length()));
      for (int64_t r = 0; r < column->length(); ++r) {
        if (column->IsNull(r)) {
          ARROW_RETURN_NOT_OK(text.AppendNull());
        } else {
          ARROW_RETURN_NOT_OK(text.Append(DumpJson(ArrowValueToJson(*column, r))));
        }
      }
      ARROW_ASSIGN_OR_RAISE(auto out, text.Finish());
      columns.push_back(std::move(out));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*column, to));
      columns.push_back(std::move(cast));
    }
  }
  arrow::Int64Builder ordinal;
  ARROW_RETURN_NOT_OK(ordinal.Reserve(batch.num_rows()));
  for (int64_t r = 0; r < batch.num_rows(); ++r) ordinal.UnsafeAppend(first_row + r);
  ARROW_ASSIGN_OR_RAISE(auto ordinals, ordinal.Finish());
  columns.push_back(std::move(ordinals));
  return arrow::RecordBatch::Make(stage_schema, batch.num_rows(), std::move(columns));
}

std::string WhereOf(const Conjunction& where, const std::string& alias) {
  if (where.empty()) return "TRUE";
  std::string out;
  for (const auto& p : where) {
    std::string column = (alias.empty() ? "" : alias + ".") + QuoteIdent(p.column);
    std::string term;
    switch (p.op) {
      case CompareOp::kIsNull:
        term = column + " IS NULL";
        break;
      case CompareOp::kIsNotNull:
        term = column + " IS NOT NULL";
        break;
      default: {
        static const char* kOps[] = {"=", "<>", "<", "<=", ">", ">="};
        term =
            column + " " + kOps[static_cast<int>(p.op)] + " " + QuoteLiteral(p.literal);
      }
    }
    out += (out.empty() ? "" : " AND ") + term;
  }
  return out;
}

bool HasEquality(const std::string& pg_type) {
  for (const char* t :
       {"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"}) {
    const std::string name = t;
    if (pg_type == name || pg_type == name + "[]") return false;
  }
  return true;
}

}  // namespace inlet::pg
