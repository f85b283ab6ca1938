#include "inlet/stream/pg_catalog.h"

#include <set>

#include "inlet/source/pg_text.h"
#include "inlet/source/postgres_source.h"
#include "inlet/status.h"

namespace inlet::stream {

using pgtext::ColumnType;
using pgtext::QuoteIdent;

PgCatalog::PgCatalog(const pipeline::PipelineConfig& config)
    : config_(config), source_(std::get<PostgresCdcSourceConfig>(config.source)) {
  auto c = ConnectionOf(source_.pg);
  uri_ = std::move(c.uri);
  name_ = std::move(c.name);
  secrets_ = std::move(c.secrets);
}

arrow::Status PgCatalog::Open() {
  conn_.reset();
  ARROW_ASSIGN_OR_RAISE(conn_, Connect(false));
  return arrow::Status::OK();
}

arrow::Status PgCatalog::Failed(const std::string& why, const std::string& table) const {
  std::string tables;
  for (const auto& t : source_.tables) tables += (tables.empty() ? "" : ", ") + t;
  if (!table.empty())
    return arrow::Status::Invalid("pipeline ", config_.name, ": PostgreSQL ", name_,
                                  " table ", table, ": ", why);
  return arrow::Status::Invalid("pipeline ", config_.name, ": PostgreSQL ", name_,
                                source_.tables.size() == 1 ? " table " : " tables ",
                                tables, ": ", why);
}

arrow::Result<std::unique_ptr<pgrepl::Connection>> PgCatalog::Connect(
    bool replication) const {
  return pgrepl::Connection::Open(uri_, replication, name_, secrets_);
}

// The table exists, its replica identity gives deletes the keys, and the keys are set.
arrow::Result<PgTableInfo> PgCatalog::CheckTable(const std::string& name,
                                                 const std::vector<std::string>& keys) {
  PgTableInfo t;
  t.name = name;
  ARROW_ASSIGN_OR_RAISE(t.qualified, QuoteQualifiedName(name));
  auto bad = [&](const std::string& why) { return Failed(why, name); };
  ARROW_ASSIGN_OR_RAISE(
      auto rows,
      conn_->Query(
          "SELECT c.oid::text, c.relreplident::text, n.nspname, c.relname, "
          "c.relkind::text, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = "
          "c.oid)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE c.oid = to_regclass($1)",
          {t.qualified}));
  if (rows.empty()) return bad("there is no such table");
  t.relation_id = static_cast<uint32_t>(std::stoul(*rows[0][0]));
  t.identity = (*rows[0][1])[0];
  t.schema = *rows[0][2];
  t.relname = *rows[0][3];
  std::string kind = rows[0][4].value_or("");
  if (kind != "r" && kind != "p")
    return bad("it is not a table (relkind " + kind +
               "): logical replication follows tables only");
  t.partitioned = kind == "p";
  // A partitioned table's rows are its partitions'; a table's inheritance children are
  // tables of their own, whose changes are not this table's.
  bool children = rows[0][5] == std::optional<std::string>("true");
  t.from = (children && !t.partitioned ? "ONLY " : "") + t.qualified;
  if (t.identity == 'n')
    return bad(
        "it has REPLICA IDENTITY NOTHING: its updates and deletes carry no key (ALTER "
        "TABLE ... REPLICA IDENTITY DEFAULT, with a primary key, or FULL)");
  ARROW_ASSIGN_OR_RAISE(
      auto key_rows,
      conn_->Query("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                   "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE "
                   "i.indrelid = $1::oid AND (CASE WHEN $2 = 'i' THEN i.indisreplident "
                   "ELSE i.indisprimary END) ORDER BY array_position(i.indkey, a.attnum)",
                   {std::to_string(t.relation_id), std::string(1, t.identity)}));
  std::vector<std::string> identity;
  for (const auto& r : key_rows) identity.push_back(*r[0]);
  t.keys = keys;
  if (keys.empty()) {
    if (identity.empty())
      return bad(
          "it has no primary key: give destination.keys (and REPLICA IDENTITY "
          "FULL, so that deletes carry them)");
    t.keys = identity;
  } else if (t.identity != 'f' &&
             std::set<std::string>(keys.begin(), keys.end()) !=
                 std::set<std::string>(identity.begin(), identity.end())) {
    std::string have;
    for (const auto& k : identity) have += (have.empty() ? "" : ", ") + k;
    return bad("destination.keys must be its replica identity (" +
               (have.empty() ? std::string("none") : have) +
               "), which is all its deletes carry; or set REPLICA IDENTITY FULL");
  }
  if (std::set<std::string>(t.keys.begin(), t.keys.end()) ==
      std::set<std::string>(identity.begin(), identity.end()))
    t.ordered_keys = identity;
  return t;
}

// The publication: created for the tables when missing; when it exists, it must publish
// them.
arrow::Status PgCatalog::EnsurePublication(const std::vector<PgTableInfo>& tables) {
  ARROW_ASSIGN_OR_RAISE(auto pubs, conn_->Query("SELECT puballtables::text FROM "
                                                "pg_publication WHERE pubname = $1",
                                                {source_.publication}));
  bool partitioned = false;
  for (const auto& t : tables) partitioned = partitioned || t.partitioned;
  if (pubs.empty()) {
    std::string list;
    for (const auto& t : tables) list += (list.empty() ? "" : ", ") + t.qualified;
    // A partitioned table's changes under its own name, not its partitions'.
    auto st = conn_->Query(
        "CREATE PUBLICATION " + QuoteIdent(source_.publication) + " FOR TABLE " + list +
        (partitioned ? " WITH (publish_via_partition_root = true)" : ""));
    if (!st.ok())
      return KeepKind(st.status(),
                      Failed("cannot create publication '" + source_.publication +
                             "': " + st.status().message()));
    return arrow::Status::OK();
  }
  // An existing publication must send what the snapshot copies: every change, every
  // row, every column.
  ARROW_ASSIGN_OR_RAISE(
      auto flags, conn_->Query("SELECT (pubinsert AND pubupdate AND pubdelete AND "
                               "pubtruncate)::text, pubviaroot::text FROM pg_publication "
                               "WHERE pubname = $1",
                               {source_.publication}));
  if (flags.at(0).at(0) != std::optional<std::string>("true"))
    return Failed("publication '" + source_.publication +
                  "' does not publish every insert, update, delete and truncate (its "
                  "publish option): the table would miss changes");
  if (partitioned && flags.at(0).at(1) != std::optional<std::string>("true"))
    return Failed("publication '" + source_.publication +
                  "' publishes partitions under their own names: a partitioned table "
                  "needs WITH (publish_via_partition_root = true)");
  for (const auto& t : tables) {
    ARROW_ASSIGN_OR_RAISE(
        auto has,
        conn_->Query(
            "SELECT (rowfilter IS NULL)::text, (cardinality(attnames) = (SELECT "
            "count(*) FROM pg_attribute WHERE attrelid = $4::oid AND attnum > 0 "
            "AND NOT attisdropped))::text FROM "
            "pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND "
            "tablename = $3",
            {source_.publication, t.schema, t.relname, std::to_string(t.relation_id)}));
    if (has.empty())
      return Failed(
          "publication '" + source_.publication +
              "' does not publish the table (ALTER PUBLICATION ... ADD TABLE, or "
              "name another publication)",
          t.name);
    if (has[0][0] != std::optional<std::string>("true") ||
        has[0][1] != std::optional<std::string>("true"))
      return Failed("publication '" + source_.publication +
                        "' publishes only some of its rows or columns (a row filter or a "
                        "column list): the table would not match its source",
                    t.name);
  }
  return arrow::Status::OK();
}

arrow::Result<std::optional<pgoutput::Lsn>> PgCatalog::Slot(bool lost_ok) {
  ARROW_ASSIGN_OR_RAISE(
      auto rows, conn_->Query("SELECT plugin, database, active::text, "
                              "active_pid::text, wal_status, "
                              "confirmed_flush_lsn::text FROM pg_replication_slots "
                              "WHERE slot_name = $1",
                              {source_.slot}));
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  if (r[0].value_or("") != "pgoutput")
    return Failed("replication slot '" + source_.slot + "' exists with plugin " +
                  r[0].value_or("(none)") + ", not pgoutput: name another (source.slot)");
  ARROW_ASSIGN_OR_RAISE(auto db, conn_->Query("SELECT current_database()"));
  if (r[1] != db.at(0).at(0))
    return Failed("replication slot '" + source_.slot + "' belongs to database " +
                  r[1].value_or("?") + ": name another (source.slot)");
  if (r[2] == std::optional<std::string>("true"))
    return Failed("replication slot '" + source_.slot + "' is in use by process " +
                  r[3].value_or("?") + " (another stream of this pipeline?)");
  if (r[4] == std::optional<std::string>("lost") && !lost_ok)
    return Failed(
        "replication slot '" + source_.slot +
        "' was invalidated (the server removed WAL it still needed, "
        "max_slot_wal_keep_size): the changes since are lost to the tables; load "
        "them afresh (new destinations and a new slot)");
  if (!r[5]) return pgoutput::Lsn{0};
  return pgoutput::ParseLsn(*r[5]);
}

// A slot left by a snapshot that did not finish: nothing of it is in the table.
arrow::Status PgCatalog::DropSlot() {
  auto st = conn_->Query("SELECT pg_drop_replication_slot($1)", {source_.slot});
  if (!st.ok())
    return KeepKind(st.status(), Failed("cannot drop replication slot '" + source_.slot +
                                        "' (left by a snapshot that did not finish): " +
                                        st.status().message()));
  return arrow::Status::OK();
}

// A type as the rows read it (domains to their base, arrays to their elements).
arrow::Result<pgtext::CatalogType> PgCatalog::CatalogTypeOf(uint32_t oid,
                                                            int32_t typmod) {
  auto key = std::make_pair(oid, typmod);
  if (auto it = types_.find(key); it != types_.end()) return it->second;
  ARROW_ASSIGN_OR_RAISE(
      auto rows,
      conn_->Query("SELECT typtype::text, typbasetype::text, typtypmod::text, "
                   "typelem::text, typcategory::text, format_type(oid, $2::int) FROM "
                   "pg_type WHERE oid = $1::oid",
                   {std::to_string(oid), std::to_string(typmod)}));
  if (rows.empty()) return Failed("type " + std::to_string(oid) + " is unknown");
  const auto& r = rows[0];
  pgtext::CatalogType t;
  t.oid = oid;
  t.typmod = typmod;
  t.name = r[5].value_or("?");
  if (r[0] == std::optional<std::string>("d")) {
    int32_t base_mod = static_cast<int32_t>(std::stol(r[2].value_or("-1")));
    ARROW_ASSIGN_OR_RAISE(t, CatalogTypeOf(static_cast<uint32_t>(std::stoul(*r[1])),
                                           typmod >= 0 ? typmod : base_mod));
  } else if (r[0] == std::optional<std::string>("e")) {
    t.is_enum = true;
  } else if (r[4] == std::optional<std::string>("A") && r[3] != "0") {
    ARROW_ASSIGN_OR_RAISE(
        auto element, CatalogTypeOf(static_cast<uint32_t>(std::stoul(*r[3])), typmod));
    t.element = std::make_shared<pgtext::CatalogType>(std::move(element));
  }
  types_[key] = t;
  return t;
}

arrow::Result<Column> PgCatalog::ColumnOf(const std::string& name, uint32_t oid,
                                          int32_t typmod, bool key) {
  ARROW_ASSIGN_OR_RAISE(auto t, CatalogTypeOf(oid, typmod));
  auto type =
      pgtext::TypeOf(t, source_.pg.unconstrained_numeric, source_.pg.unknown_types);
  if (!type.ok())
    return arrow::Status::Invalid("column '", name, "': ", type.status().message());
  if (type->kind == ColumnType::kUnknown)
    return arrow::Status::Invalid(
        "column '", name, "' has type ", t.name,
        ", which inlet does not map: set unknown_types: text to "
        "read such columns as text");
  if (name.rfind("__inlet", 0) == 0 || name == kPgLsnColumn ||
      name == kPgCommitLsnColumn || name == kOpColumn)
    return arrow::Status::Invalid("column '", name, "': the name is inlet's own");
  return Column{name, std::move(*type), key};
}

}  // namespace inlet::stream
