// PostgreSQL's text forms of values, as a change data capture source receives them (the
// rows of COPY ... TO STDOUT and the tuples of pgoutput), read into the table's types:
// the same mapping as the postgres query source (docs/pipelines.md). The session that
// produces them sets DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601, bytea_output
// hex and extra_float_digits 3 (source/pg_replication.h), and these are the forms read
// here; PostgreSQL's documentation of each type's output is the spec.
#pragma once

#include <arrow/builder.h>
#include <arrow/result.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/source/source.h"

namespace inlet::pgtext {

/// What the catalog says of a column's type, domains resolved to their base type.
struct CatalogType {
  uint32_t oid = 0;      // the base type
  int32_t typmod = -1;   // the column's (or its domain's) modifier
  std::string name;      // format_type(): numeric(10,2), character varying(20), ...
  bool is_enum = false;  // an enum: its label, as text
  /// An array: its element's type (PostgreSQL does not declare dimensions; the values of
  /// a multidimensional one are flattened).
  std::shared_ptr<CatalogType> element;
};

/// How a column's text becomes a value of the table.
struct ColumnType {
  enum Kind {
    kBool,
    kInt16,
    kInt32,
    kInt64,
    kFloat32,
    kFloat64,
    kDecimal,      // numeric(p,s), or unconstrained as decimal(38,18)
    kString,       // text kinds, json, uuid, enums, unconstrained numeric as string
    kBinary,       // bytea
    kDate,         // date32
    kTime,         // text HH:MM:SS.ffffff (tables have no time of day)
    kTimestamp,    // timestamp without time zone: microseconds
    kTimestampTz,  // timestamptz: microseconds, UTC
    kInterval,     // text, ISO 8601
    kList,         // an array
    kUnknown,      // no mapping
  };
  Kind kind = kUnknown;
  std::shared_ptr<arrow::DataType> type;  // the table's
  std::string pg_type;                    // for messages
  int32_t precision = 0, scale = 0;       // kDecimal
  bool as_double = false;                 // kFloat64 from an unconstrained numeric
  std::shared_ptr<ColumnType> element;    // kList
};

/// The mapping of a catalog type: kUnknown for a type without one (unknown_types decides:
/// fail, or text read as kString). Invalid for a numeric wider than 38 digits.
arrow::Result<ColumnType> TypeOf(const CatalogType& t, UnconstrainedNumeric numeric,
                                 UnknownTypes unknown);

/// Appends the value whose text is `text` to builder (of t.type). Invalid, saying why,
/// when it is not a value of the type (or has no place in a table: infinity, a numeric
/// that does not fit).
arrow::Status Append(const ColumnType& t, std::string_view text,
                     arrow::ArrayBuilder* builder);

/// The fields of one row of COPY's text format: tab-separated, \N for null, backslash
/// escapes decoded. Invalid for a malformed line.
arrow::Status SplitCopyRow(std::string_view line,
                           std::vector<std::optional<std::string>>* out);

/// PostgreSQL's text of a numeric as decimal(precision, scale), the fraction rounded half
/// away from zero; nullopt when it does not fit (or is NaN or infinite).
std::optional<arrow::Decimal128> DecimalOfText(std::string_view s, int32_t precision,
                                               int32_t scale);

/// An interval as ISO 8601 text (P1Y2M3DT4H5M6.5S; components keep PostgreSQL's signs;
/// zero is PT0S).
std::string IntervalText(int32_t months, int32_t days, int64_t micros);

/// name quoted as an SQL identifier ("a""b").
std::string QuoteIdent(std::string_view name);
/// text quoted as an SQL string literal ('it''s'), for standard_conforming_strings.
std::string QuoteLiteral(std::string_view text);

}  // namespace inlet::pgtext
