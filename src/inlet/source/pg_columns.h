// How the columns a PostgreSQL query gives through ADBC (source/adbc.h) become a table's
// columns: a plan per column from the driver's field (its PostgreSQL type and typmod in
// the field's metadata), and the conversion of each batch's column by that plan
// (docs/pipelines.md, "Types").
#pragma once

#include <arrow/array.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <string>

#include "inlet/source/adbc.h"
#include "inlet/source/source.h"

namespace inlet::pgcol {

/// A field's metadata value for key ("" when it has none).
std::string Metadata(const arrow::Field& f, const std::string& key);

/// The type a column has on the wire from the driver: an extension type's storage.
std::shared_ptr<arrow::DataType> Storage(const std::shared_ptr<arrow::DataType>& t);

/// How one column (or list element) is read.
enum class Conversion {
  kAsIs,
  kDecimal,   // numeric's text to decimal128(precision, scale)
  kDouble,    // numeric's text to double
  kUuid,      // 16 bytes to the canonical text form
  kInterval,  // month_day_nano to ISO 8601 text
  kText,      // Arrow's text form (time of day: HH:MM:SS.ffffff, as Delta has no time)
  kList,      // a list whose elements convert
  kUnknown,   // a type without a mapping
};

struct ColumnPlan {
  std::string name;
  std::string pg_type;  // PostgreSQL's type name, for messages
  Conversion conversion = Conversion::kAsIs;
  std::shared_ptr<arrow::DataType> type;  // what the table gets
  std::unique_ptr<ColumnPlan> element;    // kList
  bool as_text = false;                   // cast to text in the query (unknown_types)
  bool unconstrained = false;             // numeric without a precision
};

/// The plan of a column the driver describes as f. Invalid names a numeric wider than a
/// table's decimals.
arrow::Result<ColumnPlan> PlanColumn(const arrow::Field& f,
                                     const PostgresSourceConfig& config);

/// described (the columns of `SELECT * FROM table`) with the typmod of each numeric array
/// column's elements, which the driver does not give, taken from the table's catalog
/// (an array column's atttypmod is its elements').
arrow::Result<std::shared_ptr<arrow::Schema>> WithArrayTypmods(
    adbc::Connection& conn, const std::string& table,
    std::shared_ptr<arrow::Schema> described);

/// One column of a batch as the table gets it; first_row numbers the batch's rows (from
/// 0) for messages. Invalid names the row, the column and the value that does not fit.
arrow::Result<std::shared_ptr<arrow::Array>> ConvertColumn(
    const ColumnPlan& plan, const std::shared_ptr<arrow::Array>& column,
    int64_t first_row);

}  // namespace inlet::pgcol
