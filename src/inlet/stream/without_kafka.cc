// inlet/pipeline.h's RunStream in a build without librdkafka (CMake found none): a clear
// error instead of a stream. Compiled only then.
#include "inlet/pipeline.h"

namespace inlet {

arrow::Result<StreamReport> RunStream(const Pipeline& pipeline, const StreamOptions&) {
  return arrow::Status::NotImplemented("pipeline '", pipeline.name(),
                                       "': this build of inlet has no Kafka support ",
                                       "(librdkafka was not found when it was built)");
}

}  // namespace inlet
