// Iceberg partition transforms (spec "Partition Transforms", Appendix B): what a row's
// partition value is, for writing files into partitions and for the manifests.
#pragma once

#include <arrow/array.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace inlet::iceberg {

struct Transform {
  enum Kind { kIdentity, kYear, kMonth, kDay, kHour, kBucket, kTruncate, kVoid };
  Kind kind = kIdentity;
  /// bucket[N]: N; truncate[W]: W.
  int32_t param = 0;

  /// The spec's name: "identity", "bucket[16]", ...
  std::string ToString() const;
  /// Whether it orders values as its source does (all but bucket and void), so that
  /// range predicates on the source prune by it.
  bool PreservesOrder() const { return kind != kBucket && kind != kVoid; }
};

/// Parses a transform's name. Unknown transforms are NotImplemented (writers must not
/// commit with one they do not know).
arrow::Result<Transform> ParseTransform(const std::string& name);

/// The Arrow type of the transform's values for a source column of `source` type (int32
/// for year, month, hour and bucket; date32 for day; the source type otherwise). Invalid
/// when the transform does not apply to the type, naming both.
arrow::Result<std::shared_ptr<arrow::DataType>> ResultType(
    const Transform& t, const std::shared_ptr<arrow::DataType>& source);

/// The transform of every value of `values` (nulls stay null).
arrow::Result<std::shared_ptr<arrow::Array>> Apply(
    const Transform& t, const std::shared_ptr<arrow::Array>& values);

/// Murmur3 x86 32-bit hash with seed 0, as bucket[N] uses it.
int32_t Murmur3(std::string_view bytes);

}  // namespace inlet::iceberg
