// OpenPostgres in a build without libpq (CMake found none): a clear error instead of a
// connection. Compiled only then.
#include "inlet/iceberg/sql_db.h"

namespace inlet::iceberg {

arrow::Result<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri) {
  return arrow::Status::NotImplemented("cannot use the PostgreSQL catalog at ",
                                       RedactUri(uri),
                                       ": this build of inlet has no PostgreSQL support "
                                       "(libpq was not found when it was built)");
}

}  // namespace inlet::iceberg
