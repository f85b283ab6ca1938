// PostgreSQL tables and queries as a bounded source (type: postgres): each run reads one
// consistent snapshot through ADBC (source/adbc.h), with the watermark's range pushed
// down into the query, and maps PostgreSQL's types onto the table's (docs/pipelines.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inlet/source/source.h"

namespace inlet {

arrow::Result<std::unique_ptr<BoundedSource>> OpenPostgresSource(
    const PostgresSourceConfig& config);

/// How to reach a PostgreSQL source: the URI libpq is given (the password added as a
/// parameter), the database as messages name it (no password), and the secrets a message
/// must never show (the password as given and as a URI spells it, and one written into
/// the connection URI itself).
struct PostgresConnection {
  std::string uri;
  std::string name;
  std::vector<std::string> secrets;
};
PostgresConnection ConnectionOf(const PostgresSourceConfig& config);

/// "schema.table" as a quoted SQL identifier ("schema"."table"); Invalid when a part is
/// empty.
arrow::Result<std::string> QuoteQualifiedName(const std::string& name);

/// A query's text ready to be nested as a subquery: what follows its last token (blanks,
/// semicolons, comments) removed. Quoted text and comments are recognised as PostgreSQL
/// writes them.
std::string NestableQuery(const std::string& sql);

}  // namespace inlet
