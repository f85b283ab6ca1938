#include "inlet/table/app_objects.h"

#include <arrow/buffer.h>
#include <arrow/status.h>

#include <cctype>
#include <cstdio>
#include <random>

namespace inlet::table {

namespace {

// An application id as one path segment: unreserved characters stay, every other byte
// is %XX.
std::string Segment(const std::string& app) {
  std::string out;
  for (unsigned char c : app) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// A random object id in [1, 2^53): positive, and exact in readers that hold JSON
// numbers as doubles.
int64_t NewDocumentId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> dist(1, (int64_t{1} << 53) - 1);
  return dist(rng);
}

}  // namespace

std::string AppObjectPath(const std::string& app, int64_t id) {
  return std::string(kAppObjectDir) + "/" + Segment(app) + "/" + std::to_string(id) +
         ".json";
}

arrow::Result<int64_t> WriteAppObject(const TableStore& store, const std::string& app,
                                      const std::string& document) {
  if (store.local()) {
    auto made = store.CreateDir(std::string(kAppObjectDir) + "/" + Segment(app));
    if (!made.ok())
      return made.WithMessage("cannot write the state of application '", app, "' in ",
                              store.location(), ": ", made.message());
  }
  for (int attempt = 0; attempt < 8; ++attempt) {
    int64_t id = NewDocumentId();
    std::string rel = AppObjectPath(app, id);
    auto created = store.PutIfAbsent(rel, document);
    if (!created.ok())
      return created.status().WithMessage("cannot write the state of application '", app,
                                          "' to ", store.Resolve(rel), ": ",
                                          created.status().message());
    if (*created) return id;
  }
  return arrow::Status::IOError("cannot write the state of application '", app, "' in ",
                                store.location(), ": no free document name");
}

arrow::Result<std::string> ReadAppObject(const TableStore& store, const std::string& app,
                                         int64_t id, const std::string& at) {
  std::string rel = AppObjectPath(app, id);
  auto bytes = store.ReadFile(rel);
  if (!bytes.ok()) {
    return bytes.status().WithMessage(
        "cannot read the state of application '", app, "' in ", store.location(), " at ",
        at, ": its document ", rel, " cannot be read (", bytes.status().message(),
        "); if it is gone, clear the state (inlet reset) or restore an earlier version");
  }
  return (*bytes)->ToString();
}

}  // namespace inlet::table
