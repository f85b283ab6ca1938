// The table formats the table-API conformance suite runs against. Tests that use only the
// public Table API (table/*_test.cc) are parameterised by format: a second format adds an
// entry here and runs them unchanged.
#pragma once

#include <arrow/result.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "inlet/table.h"

namespace inlet::testing {

struct FormatUnderTest {
  std::string name;
  /// A table at path, which the first write creates.
  std::function<arrow::Result<std::shared_ptr<Table>>(const std::string& path)> create;
  /// Table properties under which merges mark changed rows deleted instead of rewriting
  /// files (merge-on-read).
  std::map<std::string, std::string> merge_on_read;
};

const std::vector<FormatUnderTest>& FormatsUnderTest();

/// How gtest shows a format in test output.
inline void PrintTo(const FormatUnderTest& format, std::ostream* out) {
  *out << format.name;
}

/// The test name suffix of a format.
std::string FormatName(const ::testing::TestParamInfo<FormatUnderTest>& info);

}  // namespace inlet::testing

/// Runs the TEST_Ps of suite once per format.
#define INLET_FOR_EACH_FORMAT(suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(Formats, suite,                                            \
                           ::testing::ValuesIn(::inlet::testing::FormatsUnderTest()), \
                           ::inlet::testing::FormatName)
