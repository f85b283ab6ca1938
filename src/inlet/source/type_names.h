// Column type names as users write them (source.schema, --schema): "long",
// "decimal(10,2)", "timestamp", ...
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string>

#include "inlet/io.h"  // DeclaredColumns, ParseColumnTypes

namespace inlet {

/// Parses a type name: string, int, long, short, byte, float, double, boolean, date,
/// timestamp (UTC), timestamp_ntz, decimal(p,s), binary, and their SQL spellings.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(const std::string& name);

}  // namespace inlet
