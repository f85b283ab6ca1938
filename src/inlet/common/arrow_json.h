// Arrow values as JSON: checkpoint rows become log actions, scan rows become NDJSON.
#pragma once

#include <arrow/array.h>
#include <arrow/builder.h>

#include <cstdint>

#include "inlet/common/json.h"

namespace inlet {

/// The value at row i. Structs become objects (null children omitted when
/// skip_null_fields), maps with string keys become objects, lists arrays; dates, times
/// and timestamps become ISO-8601 strings, decimals strings, binary strings (invalid
/// UTF-8 replaced), NaN and infinities strings.
Json ArrowValueToJson(const arrow::Array& array, int64_t i,
                      bool skip_null_fields = false);

/// Appends a JSON value to a builder of a struct, map (string keys), list, string,
/// integer or boolean type; fields absent from an object are appended as nulls.
arrow::Status AppendJson(const Json& value, arrow::ArrayBuilder* builder);

}  // namespace inlet
