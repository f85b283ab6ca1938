// Typed values for predicates, partition values and statistics.
#pragma once

#include <arrow/datum.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/scalar.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/predicate.h"

namespace inlet {

/// Converts text to a scalar of `type`: integers, floats, booleans, dates (YYYY-MM-DD),
/// timestamps (ISO-8601; no zone means UTC), decimals, strings and binary. Invalid when
/// the text does not fit the type.
arrow::Result<std::shared_ptr<arrow::Scalar>> ScalarFromText(
    const std::string& text, const std::shared_ptr<arrow::DataType>& type);

/// Orders two valid scalars of the same type: <0, 0, >0, or nullopt when the type has no
/// supported order (or either is null or NaN).
std::optional<int> CompareScalars(const arrow::Scalar& a, const arrow::Scalar& b);

/// A predicate resolved against a schema: the column's field and a typed literal.
struct BoundPredicate {
  std::shared_ptr<arrow::Field> field;
  CompareOp op = CompareOp::kEq;
  std::shared_ptr<arrow::Scalar> literal;  // null for kIsNull / kIsNotNull
};

/// Binds each predicate to a top-level column of schema. Invalid names an unknown column
/// or a literal that does not convert.
arrow::Result<std::vector<BoundPredicate>> BindConjunction(const Conjunction& conjunction,
                                                           const arrow::Schema& schema);

/// Whether a single known value (a partition value) satisfies the predicate; SQL
/// semantics, so a null value satisfies only IS NULL.
bool Satisfies(const BoundPredicate& p, const arrow::Scalar& value);

/// Column statistics of one file; absent members are unknown.
struct ColumnStats {
  std::shared_ptr<arrow::Scalar> min;
  std::shared_ptr<arrow::Scalar> max;
  std::optional<int64_t> null_count;
  std::optional<int64_t> num_records;
};

/// False only when the statistics prove no row of the file satisfies the predicate.
bool MayMatch(const BoundPredicate& p, const ColumnStats& stats);

/// Per row of batch, whether it satisfies every predicate (columns found by name): a
/// boolean array, null where a comparison met a null (which never satisfies it).
arrow::Result<arrow::Datum> MatchBatch(const arrow::RecordBatch& batch,
                                       const std::vector<BoundPredicate>& preds);

/// Keeps the rows of batch satisfying every predicate (columns found by name).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> FilterBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::vector<BoundPredicate>& preds);

/// An input column cast to its table column's type, as Arrow's Cast, and also: a column
/// of the null type (all-None data) as nulls of the type; a dictionary (pandas and polars
/// categoricals, polars enums, whose values may be string views) decoded through its
/// values cast to the type.
arrow::Result<std::shared_ptr<arrow::Array>> CastToTableType(
    const std::shared_ptr<arrow::Array>& column,
    const std::shared_ptr<arrow::DataType>& to);

}  // namespace inlet
