// Partition values as text: how a data file's partition is recorded (Delta Lake's
// "Partition Value Serialization", which Hive-style directories share) and the
// directories data files are written under.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/table/value.h"

namespace inlet {

/// Partition column (physical name under a column mapping) -> serialised value; nullopt
/// is null.
using PartitionValues = std::map<std::string, std::optional<std::string>>;

/// Converts a serialised partition value to a scalar of `type`. nullopt and "" are null.
/// Fails with Invalid naming `column` when the text does not parse as the type.
arrow::Result<std::shared_ptr<arrow::Scalar>> ParsePartitionValue(
    const std::optional<std::string>& value, const std::shared_ptr<arrow::DataType>& type,
    const std::string& column);

/// Serialises a scalar for the log; null, and an empty string (null in the protocol),
/// give nullopt.
arrow::Result<std::optional<std::string>> SerializePartitionValue(
    const arrow::Scalar& value, bool empty_is_null = true);

/// "a=1/b=x%2Fy": the directory for a file's partition values, in column order, with
/// nulls as __HIVE_DEFAULT_PARTITION__.
std::string PartitionDirectory(const std::vector<std::string>& columns,
                               const PartitionValues& values);

/// The column of the first predicate that is not on a partition column, if any.
std::optional<std::string> NonPartitionColumn(
    const std::vector<BoundPredicate>& preds,
    const std::vector<std::string>& partition_columns);

/// Whether partition values satisfy every predicate (each on a partition column; a value
/// that does not parse satisfies none).
bool PartitionSatisfies(const PartitionValues& values,
                        const std::vector<BoundPredicate>& preds);

}  // namespace inlet
