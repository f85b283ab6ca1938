#include "inlet/cli/table_names.h"

#include <cstdlib>
#include <optional>

#include "inlet/common/redact.h"
#include "inlet/postgres/postgres_table.h"

namespace inlet::cli {

namespace {

CatalogOptions& Catalog() {
  static CatalogOptions options;
  return options;
}

}  // namespace

void RegisterCatalogOptions(CLI::App* app) {
  CatalogOptions& c = Catalog();
  app->add_option(
         "--catalog", c.uri,
         "Iceberg catalog the table names resolve in (sqlite:PATH, "
         "postgresql://user@host:port/db or http(s)://host:port for REST); TABLE is "
         "then namespace.table")
      ->envname("INLET_CATALOG");
  app->add_option("--catalog-name", c.name,
                  "The catalog's name, as the other engines sharing it call it (default: "
                  "default)")
      ->envname("INLET_CATALOG_NAME");
  app->add_option("--warehouse", c.warehouse,
                  "Where tables created in the catalog go (default: beside a SQLite "
                  "catalog file)")
      ->envname("INLET_WAREHOUSE");
  app->add_option("--catalog-ca-bundle", c.ca_bundle,
                  "A REST catalog over https: PEM file of the certificates to trust")
      ->envname("INLET_CATALOG_CA_BUNDLE");
  app->add_option("--catalog-oauth2-server-uri", c.oauth2_server_uri,
                  "A REST catalog's OAuth2 token endpoint, for INLET_CATALOG_CREDENTIAL "
                  "(default: the catalog's /v1/oauth/tokens)")
      ->envname("INLET_CATALOG_OAUTH2_SERVER_URI");
  app->add_option("--catalog-scope", c.scope,
                  "The OAuth2 scope a credential asks for (default: catalog)")
      ->envname("INLET_CATALOG_SCOPE");
  // Secrets come from the environment only: a command line is visible to every user.
  if (const char* token = std::getenv("INLET_CATALOG_TOKEN")) c.token = token;
  if (const char* credential = std::getenv("INLET_CATALOG_CREDENTIAL"))
    c.credential = credential;
}

const CatalogOptions& GivenCatalog() { return Catalog(); }

bool NamesCatalogTable(const std::string& name) {
  return !Catalog().uri.empty() && name.find('/') == std::string::npos;
}

namespace {

// postgresql://user@host:port/db#schema.table: a PostgreSQL destination's table (its
// password from PGPASSWORD or ~/.pgpass, as libpq finds it).
std::optional<PostgresDestinationConfig> PostgresTableNamed(const std::string& name) {
  if (name.rfind("postgresql://", 0) != 0 && name.rfind("postgres://", 0) != 0)
    return std::nullopt;
  auto hash = name.rfind('#');
  if (hash == std::string::npos) return std::nullopt;
  PostgresDestinationConfig c;
  c.pg.connection = name.substr(0, hash);
  c.table = name.substr(hash + 1);
  c.pg.description = "PostgreSQL " + RedactUri(c.pg.connection);
  return c;
}

}  // namespace

arrow::Status RefusePassword(const PostgresDestinationConfig& c) {
  if (RedactUri(c.pg.connection) == c.pg.connection) return arrow::Status::OK();
  return arrow::Status::Invalid(
      RedactUri(c.pg.connection),
      ": give the password in PGPASSWORD or ~/.pgpass, not on the command line (where "
      "every user of the machine can read it)");
}

arrow::Result<std::shared_ptr<Table>> OpenTable(const std::string& name) {
  if (auto pg = PostgresTableNamed(name)) {
    ARROW_RETURN_NOT_OK(RefusePassword(*pg));
    return OpenPostgresTable(*pg);
  }
  if (NamesCatalogTable(name)) return Table::OpenInCatalog(Catalog(), name);
  return Table::Open(name);
}

arrow::Result<std::shared_ptr<Table>> OpenOrCreateTable(
    const std::string& name, std::optional<TableFormat> format) {
  if (auto pg = PostgresTableNamed(name)) {
    ARROW_RETURN_NOT_OK(RefusePassword(*pg));
    if (format)
      return arrow::Status::Invalid(
          RedactUri(name), " names a PostgreSQL table, which has no table format");
    return OpenPostgresTable(*pg);
  }
  if (NamesCatalogTable(name)) {
    if (format == TableFormat::kDelta)
      return arrow::Status::Invalid(name, " names a table of ", Catalog().uri,
                                    ", an Iceberg catalog: it cannot be a Delta table");
    return Table::OpenInCatalog(Catalog(), name, {}, /*create=*/true);
  }
  return Table::OpenOrCreate(name, {}, format);
}

}  // namespace inlet::cli
