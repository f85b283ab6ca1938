// The protocol and table-feature gate: which tables inlet may read and write, and the
// lowest protocol a new table needs.
#pragma once

#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <map>
#include <string>

#include "inlet/delta/actions.h"
#include "inlet/delta/schema.h"

namespace inlet::delta {

/// OK when every reader feature the protocol lists (or implies, for legacy versions) is
/// one inlet reads; otherwise NotImplemented naming the feature.
arrow::Status CheckReadable(const Protocol& protocol);

/// OK when inlet can write this table correctly: every writer feature is implemented or
/// inactive. Otherwise NotImplemented naming the feature.
arrow::Status CheckWritable(const Protocol& protocol, const Metadata& metadata,
                            const DeltaSchema& schema);

/// The table property choosing how integer columns without a dictionary are written:
/// delta (DELTA_BINARY_PACKED, the default) or plain (for readers older than Spark 3.3).
inline constexpr char kIntegerEncodingProperty[] = "inlet.parquet.integerEncoding";

/// Rejects unknown or malformed delta.* table properties, and a malformed
/// inlet.parquet.integerEncoding or inlet.stateStorage (Invalid naming the key).
arrow::Status ValidateTableProperties(
    const std::map<std::string, std::string>& properties);

/// Whether row-level changes mark rows deleted in deletion vectors instead of rewriting
/// files: the table has the deletionVectors feature and delta.enableDeletionVectors=true.
bool WritesDeletionVectors(const Protocol& p, const Metadata& m);

/// The lowest protocol that supports a new table with this schema and properties.
Protocol MinimalProtocol(const arrow::Schema& schema,
                         const std::map<std::string, std::string>& properties);

ColumnMappingMode GetColumnMappingMode(const Metadata& metadata);

/// The protocol with writer feature `feature` supported: unchanged when it already is;
/// otherwise writer version 7 listing the features the legacy writer version implied plus
/// `feature`. The reader version is kept.
Protocol WithWriterFeature(const Protocol& protocol, const std::string& feature);

}  // namespace inlet::delta
