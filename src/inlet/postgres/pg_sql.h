// The SQL a PostgreSQL destination runs, built from Arrow schemas and inlet's predicates:
// the column types of a table it creates, the batches it copies into a staging table,
// and WHERE clauses. Pure functions, tested without a server (pg_sql_test.cc).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "inlet/predicate.h"

namespace inlet::pg {

/// The PostgreSQL type a column created for an Arrow type gets: smallint, integer,
/// bigint, numeric(p,s), real, double precision, boolean, text, bytea, date, time,
/// timestamp, timestamptz, interval, arrays of those for lists, jsonb for structs, maps
/// and nested lists. Unsigned integers take the next wider type (uint64: numeric(20,0)).
/// Invalid, naming the column, for a type without a mapping.
arrow::Result<std::string> ColumnTypeOf(const arrow::DataType& type,
                                        const std::string& column);

/// The schema a batch is copied into the staging table with (StageBatch's output): the
/// input's columns, then the int64 column `ordinal`. Types the ADBC driver copies go as
/// they are; structs, maps and nested lists become their JSON text, unsigned 64-bit
/// integers decimal128(20, 0), dictionaries their values. Invalid, naming the column, for
/// a type without a mapping.
arrow::Result<std::shared_ptr<arrow::Schema>> StageSchema(const arrow::Schema& input,
                                                          const std::string& ordinal);

/// batch in stage_schema (StageSchema of batch's schema), its last column each row's
/// position in the whole input, from first_row.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> StageBatch(
    const arrow::RecordBatch& batch, const std::shared_ptr<arrow::Schema>& stage_schema,
    int64_t first_row);

/// A conjunction as SQL over columns of `alias` ("" for unqualified names): each
/// literal quoted and left for PostgreSQL to read as its column's type. "TRUE" when
/// empty.
std::string WhereOf(const Conjunction& where, const std::string& alias = "");

/// Whether values of a PostgreSQL type (format_type's name) can be compared with =
/// (json, xml and the geometric types cannot: they are compared as text).
bool HasEquality(const std::string& pg_type);

}  // namespace inlet::pg
