#include "inlet/source/pgoutput.h"

#include <cinttypes>
#include <cstdio>

namespace inlet::pgoutput {

namespace {

// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
constexpr int64_t kPostgresEpochUs = 946684800LL * 1000000;

// Reads big-endian fields off a message, failing (once, naming the message) when it runs
// out of bytes.
class Reader {
 public:
  Reader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {}

  template <typename T>
  arrow::Result<T> Int() {
    if (bytes_.size() < sizeof(T)) return Short();
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v = (v << 8) | static_cast<unsigned char>(bytes_[i]);
    bytes_.remove_prefix(sizeof(T));
    return static_cast<T>(v);
  }

  arrow::Result<char> Byte() {
    if (bytes_.empty()) return Short();
    char c = bytes_[0];
    bytes_.remove_prefix(1);
    return c;
  }

  // A NUL-terminated string.
  arrow::Result<std::string> String() {
    size_t end = bytes_.find('\0');
    if (end == std::string_view::npos) return Short();
    std::string out(bytes_.substr(0, end));
    bytes_.remove_prefix(end + 1);
    return out;
  }

  arrow::Result<std::string_view> Bytes(size_t n) {
    if (bytes_.size() < n) return Short();
    std::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return out;
  }

  arrow::Result<int64_t> Time() {
    ARROW_ASSIGN_OR_RAISE(int64_t t, Int<int64_t>());
    int64_t unix_us;
    if (__builtin_add_overflow(t, kPostgresEpochUs, &unix_us))
      return Invalid("a time out of range");
    return unix_us;
  }

  arrow::Result<Tuple> TupleData() {
    ARROW_ASSIGN_OR_RAISE(int16_t n, Int<int16_t>());
    if (n < 0) return Invalid("a negative column count");
    Tuple out;
    out.reserve(static_cast<size_t>(n));
    for (int16_t i = 0; i < n; ++i) {
      ARROW_ASSIGN_OR_RAISE(char kind, Byte());
      Value v;
      switch (kind) {
        case Value::kNull:
        case Value::kUnchanged:
          v.kind = static_cast<Value::Kind>(kind);
          break;
        case Value::kText:
        case Value::kBinary: {
          v.kind = static_cast<Value::Kind>(kind);
          ARROW_ASSIGN_OR_RAISE(int32_t length, Int<int32_t>());
          if (length < 0) return Invalid("a negative value length");
          ARROW_ASSIGN_OR_RAISE(v.data, Bytes(static_cast<size_t>(length)));
          break;
        }
        default:
          return Invalid(std::string("an unknown value kind '") + kind + "'");
      }
      out.push_back(v);
    }
    return out;
  }

  arrow::Status End() const {
    if (!bytes_.empty())
      return Invalid(std::to_string(bytes_.size()) + " bytes after its end");
    return arrow::Status::OK();
  }

  arrow::Status Invalid(const std::string& why) const {
    return arrow::Status::Invalid("pgoutput ", what_, " message: ", why);
  }

 private:
  arrow::Status Short() const { return Invalid("it ends early"); }

  std::string_view bytes_;
  const char* what_;
};

arrow::Result<Message> DecodeRelation(Reader& r) {
  Relation rel;
  ARROW_ASSIGN_OR_RAISE(rel.id, r.Int<uint32_t>());
  ARROW_ASSIGN_OR_RAISE(rel.schema, r.String());
  ARROW_ASSIGN_OR_RAISE(rel.name, r.String());
  ARROW_ASSIGN_OR_RAISE(rel.replica_identity, r.Byte());
  ARROW_ASSIGN_OR_RAISE(int16_t n, r.Int<int16_t>());
  if (n < 0) return r.Invalid("a negative column count");
  for (int16_t i = 0; i < n; ++i) {
    RelationColumn c;
    ARROW_ASSIGN_OR_RAISE(int8_t flags, r.Int<int8_t>());
    c.key = (flags & 1) != 0;
    ARROW_ASSIGN_OR_RAISE(c.name, r.String());
    ARROW_ASSIGN_OR_RAISE(c.type_oid, r.Int<uint32_t>());
    ARROW_ASSIGN_OR_RAISE(c.type_modifier, r.Int<int32_t>());
    rel.columns.push_back(std::move(c));
  }
  return rel;
}

arrow::Result<Message> DecodeUpdate(Reader& r) {
  Update u;
  ARROW_ASSIGN_OR_RAISE(u.relation, r.Int<uint32_t>());
  ARROW_ASSIGN_OR_RAISE(char part, r.Byte());
  if (part == 'K' || part == 'O') {
    u.old_kind = part;
    ARROW_ASSIGN_OR_RAISE(u.old_row, r.TupleData());
    ARROW_ASSIGN_OR_RAISE(part, r.Byte());
  }
  if (part != 'N') return r.Invalid(std::string("expected 'N', not '") + part + "'");
  ARROW_ASSIGN_OR_RAISE(u.row, r.TupleData());
  return u;
}

arrow::Result<Message> DecodeBody(char kind, Reader& r) {
  switch (kind) {
    case 'B': {
      Begin b;
      ARROW_ASSIGN_OR_RAISE(b.final_lsn, r.Int<uint64_t>());
      ARROW_ASSIGN_OR_RAISE(b.commit_time_us, r.Time());
      ARROW_ASSIGN_OR_RAISE(b.xid, r.Int<uint32_t>());
      return b;
    }
    case 'C': {
      Commit c;
      ARROW_RETURN_NOT_OK(r.Int<int8_t>().status());  // flags, unused
      ARROW_ASSIGN_OR_RAISE(c.commit_lsn, r.Int<uint64_t>());
      ARROW_ASSIGN_OR_RAISE(c.end_lsn, r.Int<uint64_t>());
      ARROW_ASSIGN_OR_RAISE(c.commit_time_us, r.Time());
      return c;
    }
    case 'O': {
      Origin o;
      ARROW_ASSIGN_OR_RAISE(o.commit_lsn, r.Int<uint64_t>());
      ARROW_ASSIGN_OR_RAISE(o.name, r.String());
      return o;
    }
    case 'R':
      return DecodeRelation(r);
    case 'Y': {
      Type t;
      ARROW_ASSIGN_OR_RAISE(t.id, r.Int<uint32_t>());
      ARROW_ASSIGN_OR_RAISE(t.schema, r.String());
      ARROW_ASSIGN_OR_RAISE(t.name, r.String());
      return t;
    }
    case 'I': {
      Insert i;
      ARROW_ASSIGN_OR_RAISE(i.relation, r.Int<uint32_t>());
      ARROW_ASSIGN_OR_RAISE(char part, r.Byte());
      if (part != 'N') return r.Invalid(std::string("expected 'N', not '") + part + "'");
      ARROW_ASSIGN_OR_RAISE(i.row, r.TupleData());
      return i;
    }
    case 'U':
      return DecodeUpdate(r);
    case 'D': {
      Delete d;
      ARROW_ASSIGN_OR_RAISE(d.relation, r.Int<uint32_t>());
      ARROW_ASSIGN_OR_RAISE(d.old_kind, r.Byte());
      if (d.old_kind != 'K' && d.old_kind != 'O')
        return r.Invalid(std::string("expected 'K' or 'O', not '") + d.old_kind + "'");
      ARROW_ASSIGN_OR_RAISE(d.old_row, r.TupleData());
      return d;
    }
    case 'T': {
      Truncate t;
      ARROW_ASSIGN_OR_RAISE(int32_t n, r.Int<int32_t>());
      if (n < 0) return r.Invalid("a negative relation count");
      ARROW_ASSIGN_OR_RAISE(int8_t options, r.Int<int8_t>());
      t.cascade = (options & 1) != 0;
      t.restart_identity = (options & 2) != 0;
      for (int32_t i = 0; i < n; ++i) {
        ARROW_ASSIGN_OR_RAISE(uint32_t id, r.Int<uint32_t>());
        t.relations.push_back(id);
      }
      return t;
    }
    case 'M': {
      LogicalMessage m;
      ARROW_ASSIGN_OR_RAISE(int8_t flags, r.Int<int8_t>());
      m.transactional = (flags & 1) != 0;
      ARROW_ASSIGN_OR_RAISE(m.lsn, r.Int<uint64_t>());
      ARROW_ASSIGN_OR_RAISE(m.prefix, r.String());
      ARROW_ASSIGN_OR_RAISE(int32_t length, r.Int<int32_t>());
      if (length < 0) return r.Invalid("a negative content length");
      ARROW_ASSIGN_OR_RAISE(m.content, r.Bytes(static_cast<size_t>(length)));
      return m;
    }
    default:
      break;
  }
  return arrow::Status::Invalid("pgoutput: an unknown message kind '",
                                std::string(1, kind),
                                "' (inlet reads protocol version 1)");
}

const char* KindName(char kind) {
  switch (kind) {
    case 'B':
      return "Begin";
    case 'C':
      return "Commit";
    case 'O':
      return "Origin";
    case 'R':
      return "Relation";
    case 'Y':
      return "Type";
    case 'I':
      return "Insert";
    case 'U':
      return "Update";
    case 'D':
      return "Delete";
    case 'T':
      return "Truncate";
    case 'M':
      return "Message";
    default:
      return "unknown";
  }
}

void PutInt64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

std::string FormatLsn(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%" PRIX32 "/%" PRIX32,
                static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
  return buf;
}

arrow::Result<Lsn> ParseLsn(std::string_view text) {
  size_t slash = text.find('/');
  auto hex = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 8) return false;
    uint64_t v = 0;
    for (char c : s) {
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                     : -1;
      if (d < 0) return false;
      v = (v << 4) | static_cast<uint64_t>(d);
    }
    *out = v;
    return true;
  };
  uint64_t high = 0, low = 0;
  if (slash == std::string_view::npos || !hex(text.substr(0, slash), &high) ||
      !hex(text.substr(slash + 1), &low))
    return arrow::Status::Invalid("'", std::string(text),
                                  "' is not an LSN (hexadecimal, as 16/B374D848)");
  return (high << 32) | low;
}

arrow::Result<Message> Decode(std::string_view bytes) {
  if (bytes.empty()) return arrow::Status::Invalid("pgoutput: an empty message");
  char kind = bytes[0];
  Reader r(bytes.substr(1), KindName(kind));
  ARROW_ASSIGN_OR_RAISE(Message m, DecodeBody(kind, r));
  ARROW_RETURN_NOT_OK(r.End());
  return m;
}

arrow::Result<CopyData> DecodeCopyData(std::string_view bytes) {
  if (bytes.empty())
    return arrow::Status::Invalid("replication: an empty CopyData message");
  char kind = bytes[0];
  if (kind == 'w') {
    Reader r(bytes.substr(1), "XLogData");
    XLogData x;
    ARROW_ASSIGN_OR_RAISE(x.wal_start, r.Int<uint64_t>());
    ARROW_ASSIGN_OR_RAISE(x.wal_end, r.Int<uint64_t>());
    ARROW_ASSIGN_OR_RAISE(x.send_time_us, r.Time());
    x.data = bytes.substr(1 + 24);
    return x;
  }
  if (kind == 'k') {
    Reader r(bytes.substr(1), "primary keepalive");
    Keepalive k;
    ARROW_ASSIGN_OR_RAISE(k.wal_end, r.Int<uint64_t>());
    ARROW_ASSIGN_OR_RAISE(k.send_time_us, r.Time());
    ARROW_ASSIGN_OR_RAISE(char reply, r.Byte());
    k.reply_requested = reply != 0;
    ARROW_RETURN_NOT_OK(r.End());
    return k;
  }
  return arrow::Status::Invalid("replication: an unknown CopyData message kind '",
                                std::string(1, kind), "'");
}

std::string StandbyStatusUpdate(Lsn written, Lsn flushed, Lsn applied, int64_t now_us,
                                bool reply) {
  std::string out = "r";
  PutInt64(&out, written);
  PutInt64(&out, flushed);
  PutInt64(&out, applied);
  int64_t since_2000 = 0;
  if (__builtin_sub_overflow(now_us, kPostgresEpochUs, &since_2000)) since_2000 = 0;
  PutInt64(&out, static_cast<uint64_t>(since_2000));
  out.push_back(reply ? 1 : 0);
  return out;
}

}  // namespace inlet::pgoutput
