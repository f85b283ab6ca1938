// Iceberg catalogs: where each table's current metadata file is recorded. A commit writes
// a new metadata file and then moves the catalog's pointer from the file it read to the
// new one in one compare-and-set; losing that race is a retry, as with file-system
// tables' put-if-absent. The SQL catalog shares its schema with Java's JdbcCatalog
// (Spark, Trino), pyiceberg's SqlCatalog and iceberg-cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/iceberg/metadata.h"
#include "inlet/iceberg/sql_db.h"
#include "inlet/table.h"

namespace inlet::iceberg {

/// A table's name in a catalog: namespace levels and the table name.
struct TableIdent {
  std::vector<std::string> ns;
  std::string name;

  /// "a.b.table": every level but the last is the namespace (at least one level).
  static arrow::Result<TableIdent> Parse(const std::string& text);
  /// The namespace as the SQL catalog stores it: levels joined by dots.
  std::string Namespace() const;
  std::string ToString() const { return Namespace() + "." + name; }
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  /// The current metadata file of `table`; nullopt when the catalog has no such table.
  virtual arrow::Result<std::optional<std::string>> CurrentMetadata(
      const TableIdent& table) = 0;
  /// Records a new table (creating its namespace when absent) whose metadata file is
  /// `metadata`. False, changing nothing, when the catalog already has the table.
  virtual arrow::Result<bool> AddTable(const TableIdent& table,
                                       const std::string& metadata) = 0;
  /// Moves the table's pointer from `expected` to `next` atomically. False, changing
  /// nothing, when the pointer is no longer `expected` (another writer committed). An
  /// error leaves the outcome unknown: `next` must not be deleted then.
  virtual arrow::Result<bool> SwapMetadata(const TableIdent& table,
                                           const std::string& expected,
                                           const std::string& next) = 0;
  /// Whether commits are sent as the changes to apply (REST: the server writes the
  /// metadata file) instead of a new metadata file to point at (SwapMetadata).
  virtual bool TakesUpdates() const { return false; }
  /// Commits `next` on `base` (null: creates the table) as changes with requirements.
  /// False, changing nothing, when a requirement failed (another writer committed). An
  /// error may leave the outcome unknown; its message says so.
  virtual arrow::Result<bool> CommitUpdates(const TableIdent& table,
                                            const TableMetadata* base,
                                            const TableMetadata& next);
  /// The tables of a namespace, or of every namespace when `ns` is empty.
  virtual arrow::Result<std::vector<TableIdent>> ListTables(const std::string& ns) = 0;

  /// The catalog as messages name it: kind, name and address without secrets.
  virtual const std::string& description() const = 0;
  /// Where a table created in it goes, without a trailing slash; Invalid when the
  /// catalog has no warehouse.
  virtual arrow::Result<std::string> DefaultLocation(const TableIdent& table);
  void set_warehouse(std::string warehouse) { warehouse_ = std::move(warehouse); }
  const std::string& warehouse() const { return warehouse_; }

 private:
  std::string warehouse_;
};

/// The REST catalog at options.uri (rest_catalog.cc): reads its configuration and, with
/// credentials, fetches a token.
arrow::Result<std::shared_ptr<Catalog>> OpenRestCatalog(const CatalogOptions& options);

/// Opens the catalog `options` names. `for_write`: a missing SQLite file and the
/// catalog's tables are created (a read of a catalog that does not exist fails instead,
/// naming it).
arrow::Result<std::shared_ptr<Catalog>> OpenCatalog(const CatalogOptions& options,
                                                    bool for_write);

}  // namespace inlet::iceberg
