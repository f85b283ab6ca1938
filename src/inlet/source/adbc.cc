// ADBC's boundary: the PostgreSQL driver's C API to arrow::Status and Arrow C++ readers.
// Compiled only when the build found ADBC's header (without_adbc.cc otherwise).
#include "inlet/source/adbc.h"

#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "inlet/common/redact.h"

// After Arrow's abi.h: both guard the C data interface's structs with the same macros.
#include <arrow-adbc/adbc.h>

namespace inlet::adbc {

namespace {

// The driver's function table, loaded once per process.
struct Driver {
  AdbcDriver table{};
  std::string error;  // why it could not be loaded
};

const Driver& LoadDriver() {
  static Driver driver;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("INLET_ADBC_POSTGRESQL");
    std::string path = env && *env ? env : INLET_ADBC_POSTGRESQL_DEFAULT;
    // Its libpq and OpenSSL are linked in and hidden: they cannot clash with the
    // system's libpq that the SQL catalog uses.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      driver.error =
          std::string("cannot load the ADBC PostgreSQL driver ") + path + ": " +
          dlerror() +
          " (pip install adbc-driver-postgresql, and set INLET_ADBC_POSTGRESQL "
          "to its libadbc_driver_postgresql.so)";
      return;
    }
    auto init =
        reinterpret_cast<AdbcDriverInitFunc>(dlsym(handle, "AdbcDriverPostgresqlInit"));
    if (!init)
      init = reinterpret_cast<AdbcDriverInitFunc>(dlsym(handle, "AdbcDriverInit"));
    AdbcError error = ADBC_ERROR_INIT;
    if (!init || init(ADBC_VERSION_1_1_0, &driver.table, &error) != ADBC_STATUS_OK) {
      driver.error = "the ADBC driver " + path + " does not speak ADBC 1.1" +
                     (error.message ? std::string(": ") + error.message : "");
      if (error.release) error.release(&error);
      driver.table = AdbcDriver{};
    }
  });
  return driver;
}

// The text of an ADBC error, with any occurrence of `secrets` hidden.
std::string Message(AdbcError* error, const std::vector<std::string>& secrets) {
  std::string text = error->message ? error->message : "unknown error";
  if (error->release) error->release(error);
  text = MaskSecrets(std::move(text), secrets);
  // The driver echoes the statement after a blank line; the caller names it.
  if (auto q = text.find("\n\nQuery was:"); q != std::string::npos) text.resize(q);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class AdbcConnectionImpl : public Connection {
 public:
  AdbcConnectionImpl(const AdbcDriver* d, std::string name,
                     std::vector<std::string> secrets)
      : d_(d), name_(std::move(name)), secrets_(std::move(secrets)) {}

  ~AdbcConnectionImpl() override {
    AdbcError error = ADBC_ERROR_INIT;
    if (connection_open_) d_->ConnectionRelease(&connection_, &error);
    if (error.release) error.release(&error);
    error = ADBC_ERROR_INIT;
    if (database_open_) d_->DatabaseRelease(&database_, &error);
    if (error.release) error.release(&error);
  }

  arrow::Status Connect(const std::string& uri) {
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->DatabaseNew(&database_, &error) != ADBC_STATUS_OK)
      return Failed("cannot connect", &error);
    database_open_ = true;
    if (d_->DatabaseSetOption(&database_, "uri", uri.c_str(), &error) != ADBC_STATUS_OK ||
        d_->DatabaseInit(&database_, &error) != ADBC_STATUS_OK)
      return Failed("cannot connect", &error);
    if (d_->ConnectionNew(&connection_, &error) != ADBC_STATUS_OK)
      return Failed("cannot connect", &error);
    connection_open_ = true;
    if (d_->ConnectionInit(&connection_, &database_, &error) != ADBC_STATUS_OK)
      return Failed("cannot connect", &error);
    return arrow::Status::OK();
  }

  arrow::Status Execute(const std::string& sql) override { return Update(sql).status(); }

  arrow::Result<int64_t> Update(const std::string& sql) override {
    sqlstate_.clear();
    Statement s(this);
    ARROW_RETURN_NOT_OK(s.Prepare(sql));
    int64_t rows = -1;
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->StatementExecuteQuery(&s.statement, nullptr, &rows, &error) != ADBC_STATUS_OK)
      return Failed("cannot run `" + Abbreviated(sql) + "`", &error);
    return rows;
  }

  arrow::Status Begin() override {
    return SetAutocommit(ADBC_OPTION_VALUE_DISABLED, "cannot begin a transaction");
  }

  arrow::Status Commit() override {
    sqlstate_.clear();
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->ConnectionCommit(&connection_, &error) != ADBC_STATUS_OK)
      return Failed("cannot commit", &error);
    return arrow::Status::OK();
  }

  arrow::Status Rollback() override {
    sqlstate_.clear();
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->ConnectionRollback(&connection_, &error) != ADBC_STATUS_OK)
      return Failed("cannot roll back", &error);
    return arrow::Status::OK();
  }

  arrow::Status EndTransactions() override {
    return SetAutocommit(ADBC_OPTION_VALUE_ENABLED, "cannot return to autocommit");
  }

  arrow::Status IngestTemporary(const std::string& table,
                                std::shared_ptr<arrow::RecordBatchReader> data) override {
    sqlstate_.clear();
    Statement s(this);
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->StatementNew(&connection_, &s.statement, &error) != ADBC_STATUS_OK)
      return Failed("cannot start a statement", &error);
    s.open = true;
    if (d_->StatementSetOption(&s.statement, ADBC_INGEST_OPTION_TARGET_TABLE,
                               table.c_str(), &error) != ADBC_STATUS_OK ||
        d_->StatementSetOption(&s.statement, ADBC_INGEST_OPTION_MODE,
                               ADBC_INGEST_OPTION_MODE_CREATE,
                               &error) != ADBC_STATUS_OK ||
        d_->StatementSetOption(&s.statement, ADBC_INGEST_OPTION_TEMPORARY,
                               ADBC_OPTION_VALUE_ENABLED, &error) != ADBC_STATUS_OK)
      return Failed("cannot prepare the copy", &error);
    ArrowArrayStream stream{};
    ARROW_RETURN_NOT_OK(arrow::ExportRecordBatchReader(std::move(data), &stream));
    if (d_->StatementBindStream(&s.statement, &stream, &error) != ADBC_STATUS_OK) {
      if (stream.release) stream.release(&stream);
      return Failed("cannot copy the rows", &error);
    }
    int64_t rows = -1;
    if (d_->StatementExecuteQuery(&s.statement, nullptr, &rows, &error) != ADBC_STATUS_OK)
      return Failed("cannot copy the rows", &error);
    return arrow::Status::OK();
  }

  const std::string& sqlstate() const override { return sqlstate_; }

  arrow::Status BeginSnapshot() override {
    AdbcError error = ADBC_ERROR_INIT;
    // The level applies to the transactions that start after it; the first statement
    // once autocommit is off starts one.
    if (d_->ConnectionSetOption(&connection_, ADBC_CONNECTION_OPTION_ISOLATION_LEVEL,
                                ADBC_OPTION_ISOLATION_LEVEL_REPEATABLE_READ,
                                &error) != ADBC_STATUS_OK ||
        d_->ConnectionSetOption(&connection_, ADBC_CONNECTION_OPTION_AUTOCOMMIT,
                                ADBC_OPTION_VALUE_DISABLED, &error) != ADBC_STATUS_OK)
      return Failed("cannot begin a repeatable-read transaction", &error);
    return Execute("SET TRANSACTION READ ONLY");
  }

  arrow::Status EndSnapshot() override {
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->ConnectionRollback(&connection_, &error) != ADBC_STATUS_OK)
      return Failed("cannot end the read's transaction", &error);
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::Schema>> Describe(
      const std::string& sql) override {
    sqlstate_.clear();
    Statement s(this);
    ARROW_RETURN_NOT_OK(s.Prepare(sql));
    ArrowSchema schema{};
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->StatementExecuteSchema(&s.statement, &schema, &error) != ADBC_STATUS_OK)
      return Failed("cannot describe the query", &error);
    return arrow::ImportSchema(&schema);
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Query(
      const std::string& sql) override {
    sqlstate_.clear();
    auto s = std::make_shared<Statement>(this);
    ARROW_RETURN_NOT_OK(s->Prepare(sql));
    ArrowArrayStream stream{};
    int64_t rows = -1;
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->StatementExecuteQuery(&s->statement, &stream, &rows, &error) !=
        ADBC_STATUS_OK)
      return Failed("cannot run the query", &error);
    ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ImportRecordBatchReader(&stream));
    return std::make_shared<StatementReader>(std::move(reader), std::move(s));
  }

 private:
  struct Statement;

  // The stream of a statement, which must live as long as its stream is read.
  class StatementReader : public arrow::RecordBatchReader {
   public:
    StatementReader(std::shared_ptr<arrow::RecordBatchReader> reader,
                    std::shared_ptr<Statement> statement)
        : reader_(std::move(reader)), statement_(std::move(statement)) {}
    ~StatementReader() override {
      reader_.reset();  // the stream goes before its statement
    }
    std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
    arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
      return reader_->ReadNext(batch);
    }

   private:
    std::shared_ptr<arrow::RecordBatchReader> reader_;
    std::shared_ptr<Statement> statement_;
  };

  struct Statement {
    explicit Statement(AdbcConnectionImpl* c) : c(c) {}
    ~Statement() {
      if (!open) return;
      AdbcError error = ADBC_ERROR_INIT;
      c->d_->StatementRelease(&statement, &error);
      if (error.release) error.release(&error);
    }
    arrow::Status Prepare(const std::string& sql) {
      AdbcError error = ADBC_ERROR_INIT;
      if (c->d_->StatementNew(&c->connection_, &statement, &error) != ADBC_STATUS_OK)
        return c->Failed("cannot start a statement", &error);
      open = true;
      if (c->d_->StatementSetSqlQuery(&statement, sql.c_str(), &error) != ADBC_STATUS_OK)
        return c->Failed("cannot start a statement", &error);
      return arrow::Status::OK();
    }
    AdbcConnectionImpl* c;
    AdbcStatement statement{};
    bool open = false;
  };

  // Autocommit off (a transaction begins) or on again.
  arrow::Status SetAutocommit(const char* value, const std::string& failure) {
    sqlstate_.clear();
    AdbcError error = ADBC_ERROR_INIT;
    if (d_->ConnectionSetOption(&connection_, ADBC_CONNECTION_OPTION_AUTOCOMMIT, value,
                                &error) != ADBC_STATUS_OK)
      return Failed(failure, &error);
    return arrow::Status::OK();
  }

  arrow::Status Failed(const std::string& what, AdbcError* error) {
    sqlstate_.assign(error->sqlstate, strnlen(error->sqlstate, sizeof(error->sqlstate)));
    if (sqlstate_ == std::string(5, '\0')) sqlstate_.clear();
    return arrow::Status::IOError("PostgreSQL ", name_, ": ", what, ": ",
                                  Message(error, secrets_));
  }

  // A statement as a message quotes it: its first line, at most 200 characters.
  static std::string Abbreviated(const std::string& sql) {
    std::string out = sql.substr(0, std::min(sql.find('\n'), size_t{200}));
    return out.size() < sql.size() ? out + " ..." : out;
  }

  const AdbcDriver* d_;
  std::string name_;
  std::vector<std::string> secrets_;
  AdbcDatabase database_{};
  AdbcConnection connection_{};
  bool database_open_ = false;
  bool connection_open_ = false;
  std::string sqlstate_;
};

}  // namespace

arrow::Result<std::unique_ptr<Connection>> Connection::Open(
    const std::string& uri, const std::string& name,
    const std::vector<std::string>& secrets) {
  const Driver& driver = LoadDriver();
  if (!driver.error.empty())
    return arrow::Status::IOError("PostgreSQL ", name, ": ", driver.error);
  auto c = std::make_unique<AdbcConnectionImpl>(&driver.table, name, secrets);
  ARROW_RETURN_NOT_OK(c->Connect(uri));
  return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace inlet::adbc
