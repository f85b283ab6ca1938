// The catalog side of a postgres_cdc source (stream/pg_cdc.h): the connection that checks
// the table, its replica identity and keys, creates the publication, looks after the
// replication slot and reads column types; and how each column's values are read.
#pragma once

#include <arrow/result.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inlet/pipeline/config.h"
#include "inlet/source/pg_replication.h"
#include "inlet/stream/change_rows.h"

namespace inlet::stream {

/// A source table as the catalog describes it.
struct PgTableInfo {
  std::string name;       // as the pipeline names it (schema.table or table)
  std::string qualified;  // quoted: "schema"."table"
  std::string schema, relname;
  uint32_t relation_id = 0;
  char identity = 'd';       // relreplident
  bool partitioned = false;  // its changes come under its partitions' names
  std::vector<std::string> keys;
  /// The keys in the order of the btree index that holds them (the primary key or the
  /// replica identity index), when they are its columns; else empty. A snapshot copies in
  /// this order, and can go on after its last key when cut short.
  std::vector<std::string> ordered_keys;
  /// What a snapshot reads of it: FROM ONLY a table with inheritance children, whose
  /// changes do not come with its own.
  std::string from;
};

class PgCatalog {
 public:
  explicit PgCatalog(const pipeline::PipelineConfig& config);

  /// A connection to the source's database (replication: a walsender connection).
  arrow::Result<std::unique_ptr<pgrepl::Connection>> Connect(bool replication) const;
  /// Connects the catalog's own connection (again, after a failure).
  arrow::Status Open();
  pgrepl::Connection& conn() { return *conn_; }

  /// The table exists and its replica identity gives deletes the keys: `keys`, or the
  /// identity's columns when `keys` is empty.
  arrow::Result<PgTableInfo> CheckTable(const std::string& name,
                                        const std::vector<std::string>& keys);
  /// The publication: created for the tables when missing; otherwise it must publish
  /// them.
  arrow::Status EnsurePublication(const std::vector<PgTableInfo>& tables);
  /// The slot's confirmed flush LSN when it exists (a pgoutput slot of this database,
  /// not in use, that can still give changes, unless `lost_ok`: it is to be dropped);
  /// unset when there is none.
  arrow::Result<std::optional<pgoutput::Lsn>> Slot(bool lost_ok = false);
  arrow::Status DropSlot();
  /// A column as the rows read it; Invalid (naming the column) for a type without a
  /// mapping (unless unknown_types: text) or a name of inlet's own.
  arrow::Result<Column> ColumnOf(const std::string& name, uint32_t oid, int32_t typmod,
                                 bool key);

  /// An error naming the pipeline, the database and the source's tables (or `table`).
  arrow::Status Failed(const std::string& why, const std::string& table = "") const;

  const std::string& name() const { return name_; }  // the database, without secrets

 private:
  arrow::Result<pgtext::CatalogType> CatalogTypeOf(uint32_t oid, int32_t typmod);

  const pipeline::PipelineConfig& config_;
  const PostgresCdcSourceConfig& source_;
  std::string uri_, name_;
  std::vector<std::string> secrets_;
  std::unique_ptr<pgrepl::Connection> conn_;
  std::map<std::pair<uint32_t, int32_t>, pgtext::CatalogType> types_;
};

}  // namespace inlet::stream
