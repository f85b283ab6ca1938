// A build without ADBC's header: PostgreSQL sources fail, saying so.
#include "inlet/source/adbc.h"

namespace inlet::adbc {

arrow::Result<std::unique_ptr<Connection>> Connection::Open(
    const std::string&, const std::string& name, const std::vector<std::string>&) {
  return arrow::Status::NotImplemented(
      "PostgreSQL ", name,
      ": this inlet was built without ADBC (pip install adbc-driver-postgresql into the "
      "build's .venv and rebuild)");
}

}  // namespace inlet::adbc
