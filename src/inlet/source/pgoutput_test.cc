#include "inlet/source/pgoutput.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace inlet::pgoutput {
namespace {

constexpr int64_t kEpoch2000Us = 946684800LL * 1000000;

// The alternative T of a decoded variant (a failure, or another alternative, fails the
// test).
template <typename T, typename Variant>
T Holding(const arrow::Result<Variant>& m) {
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok() || !std::holds_alternative<T>(*m)) {
    ADD_FAILURE() << "not the expected kind of message";
    return T{};
  }
  return std::get<T>(*m);
}

template <typename T>
T As(const std::string& bytes) {
  return Holding<T>(Decode(bytes));
}

template <typename T>
T AsCopyData(const std::string& bytes) {
  return Holding<T>(DecodeCopyData(bytes));
}

// Builds messages field by field, as PostgreSQL's documentation lays them out.
class Bytes {
 public:
  Bytes& Byte(char c) {
    s_.push_back(c);
    return *this;
  }
  Bytes& Int16(int16_t v) { return Int(static_cast<uint16_t>(v), 2); }
  Bytes& Int32(int32_t v) { return Int(static_cast<uint32_t>(v), 4); }
  Bytes& Int64(int64_t v) { return Int(static_cast<uint64_t>(v), 8); }
  Bytes& String(const std::string& v) {
    s_ += v;
    s_.push_back('\0');
    return *this;
  }
  Bytes& Text(const std::string& v) {
    Byte('t').Int32(static_cast<int32_t>(v.size()));
    s_ += v;
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  Bytes& Int(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string s_;
};

TEST(Pgoutput, BeginAndCommitCarryLsnsAndUnixTimes) {
  Bytes b;
  b.Byte('B').Int64(0x16B374D848LL).Int64(1000000).Int32(742);
  auto m = Decode(b.str());
  ASSERT_TRUE(m.ok()) << m.status();
  const auto& begin = std::get<Begin>(*m);
  EXPECT_EQ(begin.final_lsn, 0x16B374D848ULL);
  EXPECT_EQ(begin.commit_time_us, kEpoch2000Us + 1000000);
  EXPECT_EQ(begin.xid, 742u);

  Bytes c;
  c.Byte('C').Byte(0).Int64(0x100).Int64(0x180).Int64(-5);
  auto commit = As<Commit>(c.str());
  EXPECT_EQ(commit.commit_lsn, 0x100u);
  EXPECT_EQ(commit.end_lsn, 0x180u);
  EXPECT_EQ(commit.commit_time_us, kEpoch2000Us - 5);
}

TEST(Pgoutput, RelationListsColumnsWithKeysAndTypes) {
  Bytes b;
  b.Byte('R').Int32(16390).String("public").String("orders").Byte('f').Int16(3);
  b.Byte(1).String("id").Int32(20).Int32(-1);
  b.Byte(0).String("amount").Int32(1700).Int32((12 << 16 | 2) + 4);
  b.Byte(0).String("note").Int32(25).Int32(-1);
  auto rel = As<Relation>(b.str());
  EXPECT_EQ(rel.id, 16390u);
  EXPECT_EQ(rel.schema, "public");
  EXPECT_EQ(rel.name, "orders");
  EXPECT_EQ(rel.replica_identity, 'f');
  ASSERT_EQ(rel.columns.size(), 3u);
  EXPECT_TRUE(rel.columns[0].key);
  EXPECT_FALSE(rel.columns[1].key);
  EXPECT_EQ(rel.columns[1].name, "amount");
  EXPECT_EQ(rel.columns[1].type_oid, 1700u);
  EXPECT_EQ(rel.columns[1].type_modifier, (12 << 16 | 2) + 4);
}

TEST(Pgoutput, TuplesHoldTextNullAndUnchangedValues) {
  Bytes ins;
  ins.Byte('I').Int32(7).Byte('N').Int16(3).Text("42").Byte('n').Text("");
  auto insert = As<Insert>(ins.str());
  EXPECT_EQ(insert.relation, 7u);
  ASSERT_EQ(insert.row.size(), 3u);
  EXPECT_EQ(insert.row[0].kind, Value::kText);
  EXPECT_EQ(insert.row[0].data, "42");
  EXPECT_EQ(insert.row[1].kind, Value::kNull);
  EXPECT_EQ(insert.row[2].kind, Value::kText);
  EXPECT_EQ(insert.row[2].data, "");

  // An update of the key: the old key first. An unchanged TOASTed column is 'u'.
  Bytes up;
  up.Byte('U').Int32(7).Byte('K').Int16(3).Text("41").Byte('n').Byte('n');
  up.Byte('N').Int16(3).Text("42").Text("9.50").Byte('u');
  auto update = As<Update>(up.str());
  EXPECT_EQ(update.old_kind, 'K');
  EXPECT_EQ(update.old_row[0].data, "41");
  EXPECT_EQ(update.row[1].data, "9.50");
  EXPECT_EQ(update.row[2].kind, Value::kUnchanged);

  // Without old values (the key did not change, REPLICA IDENTITY DEFAULT).
  Bytes plain;
  plain.Byte('U').Int32(7).Byte('N').Int16(1).Text("x");
  auto u2 = As<Update>(plain.str());
  EXPECT_EQ(u2.old_kind, 0);
  EXPECT_TRUE(u2.old_row.empty());
  EXPECT_EQ(u2.row[0].data, "x");

  Bytes del;
  del.Byte('D').Int32(7).Byte('O').Int16(2).Text("42").Text(std::string("a\0b", 3));
  auto d = As<Delete>(del.str());
  EXPECT_EQ(d.old_kind, 'O');
  EXPECT_EQ(d.old_row[1].data, std::string_view("a\0b", 3));
}

TEST(Pgoutput, TruncateTypeOriginAndMessages) {
  Bytes t;
  t.Byte('T').Int32(2).Byte(3).Int32(10).Int32(11);
  auto tr = As<Truncate>(t.str());
  EXPECT_EQ(tr.relations, (std::vector<uint32_t>{10, 11}));
  EXPECT_TRUE(tr.cascade);
  EXPECT_TRUE(tr.restart_identity);
  for (char options : {1, 2}) {
    Bytes one;
    one.Byte('T').Int32(1).Byte(options).Int32(10);
    auto t1 = As<Truncate>(one.str());
    EXPECT_EQ(t1.cascade, options == 1);
    EXPECT_EQ(t1.restart_identity, options == 2);
  }

  Bytes y;
  y.Byte('Y').Int32(16400).String("public").String("mood");
  auto type = As<Type>(y.str());
  EXPECT_EQ(type.id, 16400u);
  EXPECT_EQ(type.schema, "public");
  EXPECT_EQ(type.name, "mood");

  Bytes o;
  o.Byte('O').Int64(99).String("node_a");
  auto origin = As<Origin>(o.str());
  EXPECT_EQ(origin.commit_lsn, 99u);
  EXPECT_EQ(origin.name, "node_a");

  Bytes m;
  m.Byte('M').Byte(1).Int64(5).String("inlet").Int32(3);
  std::string bytes = m.str() + "abc";
  auto msg = As<LogicalMessage>(bytes);
  EXPECT_TRUE(msg.transactional);
  EXPECT_EQ(msg.lsn, 5u);
  EXPECT_EQ(msg.prefix, "inlet");
  EXPECT_EQ(msg.content, "abc");
}

TEST(Pgoutput, BadMessagesFailNamingTheKind) {
  Bytes b;
  b.Byte('I').Int32(7).Byte('N').Int16(2).Text("1");  // one value short
  auto m = Decode(b.str());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("Insert message: it ends early"), std::string::npos)
      << m.status();
  EXPECT_FALSE(Decode("").ok());
  auto unknown = Decode("S");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown message kind 'S'"),
            std::string::npos);
  Bytes extra;
  extra.Byte('O').Int64(1).String("x").Byte('!');
  auto trailing = Decode(extra.str());
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("1 bytes after its end"), std::string::npos);
  Bytes kind;
  kind.Byte('I').Int32(7).Byte('N').Int16(1).Byte('x');
  EXPECT_FALSE(Decode(kind.str()).ok());
}

TEST(Replication, CopyDataAndStandbyStatus) {
  Bytes w;
  w.Byte('w').Int64(0x10).Int64(0x20).Int64(0);
  std::string payload = "Bxxxx";
  std::string message = w.str() + payload;  // x.data views into it
  auto x = AsCopyData<XLogData>(message);
  EXPECT_EQ(x.wal_start, 0x10u);
  EXPECT_EQ(x.wal_end, 0x20u);
  EXPECT_EQ(x.send_time_us, kEpoch2000Us);
  EXPECT_EQ(x.data, payload);

  Bytes k;
  k.Byte('k').Int64(0x30).Int64(7).Byte(1);
  auto keep = AsCopyData<Keepalive>(k.str());
  EXPECT_EQ(keep.wal_end, 0x30u);
  EXPECT_EQ(keep.send_time_us, kEpoch2000Us + 7);
  EXPECT_TRUE(keep.reply_requested);
  Bytes quiet;
  quiet.Byte('k').Int64(0x30).Int64(7).Byte(0);
  EXPECT_FALSE(AsCopyData<Keepalive>(quiet.str()).reply_requested);
  Bytes far;
  far.Byte('k').Int64(0).Int64(INT64_MAX).Byte(0);
  EXPECT_FALSE(DecodeCopyData(far.str()).ok());  // a time out of range
  EXPECT_FALSE(DecodeCopyData("w123").ok());

  std::string r = StandbyStatusUpdate(0x1, 0x2, 0x3, kEpoch2000Us + 256, true);
  Bytes want;
  want.Byte('r').Int64(1).Int64(2).Int64(3).Int64(256).Byte(1);
  EXPECT_EQ(r, want.str());
}

// Messages a real PostgreSQL 15 sent (tests/make_pgoutput_vectors.py says how), each a
// 4-byte length and its bytes.
std::vector<std::string> CapturedMessages() {
  std::ifstream in(
      std::string(INLET_SOURCE_DIR) + "/src/inlet/source/testdata/pgoutput_v1.bin",
      std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  std::string bytes = all.str();
  std::vector<std::string> out;
  for (size_t i = 0; i + 4 <= bytes.size();) {
    uint32_t n = 0;
    for (int k = 0; k < 4; ++k) n = (n << 8) | static_cast<unsigned char>(bytes[i + k]);
    out.push_back(bytes.substr(i + 4, n));
    i += 4 + n;
  }
  return out;
}

TEST(Pgoutput, DecodesWhatPostgresSent) {
  auto captured = CapturedMessages();
  ASSERT_EQ(captured.size(), 25u);
  std::vector<Message> m;
  for (const auto& bytes : captured) {
    auto decoded = Decode(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    m.push_back(*decoded);
  }
  // Transaction 1: the relation, then the insert with its 4,000-byte TOASTed text.
  const auto& begin = std::get<Begin>(m[0]);
  const auto& items = std::get<Relation>(m[1]);
  EXPECT_EQ(items.schema, "public");
  EXPECT_EQ(items.name, "items");
  EXPECT_EQ(items.replica_identity, 'd');
  ASSERT_EQ(items.columns.size(), 3u);
  EXPECT_TRUE(items.columns[0].key);
  EXPECT_EQ(items.columns[0].type_oid, 23u);    // int4
  EXPECT_EQ(items.columns[1].type_oid, 1700u);  // numeric
  EXPECT_EQ(items.columns[1].type_modifier, (8 << 16 | 2) + 4);
  EXPECT_FALSE(items.columns[2].key);
  const auto& insert = std::get<Insert>(m[2]);
  EXPECT_EQ(insert.relation, items.id);
  EXPECT_EQ(insert.row[1].data, "9.50");
  EXPECT_EQ(insert.row[2].data.size(), 4000u);
  const auto& commit = std::get<Commit>(m[3]);
  EXPECT_EQ(commit.commit_lsn, begin.final_lsn);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_EQ(commit.commit_time_us, begin.commit_time_us);
  EXPECT_GT(commit.commit_time_us, 1700000000LL * 1000000);  // a time of this century
  // The price changes; the TOASTed text is not sent.
  const auto& update = std::get<Update>(m[5]);
  EXPECT_EQ(update.old_kind, 0);
  EXPECT_EQ(update.row[1].data, "10.25");
  EXPECT_EQ(update.row[2].kind, Value::kUnchanged);
  // The key changes: the old key comes first, the other columns null in it.
  const auto& rekey = std::get<Update>(m[8]);
  EXPECT_EQ(rekey.old_kind, 'K');
  EXPECT_EQ(rekey.old_row[0].data, "1");
  EXPECT_EQ(rekey.old_row[1].kind, Value::kNull);
  EXPECT_EQ(rekey.row[0].data, "2");
  EXPECT_EQ(rekey.row[2].kind, Value::kUnchanged);
  // REPLICA IDENTITY FULL: every column is part of the identity; a delete sends the row.
  const auto& audit = std::get<Relation>(m[11]);
  EXPECT_EQ(audit.replica_identity, 'f');
  EXPECT_TRUE(audit.columns[1].key);
  const auto& full_delete = std::get<Delete>(m[15]);
  EXPECT_EQ(full_delete.old_kind, 'O');
  EXPECT_EQ(full_delete.old_row[0].data, "7");
  EXPECT_EQ(full_delete.old_row[1].kind, Value::kNull);
  const auto& key_delete = std::get<Delete>(m[18]);
  EXPECT_EQ(key_delete.old_kind, 'K');
  EXPECT_EQ(key_delete.old_row[0].data, "2");
  // One truncate of both tables, after their relations again.
  const auto& truncate = std::get<Truncate>(m[23]);
  EXPECT_EQ(truncate.relations, (std::vector<uint32_t>{items.id, audit.id}));
  EXPECT_FALSE(truncate.cascade);
  // Transactions follow one another in LSN order.
  Lsn last = 0;
  for (const auto& message : m) {
    if (const auto* b = std::get_if<Begin>(&message)) {
      EXPECT_GT(b->final_lsn, last);
      last = b->final_lsn;
    }
  }
}

TEST(Replication, LsnText) {
  EXPECT_EQ(FormatLsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(FormatLsn(0), "0/0");
  EXPECT_EQ(*ParseLsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_EQ(*ParseLsn("0/1a"), 0x1aULL);
  EXPECT_FALSE(ParseLsn("16B374D848").ok());
  EXPECT_FALSE(ParseLsn("1/2/3").ok());
  EXPECT_FALSE(ParseLsn("/1").ok());
}

}  // namespace
}  // namespace inlet::pgoutput
