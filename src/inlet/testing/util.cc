#include "inlet/testing/util.h"

#include <fstream>

#include "inlet/common/uuid.h"

namespace inlet::testing {

TempDir::TempDir() {
  path_ = (std::filesystem::temp_directory_path() / ("inlet-test-" + NewUuid())).string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteTextFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace inlet::testing
