// The stand-in for pg_replication.cc when inlet is built without libpq.
#include "inlet/source/pg_replication.h"

namespace inlet::pgrepl {

arrow::Result<std::unique_ptr<Connection>> Connection::Open(const std::string&, bool,
                                                            std::string name,
                                                            std::vector<std::string>) {
  return arrow::Status::NotImplemented(
      "cannot connect to PostgreSQL database ", name,
      ": this inlet was built without libpq (PostgreSQL change data capture)");
}

}  // namespace inlet::pgrepl
