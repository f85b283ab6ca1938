// UTF-8 checks of text from outside before it becomes a table's string: Parquet's STRING
// and every reader of the table expect valid UTF-8.
#pragma once
#include <arrow/util/utf8.h>

#include <string>
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

/// text with every byte that does not begin a valid UTF-8 sequence replaced by U+FFFD
/// (one per byte: Java's decoder, which Kafka Connect's StringConverter uses, gives one
/// per maximal malformed subpart, so a truncated sequence may differ in its count).
inline std::string Utf8Lossy(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  auto cont = [&](size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = cont(i + 1) ? 2 : 0;
    } else if (c >= 0xE0 && c <= 0xEF) {
      // No overlongs (E0 then A0..BF) and no surrogates (ED then 80..9F).
      bool second = i + 1 < n && (c == 0xE0   ? p[i + 1] >= 0xA0 && p[i + 1] <= 0xBF
                                  : c == 0xED ? p[i + 1] >= 0x80 && p[i + 1] <= 0x9F
                                              : cont(i + 1));
      len = second && cont(i + 2) ? 3 : 0;
    } else if (c >= 0xF0 && c <= 0xF4) {
      // No overlongs (F0 then 90..BF) and nothing past U+10FFFF (F4 then 80..8F).
      bool second = i + 1 < n && (c == 0xF0   ? p[i + 1] >= 0x90 && p[i + 1] <= 0xBF
                                  : c == 0xF4 ? p[i + 1] >= 0x80 && p[i + 1] <= 0x8F
                                              : cont(i + 1));
      len = second && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace inlet
