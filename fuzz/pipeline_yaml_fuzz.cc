// Pipeline files (inlet.yaml): every source, destination, strategy, schedule and alert
// key, ${VAR} and ${VAR:-default} expansion, and the errors naming file, line and key.
#include <optional>
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/pipeline/config.h"

using namespace inlet;
using namespace inlet::pipeline;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name.empty() || name[0] == 'U') return std::nullopt;  // unset
    return "value-of-" + name;
  };
  (void)ParsePipelines(std::string(fuzz::Text(data, size)), "inlet.yaml",
                       fuzz::ScratchDir(), env);
  return 0;
}
