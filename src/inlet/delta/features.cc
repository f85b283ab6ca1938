#include "inlet/delta/features.h"

#include <arrow/type.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "inlet/common/time.h"
#include "inlet/delta/app_documents.h"
#include "inlet/status.h"

namespace inlet::delta {

namespace {

// Reader features whose semantics the scan implements. vacuumProtocolCheck only
// constrains vacuum; typeWidening needs only casts on read.
constexpr std::array<std::string_view, 9> kReadableFeatures = {
    "columnMapping",       "deletionVectors", "timestampNtz",
    "v2Checkpoint",        "typeWidening",    "typeWidening-preview",
    "vacuumProtocolCheck", "variantType",     "variantType-preview"};

// Writer features inlet honours when writing (or that cannot be affected by appends and
// overwrites of whole files). Features that need work inlet does not do yet are checked
// for being active in CheckWritable.
constexpr std::array<std::string_view, 12> kWritableFeatures = {
    "appendOnly",       "invariants",      "checkConstraints",    "changeDataFeed",
    "generatedColumns", "columnMapping",   "identityColumns",     "timestampNtz",
    "domainMetadata",   "deletionVectors", "vacuumProtocolCheck", "typeWidening"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& set, std::string_view name) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

bool IsTrue(const Metadata& m, const std::string& key) {
  auto v = m.Property(key);
  if (!v) return false;
  std::string s = *v;
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s == "true";
}

bool AnyFieldHas(const std::vector<ColumnInfo>& cols, std::string_view prefix) {
  for (const auto& c : cols) {
    for (auto it = c.metadata.begin(); it != c.metadata.end(); ++it) {
      if (std::string_view(it.key()).substr(0, prefix.size()) == prefix) return true;
    }
    if (AnyFieldHas(c.children, prefix)) return true;
  }
  return false;
}

bool HasTimestampNtz(const arrow::DataType& type) {
  if (type.id() == arrow::Type::TIMESTAMP) {
    return static_cast<const arrow::TimestampType&>(type).timezone().empty();
  }
  for (const auto& f : type.fields()) {
    if (HasTimestampNtz(*f->type())) return true;
  }
  return false;
}

}  // namespace

ColumnMappingMode GetColumnMappingMode(const Metadata& metadata) {
  auto mode = metadata.Property("delta.columnMapping.mode");
  if (mode == "name") return ColumnMappingMode::kName;
  if (mode == "id") return ColumnMappingMode::kId;
  return ColumnMappingMode::kNone;
}

namespace {

arrow::Status ReadableProtocol(const Protocol& p) {
  if (p.min_reader_version < 1 || p.min_reader_version > 3) {
    return arrow::Status::NotImplemented("unsupported Delta reader version ",
                                         p.min_reader_version, " (inlet reads 1 to 3)");
  }
  if (p.min_reader_version == 3) {
    if (!p.reader_features) {
      return arrow::Status::Invalid(
          "protocol has reader version 3 but no readerFeatures");
    }
    for (const auto& f : *p.reader_features) {
      if (!Contains(kReadableFeatures, f)) {
        return arrow::Status::NotImplemented("unsupported Delta reader feature '", f,
                                             "'");
      }
    }
  }
  return arrow::Status::OK();
}

arrow::Status WritableTable(const Protocol& p, const Metadata& m,
                            const DeltaSchema& schema) {
  ARROW_RETURN_NOT_OK(ReadableProtocol(p));
  if (p.min_writer_version < 1 || p.min_writer_version > 7) {
    return arrow::Status::NotImplemented("unsupported Delta writer version ",
                                         p.min_writer_version);
  }
  if (p.min_writer_version == 7) {
    for (const auto& f : p.writer_features.value_or(std::vector<std::string>{})) {
      if (!Contains(kWritableFeatures, f)) {
        return arrow::Status::NotImplemented("unsupported Delta writer feature '", f,
                                             "': inlet cannot write this table yet");
      }
    }
  }
  // Features that are listed (or implied by a legacy version) but need enforcement
  // inlet does not implement yet: refuse only when they are active.
  if (AnyFieldHas(schema.columns, "delta.invariants")) {
    return arrow::Status::NotImplemented("writer feature 'invariants' is active (column ",
                                         "invariants); inlet cannot enforce it yet");
  }
  for (const auto& [k, v] : m.configuration) {
    if (k.rfind("delta.constraints.", 0) == 0) {
      return arrow::Status::NotImplemented(
          "writer feature 'checkConstraints' is active (", k,
          "); inlet cannot enforce it yet");
    }
  }
  if (AnyFieldHas(schema.columns, "delta.generationExpression")) {
    return arrow::Status::NotImplemented("writer feature 'generatedColumns' is active");
  }
  if (AnyFieldHas(schema.columns, "delta.identity.")) {
    return arrow::Status::NotImplemented("writer feature 'identityColumns' is active");
  }
  if (GetColumnMappingMode(m) != ColumnMappingMode::kNone) {
    return arrow::Status::NotImplemented(
        "writer feature 'columnMapping' is active; inlet cannot write mapped columns "
        "yet");
  }
  return arrow::Status::OK();
}

// What inlet does not implement is an unsupported feature (a malformed protocol is not).
arrow::Status Unsupported(const arrow::Status& st) {
  return st.IsNotImplemented() ? WithKind(st, ErrorKind::kUnsupportedFeature) : st;
}

}  // namespace

arrow::Status CheckReadable(const Protocol& p) {
  return Unsupported(ReadableProtocol(p));
}

arrow::Status CheckWritable(const Protocol& p, const Metadata& m,
                            const DeltaSchema& schema) {
  return Unsupported(WritableTable(p, m, schema));
}

arrow::Status ValidateTableProperties(
    const std::map<std::string, std::string>& properties) {
  static constexpr std::array<std::string_view, 18> kKnown = {
      "delta.appendOnly",
      "delta.checkpointInterval",
      "delta.dataSkippingNumIndexedCols",
      "delta.dataSkippingStatsColumns",
      "delta.parquet.compression.codec",
      "delta.targetFileSize",
      "delta.logRetentionDuration",
      "delta.enableExpiredLogCleanup",
      "delta.deletedFileRetentionDuration",
      "delta.enableChangeDataFeed",
      "delta.enableDeletionVectors",
      "delta.checkpoint.writeStatsAsJson",
      "delta.checkpoint.writeStatsAsStruct",
      "delta.isolationLevel",
      "delta.setTransactionRetentionDuration",
      "delta.checkpointRetentionDuration",
      "delta.autoOptimize.optimizeWrite",
      "delta.autoOptimize.autoCompact"};
  for (const auto& [k, v] : properties) {
    if (k == kIntegerEncodingProperty && v != "delta" && v != "plain") {
      return arrow::Status::Invalid("table property ", k, "='", v,
                                    "' must be delta or plain");
    }
    if (k == kStateStorageProperty && v != "domainMetadata" && v != "files") {
      return arrow::Status::Invalid("table property ", k, "='", v,
                                    "' must be domainMetadata or files");
    }
    if (k.rfind("delta.", 0) != 0) continue;  // user properties are free-form
    if (!Contains(kKnown, k)) {
      return arrow::Status::Invalid("unknown or unsupported Delta table property '", k,
                                    "'");
    }
    if (k == "delta.checkpointInterval" || k == "delta.dataSkippingNumIndexedCols" ||
        k == "delta.targetFileSize") {
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' ||
          (n <= 0 && k != "delta.dataSkippingNumIndexedCols")) {
        return arrow::Status::Invalid("table property ", k, "='", v,
                                      "' must be a positive integer");
      }
    }
    if (k.size() > 17 && k.compare(k.size() - 17, 17, "RetentionDuration") == 0) {
      auto interval = ParseIntervalMillis(v);
      if (!interval.ok())
        return arrow::Status::Invalid("table property ", k, ": ",
                                      interval.status().message());
    }
  }
  return arrow::Status::OK();
}

bool WritesDeletionVectors(const Protocol& p, const Metadata& m) {
  return p.HasWriterFeature("deletionVectors") && p.HasReaderFeature("deletionVectors") &&
         IsTrue(m, "delta.enableDeletionVectors");
}

Protocol WithWriterFeature(const Protocol& p, const std::string& feature) {
  if (p.HasWriterFeature(feature)) return p;
  Protocol out = p;
  if (p.min_writer_version < 7) {
    // Legacy writer versions imply these features (PROTOCOL.md "Writer Version
    // Requirements").
    static const std::vector<std::pair<int, std::vector<std::string>>> kImplied = {
        {2, {"appendOnly", "invariants"}},
        {3, {"checkConstraints"}},
        {4, {"changeDataFeed", "generatedColumns"}},
        {5, {"columnMapping"}},
        {6, {"identityColumns"}}};
    std::vector<std::string> features;
    for (const auto& [version, names] : kImplied) {
      if (p.min_writer_version >= version)
        features.insert(features.end(), names.begin(), names.end());
    }
    out.min_writer_version = 7;
    out.writer_features = features;
    if (p.min_reader_version == 3 && !out.reader_features)
      out.reader_features = std::vector<std::string>{};
  }
  out.writer_features->push_back(feature);
  return out;
}

Protocol MinimalProtocol(const arrow::Schema& schema,
                         const std::map<std::string, std::string>& properties) {
  Protocol p;  // (1, 2): readable by every Delta reader
  auto is_true = [&](const char* key) {
    auto it = properties.find(key);
    return it != properties.end() && (it->second == "true" || it->second == "TRUE");
  };
  bool ntz = false;
  for (const auto& f : schema.fields()) ntz = ntz || HasTimestampNtz(*f->type());
  bool cdf = is_true("delta.enableChangeDataFeed");
  bool dv = is_true("delta.enableDeletionVectors");
  if (ntz || dv) {
    // Table features: every active feature must be listed.
    p.min_reader_version = 3;
    p.min_writer_version = 7;
    p.reader_features = std::vector<std::string>{};
    p.writer_features = std::vector<std::string>{};
    auto both = [&](const char* feature) {
      p.reader_features->push_back(feature);
      p.writer_features->push_back(feature);
    };
    if (ntz) both("timestampNtz");
    if (dv) both("deletionVectors");
    if (is_true("delta.appendOnly")) p.writer_features->push_back("appendOnly");
    if (cdf) p.writer_features->push_back("changeDataFeed");
  } else if (cdf) {
    p.min_writer_version = 4;
  }
  return p;
}

}  // namespace inlet::delta
