#include "inlet/iceberg/catalog.h"

#include <filesystem>
#include <mutex>

namespace inlet::iceberg {

namespace {

// The iceberg_type of the tables in a JdbcCatalog's "v1" schema (views are "VIEW").
constexpr char kTableType[] = "TABLE";

std::string WithoutTrailingSlash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// The SQL catalog: tables iceberg_tables and iceberg_namespace_properties, created as
// Java's JdbcCatalog creates them in its v1 schema (pyiceberg does the same). A catalog
// of the older v0 schema, without iceberg_type, is used as it is.
class SqlCatalog : public Catalog {
 public:
  static arrow::Result<std::shared_ptr<Catalog>> Make(std::unique_ptr<SqlDb> db,
                                                      const CatalogOptions& options,
                                                      bool for_write) {
    std::shared_ptr<SqlCatalog> c(new SqlCatalog(std::move(db), options));
    if (for_write) ARROW_RETURN_NOT_OK(c->CreateMissingTables());
    auto tables = c->db_->Query("SELECT table_name FROM iceberg_tables WHERE 1 = 0");
    if (!tables.ok())
      return arrow::Status::IOError(c->description_,
                                    " has no Iceberg catalog (no iceberg_tables table; "
                                    "a write through the catalog creates it): ",
                                    tables.status().message());
    auto probe = c->db_->Query("SELECT iceberg_type FROM iceberg_tables WHERE 1 = 0");
    c->typed_ = probe.ok();
    return c;
  }

  arrow::Result<std::optional<std::string>> CurrentMetadata(
      const TableIdent& table) override {
    std::lock_guard<std::mutex> lock(mu_);
    ARROW_ASSIGN_OR_RAISE(
        auto rows,
        Named(
            db_->Query("SELECT metadata_location FROM iceberg_tables WHERE catalog_name "
                       "= $1 AND table_namespace = $2 AND table_name = $3" +
                           TypeFilter(),
                       {name_, table.Namespace(), table.name}),
            "cannot look up table " + table.ToString()));
    if (rows.empty() || !rows[0][0]) return std::nullopt;
    return *rows[0][0];
  }

  arrow::Result<bool> AddTable(const TableIdent& table,
                               const std::string& metadata) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string what = "cannot add table " + table.ToString();
    ARROW_ASSIGN_OR_RAISE(
        auto ns,
        Named(
            db_->Query("SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = "
                       "$1 AND namespace = $2",
                       {name_, table.Namespace()}),
            what));
    // Java's JdbcCatalog refuses a table in a namespace it does not know; pyiceberg
    // records one as this minimal property.
    if (ns.empty()) {
      ARROW_RETURN_NOT_OK(
          Named(db_->Exec("INSERT INTO iceberg_namespace_properties (catalog_name, "
                          "namespace, property_key, property_value) VALUES ($1, $2, "
                          "'exists', 'true') ON CONFLICT DO NOTHING",
                          {name_, table.Namespace()}),
                what));
    }
    std::string sql =
        typed_ ? "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                 "metadata_location, previous_metadata_location, iceberg_type) VALUES "
                 "($1, $2, $3, $4, NULL, '" +
                     std::string(kTableType) + "') ON CONFLICT DO NOTHING"
               : "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                 "metadata_location, previous_metadata_location) VALUES ($1, $2, $3, "
                 "$4, NULL) ON CONFLICT DO NOTHING";
    ARROW_ASSIGN_OR_RAISE(
        int64_t added,
        Named(db_->Exec(sql, {name_, table.Namespace(), table.name, metadata}), what));
    if (added == 1) return true;
    // The name is taken. By a table someone else just created: a lost race. By a view or
    // an entry without metadata: no retry would ever succeed.
    ARROW_ASSIGN_OR_RAISE(
        auto rows,
        Named(db_->Query("SELECT metadata_location" +
                             std::string(typed_ ? ", iceberg_type" : "") +
                             " FROM iceberg_tables WHERE catalog_name = $1 AND "
                             "table_namespace = $2 AND table_name = $3",
                         {name_, table.Namespace(), table.name}),
              what));
    for (const auto& row : rows) {
      bool view = row.size() > 1 && row[1] && *row[1] != kTableType;
      if (view || !row[0])
        return arrow::Status::Invalid(description_, ": ", what, ": the name is taken by ",
                                      view ? "a view" : "an entry without metadata");
    }
    return false;
  }

  arrow::Result<bool> SwapMetadata(const TableIdent& table, const std::string& expected,
                                   const std::string& next) override {
    std::lock_guard<std::mutex> lock(mu_);
    ARROW_ASSIGN_OR_RAISE(
        int64_t updated,
        Named(db_->Exec("UPDATE iceberg_tables SET metadata_location = $4, "
                        "previous_metadata_location = $5 WHERE catalog_name = $1 AND "
                        "table_namespace = $2 AND table_name = $3 AND metadata_location "
                        "= $5",
                        {name_, table.Namespace(), table.name, next, expected}),
              "cannot commit table " + table.ToString() +
                  " (whether the commit took effect is unknown)"));
    return updated == 1;
  }

  arrow::Result<std::vector<TableIdent>> ListTables(const std::string& ns) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sql =
        "SELECT table_namespace, table_name FROM iceberg_tables WHERE catalog_name = $1" +
        TypeFilter();
    SqlParams params = {name_};
    if (!ns.empty()) {
      sql += " AND table_namespace = $2";
      params.push_back(ns);
    }
    ARROW_ASSIGN_OR_RAISE(auto rows, Named(db_->Query(sql + " ORDER BY 1, 2", params),
                                           "cannot list tables"));
    std::vector<TableIdent> out;
    for (const auto& row : rows) {
      ARROW_ASSIGN_OR_RAISE(
          auto id, TableIdent::Parse(row[0].value_or("") + "." + row[1].value_or("")));
      out.push_back(std::move(id));
    }
    return out;
  }

  const std::string& description() const override { return description_; }

 private:
  SqlCatalog(std::unique_ptr<SqlDb> db, const CatalogOptions& options)
      : db_(std::move(db)), name_(options.name) {
    description_ = "SQL catalog '" + name_ + "' (" + RedactUri(options.uri) + ")";
  }

  // Creates those of the catalog's two tables that are missing (each probed first:
  // CREATE TABLE IF NOT EXISTS needs the privilege to create tables even when they
  // exist, which a catalog's role often lacks), as Java's JdbcCatalog does.
  arrow::Status CreateMissingTables() {
    static const std::pair<const char*, const char*> kTables[] = {
        {"iceberg_tables",
         "(catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL, "
         "table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), "
         "previous_metadata_location VARCHAR(1000), iceberg_type VARCHAR(5), PRIMARY KEY "
         "(catalog_name, table_namespace, table_name))"},
        {"iceberg_namespace_properties",
         "(catalog_name VARCHAR(255) NOT NULL, namespace VARCHAR(255) NOT NULL, "
         "property_key VARCHAR(255), property_value VARCHAR(1000), PRIMARY KEY "
         "(catalog_name, namespace, property_key))"}};
    for (const auto& [table, columns] : kTables) {
      if (db_->Query(std::string("SELECT 1 FROM ") + table + " WHERE 1 = 0").ok())
        continue;
      ARROW_RETURN_NOT_OK(Named(
          db_->Exec(std::string("CREATE TABLE IF NOT EXISTS ") + table + " " + columns),
          std::string("cannot create the catalog's table ") + table));
    }
    return arrow::Status::OK();
  }

  std::string TypeFilter() const {
    return typed_ ? " AND (iceberg_type = '" + std::string(kTableType) +
                        "' OR iceberg_type IS NULL)"
                  : "";
  }

  template <typename T>
  arrow::Result<T> Named(arrow::Result<T> r, const std::string& what) const {
    if (r.ok()) return r;
    return r.status().WithMessage(description_, ": ", what, ": ", r.status().message());
  }

  // One statement at a time on the connection: a table handle may be shared by threads,
  // and a count of changed rows must be the statement's own.
  std::mutex mu_;
  std::unique_ptr<SqlDb> db_;
  std::string name_;
  std::string description_;
  bool typed_ = true;
};

// The file of a sqlite: URI: sqlite:PATH, or as SQLAlchemy (so pyiceberg) spells it,
// sqlite:///relative/path and sqlite:////absolute/path. Empty for another form.
std::string SqlitePath(const std::string& uri) {
  std::string rest = uri.substr(7);
  if (rest.rfind("///", 0) == 0) return rest.substr(3);
  if (rest.rfind("//", 0) == 0) return "";
  return rest;
}

}  // namespace

arrow::Result<TableIdent> TableIdent::Parse(const std::string& text) {
  TableIdent id;
  size_t start = 0;
  for (;;) {
    size_t dot = text.find('.', start);
    std::string level = text.substr(start, dot == std::string::npos ? dot : dot - start);
    if (level.empty())
      return arrow::Status::Invalid("'", text,
                                    "' is not a table name: expected namespace.table "
                                    "(namespace levels separated by dots)");
    if (dot == std::string::npos) {
      id.name = level;
      break;
    }
    id.ns.push_back(level);
    start = dot + 1;
  }
  if (id.ns.empty())
    return arrow::Status::Invalid("'", text, "' is not a table name: expected ",
                                  "namespace.table (a catalog table has a namespace)");
  return id;
}

std::string TableIdent::Namespace() const {
  std::string out;
  for (const auto& level : ns) out += (out.empty() ? "" : ".") + level;
  return out;
}

arrow::Result<bool> Catalog::CommitUpdates(const TableIdent& table, const TableMetadata*,
                                           const TableMetadata&) {
  return arrow::Status::NotImplemented(description(), " takes new metadata files, not ",
                                       "updates, for ", table.ToString());
}

arrow::Result<std::string> Catalog::DefaultLocation(const TableIdent& table) {
  if (warehouse_.empty())
    return arrow::Status::Invalid(
        description(), " has no warehouse: give one (--warehouse, ",
        "catalog.warehouse) or the table's location to create ", table.ToString());
  std::string out = WithoutTrailingSlash(warehouse_);
  for (const auto& level : table.ns) out += "/" + level;
  return out + "/" + table.name;
}

arrow::Result<std::shared_ptr<Catalog>> OpenCatalog(const CatalogOptions& options,
                                                    bool for_write) {
  const std::string& uri = options.uri;
  std::shared_ptr<Catalog> catalog;
  std::string warehouse = options.warehouse;
  if (uri.rfind("sqlite:", 0) == 0) {
    std::string path = SqlitePath(uri);
    if (path.empty())
      return arrow::Status::Invalid("catalog URI ", uri,
                                    " names no file: use sqlite:PATH, sqlite:///relative "
                                    "or sqlite:////absolute");
    if (for_write) {
      auto dir = std::filesystem::absolute(path).parent_path();
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
    }
    ARROW_ASSIGN_OR_RAISE(auto db, OpenSqlite(path, for_write));
    ARROW_ASSIGN_OR_RAISE(catalog, SqlCatalog::Make(std::move(db), options, for_write));
    if (warehouse.empty())
      warehouse =
          std::filesystem::absolute(path).parent_path().lexically_normal().string();
  } else if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0 ||
             uri.rfind("jdbc:postgresql://", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto db,
                          OpenPostgres(uri.rfind("jdbc:", 0) == 0 ? uri.substr(5) : uri));
    ARROW_ASSIGN_OR_RAISE(catalog, SqlCatalog::Make(std::move(db), options, for_write));
  } else if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(catalog, OpenRestCatalog(options));
    // A REST warehouse may be a name the server resolves: a location only when it looks
    // like one (else the server's, when its configuration tells one).
    if (warehouse.find('/') == std::string::npos) return catalog;
  } else {
    return arrow::Status::Invalid("unknown catalog URI '", RedactUri(uri),
                                  "': use sqlite:PATH, postgresql://user@host:port/db or "
                                  "http(s)://host:port (REST)");
  }
  catalog->set_warehouse(warehouse);
  return catalog;
}

}  // namespace inlet::iceberg
