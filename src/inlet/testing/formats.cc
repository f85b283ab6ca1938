#include "inlet/testing/formats.h"

namespace inlet::testing {

const std::vector<FormatUnderTest>& FormatsUnderTest() {
  static const std::vector<FormatUnderTest> formats = {
      {"delta",
       [](const std::string& path) { return Table::OpenOrCreate(path); },
       {{"delta.enableDeletionVectors", "true"}}},
  };
  return formats;
}

std::string FormatName(const ::testing::TestParamInfo<FormatUnderTest>& info) {
  return info.param.name;
}

}  // namespace inlet::testing
