#include "inlet/testing/util.h"

#include <algorithm>
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

std::vector<int64_t> ShuffledSequences(size_t n, std::mt19937& rng) {
  std::vector<int64_t> seqs(n);
  for (size_t i = 0; i < n; ++i) seqs[i] = static_cast<int64_t>(i) + 1;
  std::shuffle(seqs.begin(), seqs.end(), rng);
  return seqs;
}

}  // namespace inlet::testing
