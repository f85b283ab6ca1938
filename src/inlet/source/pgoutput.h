// PostgreSQL's logical replication wire formats, decoded without a connection: the
// messages of the built-in pgoutput plugin (protocol version 1: Begin, Commit, Origin,
// Relation, Type, Insert, Update, Delete, Truncate, Message) and the streaming
// replication protocol's CopyData envelopes around them (XLogData, primary keepalive)
// and the standby status update a client sends back. PostgreSQL's documentation,
// "Logical Replication Message Formats" and "Streaming Replication Protocol", is the
// spec; nothing here needs libpq. Integers are big-endian; times count microseconds
// since 2000-01-01 on the wire and since 1970-01-01 here.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace inlet::pgoutput {

/// A log sequence number.
using Lsn = uint64_t;

/// "16/B374D848", as PostgreSQL prints an LSN.
std::string FormatLsn(Lsn lsn);
/// The inverse of FormatLsn; Invalid for other text.
arrow::Result<Lsn> ParseLsn(std::string_view text);

struct Begin {
  Lsn final_lsn = 0;           // the LSN of the transaction's commit record
  int64_t commit_time_us = 0;  // since 1970-01-01
  uint32_t xid = 0;
};

struct Commit {
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;  // where the next transaction may begin: what a client confirms
  int64_t commit_time_us = 0;
};

struct Origin {
  Lsn commit_lsn = 0;
  std::string name;
};

struct RelationColumn {
  bool key = false;  // part of the replica identity
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
};

/// The columns of a table, sent before the first change of it in a session and again
/// whenever they change (an added, dropped or retyped column).
struct Relation {
  uint32_t id = 0;
  std::string schema;  // empty for pg_catalog
  std::string name;
  /// relreplident: 'd' default (the primary key), 'n' nothing, 'f' full, 'i' an index.
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
};

/// A data type that is not built in (an enum, a domain, ...), before its first use.
struct Type {
  uint32_t id = 0;
  std::string schema;
  std::string name;
};

/// One column's value in a tuple. Views point into the message's bytes.
struct Value {
  enum Kind : char {
    kNull = 'n',
    kUnchanged = 'u',  // a TOASTed value the update did not change: not sent
    kText = 't',
    kBinary = 'b',
  };
  Kind kind = kNull;
  std::string_view data;
};
using Tuple = std::vector<Value>;

struct Insert {
  uint32_t relation = 0;
  Tuple row;
};

struct Update {
  uint32_t relation = 0;
  /// 'K': the old key (the replica identity changed); 'O': the whole old row (REPLICA
  /// IDENTITY FULL); 0: no old values sent.
  char old_kind = 0;
  Tuple old_row;
  Tuple row;
};

struct Delete {
  uint32_t relation = 0;
  char old_kind = 'K';  // 'K' the key, 'O' the whole row (FULL)
  Tuple old_row;
};

struct Truncate {
  std::vector<uint32_t> relations;
  bool cascade = false;
  bool restart_identity = false;
};

/// pg_logical_emit_message's message.
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn = 0;
  std::string prefix;
  std::string_view content;
};

using Message = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update,
                             Delete, Truncate, LogicalMessage>;

/// Decodes one pgoutput message (protocol version 1). Invalid, naming the message kind
/// and what is wrong, for a truncated or unknown message. Views in the result point
/// into `bytes`.
arrow::Result<Message> Decode(std::string_view bytes);

/// A CopyData message of a logical replication stream.
struct XLogData {
  Lsn wal_start = 0;  // the LSN of the data
  Lsn wal_end = 0;    // the server's current end of WAL
  int64_t send_time_us = 0;
  std::string_view data;  // a pgoutput message
};

struct Keepalive {
  Lsn wal_end = 0;
  int64_t send_time_us = 0;
  bool reply_requested = false;
};

using CopyData = std::variant<XLogData, Keepalive>;

/// Decodes what the server sends inside CopyData during START_REPLICATION.
arrow::Result<CopyData> DecodeCopyData(std::string_view bytes);

/// The standby status update a client sends: what it has written, flushed (made
/// durable: the server may release WAL up to it) and applied; `reply` asks the server to
/// answer at once.
std::string StandbyStatusUpdate(Lsn written, Lsn flushed, Lsn applied, int64_t now_us,
                                bool reply);

}  // namespace inlet::pgoutput
