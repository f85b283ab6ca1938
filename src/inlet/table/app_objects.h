// Application documents kept as immutable objects beside a table's data: what a Delta
// table with inlet.stateStorage=files and every Iceberg table point at from their
// commits (a txn action, a snapshot summary key). Each version of a document is a new
// object `_inlet/apps/<app>/<id>.json`, written put-if-absent before the commit that
// points at it; an object no commit points at is never read.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>

#include "inlet/storage/table_store.h"

namespace inlet::table {

inline constexpr char kAppObjectDir[] = "_inlet/apps";

/// The object holding version `id` of app's document, relative to the table root (the
/// application id percent-encoded as one path segment).
std::string AppObjectPath(const std::string& app, int64_t id);

/// Writes a new object of app's document and returns its id (random, in [1, 2^53)).
/// Errors name the object.
arrow::Result<int64_t> WriteAppObject(const TableStore& store, const std::string& app,
                                      const std::string& document);

/// Reads version `id` of app's document. `at` says which table state points at it, for
/// the message when the object is gone.
arrow::Result<std::string> ReadAppObject(const TableStore& store, const std::string& app,
                                         int64_t id, const std::string& at);

}  // namespace inlet::table
