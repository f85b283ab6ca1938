// Helpers shared by the unit tests.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#define INLET_ASSERT_OK(expr)                                 \
  do {                                                        \
    ::arrow::Status _st = ::arrow::ToStatus(expr);            \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define INLET_ASSIGN_OR_FAIL_IMPL(tmp, lhs, rexpr)                    \
  auto tmp = (rexpr);                                                 \
  ASSERT_TRUE(tmp.ok()) << #rexpr << ": " << tmp.status().ToString(); \
  lhs = std::move(tmp).ValueUnsafe();

#define INLET_CONCAT_INNER(a, b) a##b
#define INLET_CONCAT(a, b) INLET_CONCAT_INNER(a, b)
#define INLET_ASSIGN_OR_FAIL(lhs, rexpr) \
  INLET_ASSIGN_OR_FAIL_IMPL(INLET_CONCAT(_res_, __LINE__), lhs, rexpr)

namespace inlet::testing {

/// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes text to a file, creating parent directories.
void WriteTextFile(const std::string& path, const std::string& text);

/// The sequence numbers 1..n in an order shuffled by rng: out-of-order change streams.
std::vector<int64_t> ShuffledSequences(size_t n, std::mt19937& rng);

}  // namespace inlet::testing
