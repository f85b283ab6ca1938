// Iceberg's single-value binary serialisation (spec Appendix D): how bounds in manifests
// and partition summaries hold one value of a primitive type.
#pragma once

#include <arrow/result.h>
#include <arrow/scalar.h>

#include <memory>
#include <string>
#include <string_view>

namespace inlet::iceberg {

/// The value `bytes` holds, as a scalar of `type` (an Arrow type from
/// iceberg/schema.h). Invalid when the bytes do not fit the type; NotImplemented for
/// nested types.
arrow::Result<std::shared_ptr<arrow::Scalar>> FromSingleValue(
    std::string_view bytes, const std::shared_ptr<arrow::DataType>& type);

/// The single-value serialisation of a valid scalar of a primitive type.
arrow::Result<std::string> ToSingleValue(const arrow::Scalar& value);

}  // namespace inlet::iceberg
