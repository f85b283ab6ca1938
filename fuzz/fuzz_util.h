// Helpers shared by the libFuzzer targets (docs/reliability.md).
//
// A target turns the fuzzer's bytes into the outside input one parser reads: a Delta
// commit, an Iceberg metadata file, a Kafka message, a page of an HTTP API... Inputs made
// of several parts (a selector byte, then parts) split them on kPartSeparator, so that
// seed files stay readable. A parser may refuse any input with an error; what a target
// must never see is a crash, a sanitizer report, an uncaught exception or a hang, and
// where a target checks a property (what is written reads back), a broken one aborts.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace inlet::fuzz {

inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline constexpr std::string_view kPartSeparator = "\n%%\n";

/// The parts of text between separators (one part when there is none).
inline std::vector<std::string_view> Parts(std::string_view text,
                                           std::string_view separator = kPartSeparator) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = text.find(separator);
    if (at == std::string_view::npos) break;
    out.push_back(text.substr(0, at));
    text.remove_prefix(at + separator.size());
  }
  out.push_back(text);
  return out;
}

/// A directory of this process's own under /dev/shm (or TMPDIR), removed at exit.
inline const std::string& ScratchDir() {
  // Never destroyed: the exit handler that removes the directory runs after statics are.
  static const std::string& dir = *[] {
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    if (const char* t = std::getenv("TMPDIR")) base = t;
    auto* pattern = new std::string(base + "/inlet-fuzz-XXXXXX");
    if (!mkdtemp(pattern->data())) std::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return pattern;
  }();
  return dir;
}

inline void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();
}

/// Aborts (a finding) when a property the target checks does not hold.
inline void Require(bool ok, const char* what, const std::string& detail = "") {
  if (ok) return;
  std::fprintf(stderr, "property broken: %s %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace inlet::fuzz
