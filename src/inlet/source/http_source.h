// HTTP APIs as a bounded source (type: http): each run walks the API's pages
// (source/http_pages.h) and decodes their records as Kafka messages are decoded
// (source/json_rows.h), with the pipeline's watermark or the source's own cursor sent
// as {watermark}.
#pragma once

#include <memory>

#include "inlet/source/source.h"

namespace inlet {

arrow::Result<std::unique_ptr<BoundedSource>> OpenHttpSource(
    const HttpSourceConfig& config);

}  // namespace inlet
