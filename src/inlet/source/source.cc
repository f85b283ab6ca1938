#include "inlet/source/source.h"

#include "inlet/source/file_source.h"
#include "inlet/source/http_source.h"
#include "inlet/source/postgres_source.h"

namespace inlet {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

std::map<std::string, std::string> GivenFlags(const arrow::Schema& columns) {
  std::map<std::string, std::string> out;
  for (const auto& f : columns.fields()) {
    if (IsGivenFlag(f->name()))
      out[f->name().substr(sizeof(kGivenPrefix) - 1)] = f->name();
  }
  return out;
}

bool IsGivenFlag(const std::string& name) { return name.rfind(kGivenPrefix, 0) == 0; }

const char* SourceKind(const SourceConfig& config) {
  return std::visit(
      Overloaded{[](const FileSourceConfig&) { return "files"; },
                 [](const KafkaSourceConfig&) { return "kafka"; },
                 [](const PostgresSourceConfig&) { return "postgres"; },
                 [](const PostgresCdcSourceConfig&) { return "postgres_cdc"; },
                 [](const HttpSourceConfig&) { return "http"; }},
      config);
}

bool IsStreamSource(const SourceConfig& config) {
  return std::holds_alternative<KafkaSourceConfig>(config) ||
         std::holds_alternative<PostgresCdcSourceConfig>(config);
}

arrow::Result<std::unique_ptr<BoundedSource>> OpenBoundedSource(
    const SourceConfig& config) {
  if (const auto* files = std::get_if<FileSourceConfig>(&config)) {
    return std::unique_ptr<BoundedSource>(new FileSource(*files));
  }
  if (const auto* pg = std::get_if<PostgresSourceConfig>(&config)) {
    return OpenPostgresSource(*pg);
  }
  if (const auto* http = std::get_if<HttpSourceConfig>(&config)) {
    return OpenHttpSource(*http);
  }
  return arrow::Status::Invalid(
      "a ", SourceKind(config),
      " source is consumed continuously (inlet stream), not read by runs");
}

}  // namespace inlet
