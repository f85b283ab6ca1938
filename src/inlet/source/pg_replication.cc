// libpq's boundary for change data capture (pg_replication.h).
#include "inlet/source/pg_replication.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "inlet/status.h"

namespace inlet::pgrepl {

namespace {

constexpr int kStreamLowWater = 128 * 1024;

// An IOError of kind kConnectionFailed (made here: this library does not link inlet's
// core, whose WithKind makes it elsewhere).
arrow::Status ConnectionFailed(const std::string& message) {
  return arrow::Status(arrow::StatusCode::IOError, message,
                       std::make_shared<ErrorDetail>(ErrorKind::kConnectionFailed));
}

// libpq's messages span lines ("server closed the connection unexpectedly\n\tThis
// probably means ...") and, after failed attempts, say the same again: one line, each
// said once.
std::string OneLine(const std::string& text) {
  std::vector<std::string> seen;
  std::string out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!line.empty() && blank(line.back())) line.pop_back();
    size_t first = 0;
    while (first < line.size() && blank(line[first])) ++first;
    line.erase(0, first);
    // Said already: the same line, or one that ends with it after a prefix ("connection
    // to server at ... failed: server closed the connection unexpectedly").
    bool said = std::any_of(seen.begin(), seen.end(), [&](const std::string& earlier) {
      return earlier == line || (earlier.size() > line.size() + 2 &&
                                 earlier.compare(earlier.size() - line.size() - 2,
                                                 std::string::npos, ": " + line) == 0);
    });
    if (line.empty() || said) continue;
    seen.push_back(line);
    out += (out.empty() ? "" : " ") + line;
  }
  return out;
}

// The forms source/pg_text.h parses, for every session.
constexpr char kSessionOptions[] =
    "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=iso_8601 "
    "-c extra_float_digits=3 -c bytea_output=hex -c standard_conforming_strings=on "
    "-c client_encoding=UTF8";

class LibpqConnection : public Connection {
 public:
  LibpqConnection(PGconn* conn, std::string name, std::vector<std::string> secrets)
      : conn_(conn), name_(std::move(name)), secrets_(std::move(secrets)) {}
  ~LibpqConnection() override { PQfinish(conn_); }

  arrow::Result<std::vector<Row>> Query(
      const std::string& sql,
      const std::vector<std::optional<std::string>>& params) override {
    Result result(nullptr, PQclear);
    if (params.empty()) {
      // The simple protocol: replication commands take no other.
      result.reset(PQexec(conn_, sql.c_str()));
    } else {
      std::vector<const char*> values;
      for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
      result.reset(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                nullptr, values.data(), nullptr, nullptr, 0));
    }
    auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      return Failed("", result.get());
    std::vector<Row> rows;
    for (int r = 0; r < PQntuples(result.get()); ++r) {
      Row row;
      for (int c = 0; c < PQnfields(result.get()); ++c) {
        if (PQgetisnull(result.get(), r, c))
          row.push_back(std::nullopt);
        else
          row.push_back(std::string(PQgetvalue(result.get(), r, c),
                                    PQgetlength(result.get(), r, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  arrow::Status CopyOut(
      const std::string& sql,
      const std::function<arrow::Status(std::string_view)>& on_row) override {
    Result started(PQexec(conn_, sql.c_str()), PQclear);
    if (!started || PQresultStatus(started.get()) != PGRES_COPY_OUT)
      return Failed("", started.get());
    arrow::Status failure;
    while (true) {
      char* buf = nullptr;
      int n = PQgetCopyData(conn_, &buf, 0);
      if (n == -1) break;  // done: the command's result follows
      if (n == -2) return failure.ok() ? Failed("the copy failed: ") : failure;
      if (failure.ok()) {
        std::string_view line(buf, static_cast<size_t>(n));
        if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        failure = on_row(line);
        if (!failure.ok()) {
          // Cancel the rest (once), and read what was already sent.
          PGcancel* cancel = PQgetCancel(conn_);
          char err[256];
          if (cancel) {
            PQcancel(cancel, err, sizeof(err));
            PQfreeCancel(cancel);
          }
        }
      }
      PQfreemem(buf);
    }
    Result done(PQgetResult(conn_), PQclear);
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    if (!failure.ok()) return failure;
    if (!done || PQresultStatus(done.get()) != PGRES_COMMAND_OK)
      return Failed("the copy failed: ", done.get());
    return arrow::Status::OK();
  }

  arrow::Status StartStream(const std::string& command) override {
    Result started(PQexec(conn_, command.c_str()), PQclear);
    if (!started || PQresultStatus(started.get()) != PGRES_COPY_BOTH)
      return Failed("", started.get());
    // A stream's messages are small and come one by one: waking for each costs more than
    // reading them. Waits end once kStreamLowWater bytes are there (or at their timeout).
    int low = kStreamLowWater;
    setsockopt(PQsocket(conn_), SOL_SOCKET, SO_RCVLOWAT, &low, sizeof(low));
    return arrow::Status::OK();
  }

  arrow::Result<bool> Receive(int timeout_ms, std::string* out) override {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool read = false;  // with no time to wait: what one read of the socket brings
    while (true) {
      char* buf = nullptr;
      int n = PQgetCopyData(conn_, &buf, /*async=*/1);
      if (n > 0) {
        out->assign(buf, static_cast<size_t>(n));
        PQfreemem(buf);
        return true;
      }
      if (n == -1) {
        Result end(PQgetResult(conn_), PQclear);
        return Failed("the server ended the replication stream: ", end.get());
      }
      if (n == -2) return Failed("the replication stream failed: ");
      if (timeout_ms <= 0) {
        if (read) return false;
        read = true;
        if (!PQconsumeInput(conn_)) return Failed("the replication stream failed: ");
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) {
        // The wait is over, and less than the low-water mark may have come: take it.
        if (read) return false;
        read = true;
        if (!PQconsumeInput(conn_)) return Failed("the replication stream failed: ");
        continue;
      }
      pollfd fd{PQsocket(conn_), POLLIN, 0};
      int ready = poll(&fd, 1, static_cast<int>(left));
      if (ready < 0 && errno != EINTR) return Failed("cannot wait for the server: ");
      if (ready > 0 && !PQconsumeInput(conn_))
        return Failed("the replication stream failed: ");
    }
  }

  arrow::Status Send(std::string_view bytes) override {
    if (PQputCopyData(conn_, bytes.data(), static_cast<int>(bytes.size())) != 1 ||
        PQflush(conn_) != 0)
      return Failed("cannot send to the server: ");
    return arrow::Status::OK();
  }

  const std::string& name() const override { return name_; }

 private:
  using Result = std::unique_ptr<PGresult, void (*)(PGresult*)>;

  // The connection's last error (or result's), named and without secrets: IOError when
  // the connection is gone (or the server is shutting it down), which a stream may
  // survive by connecting again; Invalid for an error of the server that another
  // attempt would meet again.
  arrow::Status Failed(const std::string& what, const PGresult* result = nullptr) const {
    const char* text = result ? PQresultErrorMessage(result) : nullptr;
    std::string message = OneLine(text && *text ? text : PQerrorMessage(conn_));
    const char* code = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string state = code ? code : "";
    // No result: libpq itself failed (the connection). Class 08: connection exceptions;
    // 57P01-57P03: the server shuts down or restarts.
    // A result that is no error: the server ended a stream by itself (it shuts down).
    bool gone = !result || PQstatus(conn_) == CONNECTION_BAD ||
                PQresultStatus(result) != PGRES_FATAL_ERROR ||
                state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" ||
                state == "57P03";
    message = Masked(message, secrets_);
    if (gone)
      return ConnectionFailed("PostgreSQL database " + name_ + ": " + what + message);
    return arrow::Status::Invalid("PostgreSQL database ", name_, ": ", what, message);
  }

 public:
  static std::string Masked(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& s : secrets) {
      if (s.size() < 2) continue;
      for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 3))
        text.replace(at, s.size(), "***");
    }
    return text;
  }

 private:
  PGconn* conn_;
  std::string name_;
  std::vector<std::string> secrets_;
};

}  // namespace

arrow::Result<std::unique_ptr<Connection>> Connection::Open(
    const std::string& uri, bool replication, std::string name,
    std::vector<std::string> secrets) {
  // The URI first (expanded), then what inlet's sessions need over it.
  // connect_timeout: a server that does not answer is an error, not a hang (a URI's own
  // value comes first and wins).
  std::vector<const char*> keys = {"connect_timeout", "dbname", "options",
                                   "application_name"};
  std::vector<const char*> values = {"15", uri.c_str(), kSessionOptions, "inlet"};
  if (replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn) return arrow::Status::OutOfMemory("cannot allocate a PostgreSQL connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = LibpqConnection::Masked(OneLine(PQerrorMessage(conn)), secrets);
    PQfinish(conn);
    message = "cannot connect to PostgreSQL database " + name + ": " + message;
    // The server refused the session (FATAL: a password, pg_hba.conf, a database that
    // does not exist, a role without REPLICATION): connecting again would meet it again,
    // unless the server is only starting up, shutting down or recovering.
    bool refused = message.find("FATAL:") != std::string::npos &&
                   message.find("the database system is") == std::string::npos;
    if (refused) return arrow::Status::IOError(message);
    return ConnectionFailed(message);
  }
  return std::make_unique<LibpqConnection>(conn, std::move(name), std::move(secrets));
}

}  // namespace inlet::pgrepl
