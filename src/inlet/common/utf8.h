// UTF-8 checks of text from outside before it becomes a table's string: Parquet's STRING
// and every reader of the table expect valid UTF-8.
#pragma once
#include <arrow/util/utf8.h>

#include <string_view>

namespace inlet {

/// Whether bytes are valid UTF-8 (Arrow's validator, initialized on first use).
inline bool ValidUtf8(const uint8_t* data, int64_t size) {
  static const bool initialized = (arrow::util::InitializeUTF8(), true);
  (void)initialized;
  return arrow::util::ValidateUTF8(data, size);
}

inline bool ValidUtf8(std::string_view text) {
  return ValidUtf8(reinterpret_cast<const uint8_t*>(text.data()),
                   static_cast<int64_t>(text.size()));
}

}  // namespace inlet
