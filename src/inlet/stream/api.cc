// inlet/pipeline.h's RunStream, in the inlet_stream target (with librdkafka).
#include "inlet/pipeline.h"
#include "inlet/stream/streamer.h"

namespace inlet {

arrow::Result<StreamReport> RunStream(const Pipeline& pipeline,
                                      const StreamOptions& options) {
  return stream::RunStream(pipeline.config(), options);
}

}  // namespace inlet
