// A Delta checkpoint (_delta_log/<version>.checkpoint.parquet) as another engine wrote
// it: a Parquet file of action rows, whose columns vary by writer (struct or JSON stats,
// partition values as maps, deletion vectors, optional fields missing or null).
#include <memory>
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/delta/checkpoint_reader.h"
#include "inlet/storage/table_store.h"

using namespace inlet;
using namespace inlet::delta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<TableStore> store = [] {
    std::filesystem::create_directories(fuzz::ScratchDir() + "/table/_delta_log");
    return TableStore::Make(fuzz::ScratchDir() + "/table").ValueOrDie();
  }();
  const std::string name = "00000000000000000010.checkpoint.parquet";
  fuzz::WriteFile(fuzz::ScratchDir() + "/table/_delta_log/" + name,
                  fuzz::Text(data, size));
  LogFile file;
  file.kind = LogFile::Kind::kCheckpoint;
  file.version = 10;
  file.name = name;
  file.size = static_cast<int64_t>(size);
  Checkpoint checkpoint{10, {file}};
  (void)ReadCheckpoint(*store, checkpoint);
  return 0;
}
