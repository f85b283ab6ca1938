// Iceberg's Avro files as other writers made them: manifest lists (snap-*.avro) and
// manifests (data and delete files, v1 to v3 schemas, deflate or uncompressed blocks),
// read first as Avro container files and then as what they list.
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/iceberg/avro.h"
#include "inlet/iceberg/manifest.h"
#include "inlet/iceberg/values.h"

using namespace inlet;
using namespace inlet::iceberg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::Text(data, size);
  auto container = avro::ReadContainer(bytes, "fuzz.avro");
  if (!container.ok()) return 0;
  (void)avro::ParseSchema(container->schema_json);
  (void)ReadManifestList(bytes, "snap-fuzz.avro");
  ManifestFile listed;
  listed.path = "fuzz-m0.avro";
  listed.length = static_cast<int64_t>(size);
  listed.added_snapshot_id = 7;
  listed.sequence_number = 3;
  listed.min_sequence_number = 1;
  auto entries = ReadManifest(bytes, "fuzz-m0.avro", listed);
  if (!entries.ok()) return 0;
  // Bounds are single-value serialised: each is decoded as every type it could hold.
  static const arrow::DataTypeVector types = {
      arrow::boolean(),
      arrow::int32(),
      arrow::int64(),
      arrow::float32(),
      arrow::float64(),
      arrow::date32(),
      arrow::timestamp(arrow::TimeUnit::MICRO),
      arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
      arrow::utf8(),
      arrow::binary(),
      arrow::decimal128(20, 4),
      arrow::fixed_size_binary(16)};
  for (const auto& entry : *entries) {
    for (const auto* bounds : {&entry.file.lower_bounds, &entry.file.upper_bounds}) {
      for (const auto& [id, value] : *bounds) {
        const auto& type = types[static_cast<size_t>(id) % types.size()];
        auto scalar = FromSingleValue(value, type);
        if (scalar.ok() && (*scalar)->is_valid) (void)ToSingleValue(**scalar);
      }
    }
  }
  return 0;
}
