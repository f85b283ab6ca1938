#include "inlet/source/postgres_source.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/extension_type.h>
#include <arrow/util/key_value_metadata.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <set>

#include "inlet/common/http.h"
#include "inlet/common/redact.h"
#include "inlet/common/time.h"
#include "inlet/common/uri.h"
#include "inlet/source/adbc.h"
#include "inlet/source/pg_columns.h"
#include "inlet/source/pg_text.h"
#include "inlet/table/value.h"

namespace inlet {

namespace {

using pgcol::ColumnPlan;
using pgcol::Conversion;
using pgcol::Storage;
using pgtext::QuoteIdent;
using pgtext::QuoteLiteral;

// A timestamp bound in UTC: a timestamptz column reads it in UTC whatever the session's
// zone, and a timestamp column ignores the zone (both hold UTC wall clocks here).
std::string TimestampLiteral(int64_t micros) {
  return QuoteLiteral(FormatTimestampPlain(micros) + "+00");
}

class PostgresSource : public BoundedSource {
 public:
  explicit PostgresSource(PostgresSourceConfig config) : config_(std::move(config)) {
    auto c = ConnectionOf(config_);
    uri_ = std::move(c.uri);
    name_ = std::move(c.name);
    secrets_ = std::move(c.secrets);
  }

  arrow::Result<SourceRead> Read(const Json&, const ReadRequest& request) const override {
    bool more = false;
    ARROW_ASSIGN_OR_RAISE(auto stream, Open(request, &more));
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    int64_t rows = 0;
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(stream->ReadNext(&batch));
      if (!batch) break;
      rows += batch->num_rows();
      batches.push_back(std::move(batch));
      if (request.on_part) request.on_part(0, 1, rows);
    }
    SourceRead read;
    read.parts = {config_.description};
    read.part_state = {Json::object()};
    read.more = more;
    if (rows == 0) return read;  // nothing past the watermark (or a refused extract)
    ARROW_ASSIGN_OR_RAISE(auto table,
                          arrow::Table::FromRecordBatches(stream->schema(), batches));
    arrow::Int32Builder part;
    ARROW_RETURN_NOT_OK(part.AppendValues(std::vector<int32_t>(rows, 0)));
    ARROW_ASSIGN_OR_RAISE(auto part_array, part.Finish());
    ARROW_ASSIGN_OR_RAISE(
        read.rows,
        table->AddColumn(table->num_columns(), arrow::field(kPartColumn, arrow::int32()),
                         std::make_shared<arrow::ChunkedArray>(part_array)));
    return read;
  }

  arrow::Result<SourceStream> Stream(const Json&,
                                     const ReadRequest& request) const override {
    SourceStream out;
    ARROW_ASSIGN_OR_RAISE(out.batches, Open(request));
    return out;
  }

  void Mark(size_t, const PartMark&, SourceRead*) const override {}
  bool Advanced(const Json&, const Json&) const override { return false; }
  std::string Describe() const override { return config_.description; }

  // The rows a read asks for as a stream of converted batches (in one snapshot, which
  // ends with the stream). A whole extract without rows fails at the stream's end.
  // `more`, when given, is set when the read stops at a chunk's end.
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Open(
      const ReadRequest& request, bool* more = nullptr) const {
    if (request.scope == SourceScope::kNew) {
      return arrow::Status::Invalid(
          "a postgres source has no record of which rows are new: use the watermark "
          "strategy (with a cursor column), full_refresh or snapshot_diff");
    }
    ARROW_ASSIGN_OR_RAISE(auto conn, adbc::Connection::Open(uri_, name_, secrets_));
    // Text in UTC whatever the server's default zone (the pushed-down bounds carry their
    // zone anyway), and literals whose backslashes are plain characters.
    ARROW_RETURN_NOT_OK(conn->Execute("SET TIME ZONE 'UTC'"));
    ARROW_RETURN_NOT_OK(conn->Execute("SET standard_conforming_strings = on"));
    ARROW_RETURN_NOT_OK(conn->BeginSnapshot());
    std::string base;
    if (!config_.table.empty()) {
      ARROW_ASSIGN_OR_RAISE(std::string table, QuoteQualifiedName(config_.table));
      base = "SELECT * FROM " + table;
    } else {
      base = NestableQuery(config_.query);
    }
    ARROW_ASSIGN_OR_RAISE(auto described, conn->Describe(base));
    if (!config_.table.empty()) {
      ARROW_ASSIGN_OR_RAISE(described,
                            pgcol::WithArrayTypmods(*conn, config_.table, described));
    }
    std::vector<ColumnPlan> plans;
    std::set<std::string> names;
    bool rewrite = false;
    for (const auto& f : described->fields()) {
      if (f->name().rfind("__inlet", 0) == 0)
        return Failed("column '" + f->name() +
                      "': names starting with __inlet are inlet's own; rename it (AS)");
      if (!names.insert(f->name()).second)
        return Failed("the query gives two columns named '" + f->name() +
                      "': name them apart (AS)");
      ARROW_ASSIGN_OR_RAISE(auto plan, Wrap(pgcol::PlanColumn(*f, config_)));
      if (plan.conversion == Conversion::kUnknown) {
        if (config_.unknown_types == UnknownTypes::kFail) {
          return Failed("column '" + f->name() + "' has type " +
                        (plan.pg_type.empty() ? f->type()->ToString() : plan.pg_type) +
                        ", which inlet does not map: cast it in the query, or set "
                        "unknown_types: text to read such columns as text");
        }
        rewrite = true;
        plan.conversion = Conversion::kAsIs;
        plan.type = arrow::utf8();
        plan.as_text = true;
      }
      plans.push_back(std::move(plan));
    }
    ARROW_ASSIGN_OR_RAISE(std::string where, Where(request, *described));
    if (more) {
      ARROW_ASSIGN_OR_RAISE(auto end, ChunkEnd(*conn, base, request, *described));
      if (end) {
        // The chunk: the rows the range selects below its end (nulls, if wanted, too).
        std::string column = "inlet_source." + QuoteIdent(request.cursor_range->column);
        auto type =
            Storage(described->GetFieldByName(request.cursor_range->column)->type());
        std::string chunk =
            "(" + column + " < " + *end + Highest(request, type->id()) + ")";
        // Rows of a null cursor come with the run's first chunk (to load, or to fail on).
        if (request.cursor_range->nulls && !request.later_chunk)
          chunk += " OR " + column + " IS NULL";
        where = where.empty() ? " WHERE " + chunk
                              : " WHERE (" + where.substr(7) + ") AND (" + chunk + ")";
        *more = true;
      }
    }
    std::string sql = base;
    if (rewrite || !where.empty()) {
      std::string select;
      for (size_t i = 0; i < plans.size(); ++i) {
        std::string column = QuoteIdent(plans[i].name);
        select += (i ? ", " : "") + column +
                  (plans[i].as_text ? "::text AS " + column : std::string());
      }
      // On lines of their own: a query may end in a -- comment.
      sql = "SELECT " + select + " FROM (\n" + base + "\n) AS inlet_source" + where;
    }
    ARROW_ASSIGN_OR_RAISE(auto reader, conn->Query(sql));
    std::vector<std::shared_ptr<arrow::Field>> fields;
    for (const auto& p : plans) fields.push_back(arrow::field(p.name, p.type));
    return std::make_shared<Rows>(this, std::move(conn), std::move(reader),
                                  std::move(plans), arrow::schema(fields),
                                  request.scope == SourceScope::kWholeExtract);
  }

  // The converted batches of one query; the connection (and its snapshot) lives as long.
  class Rows : public arrow::RecordBatchReader {
   public:
    Rows(const PostgresSource* source, std::unique_ptr<adbc::Connection> conn,
         std::shared_ptr<arrow::RecordBatchReader> reader, std::vector<ColumnPlan> plans,
         std::shared_ptr<arrow::Schema> schema, bool whole_extract)
        : source_(source),
          conn_(std::move(conn)),
          reader_(std::move(reader)),
          plans_(std::move(plans)),
          schema_(std::move(schema)),
          whole_extract_(whole_extract) {}
    ~Rows() override { reader_.reset(); }  // the stream goes before its connection

    std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

    arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
      *out = nullptr;
      if (done_) return arrow::Status::OK();
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = reader_->ReadNext(&batch);
      if (!st.ok())
        return source_->Failed("cannot read the rows: " +
                               MaskSecrets(st.message(), source_->secrets_));
      if (!batch) {
        done_ = true;
        reader_.reset();
        ARROW_RETURN_NOT_OK(conn_->EndSnapshot());
        if (rows_ == 0 && whole_extract_) {
          return source_->Failed(
              "the extract has no rows: a load would empty the table (truncate it "
              "explicitly if that is meant)");
        }
        return arrow::Status::OK();
      }
      std::vector<std::shared_ptr<arrow::Array>> columns;
      for (size_t i = 0; i < plans_.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto c,
                              source_->Wrap(pgcol::ConvertColumn(
                                  plans_[i], batch->column(static_cast<int>(i)), rows_)));
        columns.push_back(std::move(c));
      }
      rows_ += batch->num_rows();
      *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), std::move(columns));
      return arrow::Status::OK();
    }

   private:
    const PostgresSource* source_;
    std::unique_ptr<adbc::Connection> conn_;
    std::shared_ptr<arrow::RecordBatchReader> reader_;
    std::vector<ColumnPlan> plans_;
    std::shared_ptr<arrow::Schema> schema_;
    bool whole_extract_;
    int64_t rows_ = 0;
    bool done_ = false;
  };

 private:
  arrow::Status Failed(const std::string& why) const {
    return arrow::Status::Invalid(config_.description, ": ", why);
  }

  template <class T>
  arrow::Result<T> Wrap(arrow::Result<T> r) const {
    if (r.ok()) return r;
    return Failed(r.status().message());
  }

  // Where a chunk of a watermark run ends: the cursor value (as a literal) of the
  // chunk_rows-th row past the watermark, in cursor order; nullopt when there are no more
  // rows than that (or the run is no chunked watermark run). Rows of that value and above
  // are the next run's: a value is never split between chunks.
  arrow::Result<std::optional<std::string>> ChunkEnd(
      adbc::Connection& conn, const std::string& base, const ReadRequest& request,
      const arrow::Schema& described) const {
    if (config_.chunk_rows <= 0 || !request.chunked || !request.cursor_range)
      return std::nullopt;
    const auto& r = *request.cursor_range;
    if (r.from || r.to) return std::nullopt;  // a backfill reads its range at once
    auto field = described.GetFieldByName(r.column);
    if (!field) return std::nullopt;
    auto type = Storage(field->type())->id();
    std::string column = "inlet_source." + QuoteIdent(r.column);
    std::string after;
    if (r.loaded) {
      if (r.kind == "timestamp" && type == arrow::Type::TIMESTAMP) {
        after = TimestampLiteral(*r.loaded);
      } else if (r.kind == "date" && type == arrow::Type::DATE32) {
        after = QuoteLiteral(FormatDate(static_cast<int32_t>(*r.loaded)));
      } else if (r.kind == "integer" &&
                 (type == arrow::Type::INT16 || type == arrow::Type::INT32 ||
                  type == arrow::Type::INT64)) {
        after = std::to_string(*r.loaded);
      } else {
        return std::nullopt;
      }
    } else if (type != arrow::Type::TIMESTAMP && type != arrow::Type::DATE32 &&
               type != arrow::Type::INT16 && type != arrow::Type::INT32 &&
               type != arrow::Type::INT64) {
      return std::nullopt;
    }
    // The value past the first chunk_rows rows, unless the first value's rows alone are
    // that many: then the value after it (a chunk takes a whole value, and at least one).
    std::string from =
        " FROM (\n" + base + "\n) AS inlet_source WHERE " + column + " IS NOT NULL" +
        (after.empty() ? "" : " AND " + column + " > " + after) + Highest(request, type);
    // Subqueries an index on the cursor answers, each reading no more than it needs.
    std::string sql =
        "SELECT quote_literal((CASE WHEN x.c > f.c THEN x.c ELSE (SELECT min(" + column +
        ")" + from + " AND " + column + " > f.c) END)::text) FROM (SELECT " + column +
        " AS c" + from + " ORDER BY " + column + " OFFSET " +
        std::to_string(config_.chunk_rows) + " LIMIT 1) AS x, (SELECT min(" + column +
        ") AS c" + from + ") AS f";
    auto reader = conn.Query(sql);
    if (!reader.ok())
      return Failed("cannot find where the run's chunk ends: " +
                    MaskSecrets(reader.status().message(), secrets_));
    ARROW_ASSIGN_OR_RAISE(auto rows, (*reader)->ToTable());
    if (rows->num_rows() == 0) return std::nullopt;
    ARROW_ASSIGN_OR_RAISE(auto value, rows->column(0)->GetScalar(0));
    if (!value->is_valid) return std::nullopt;
    // A timestamptz's text is in the session's zone, UTC, and says so.
    return value->ToString();
  }

  // " AND cursor <= now - safety margin" for a timestamp cursor with a margin: rows a
  // run cannot load yet are no chunk's (else every chunk would find more of them).
  static std::string Highest(const ReadRequest& request, arrow::Type::type type) {
    const auto& r = *request.cursor_range;
    if (!r.highest || type != arrow::Type::TIMESTAMP) return "";
    return " AND inlet_source." + QuoteIdent(r.column) +
           " <= " + TimestampLiteral(*r.highest);
  }

  // The pushed-down cursor range: " WHERE ..." or empty.
  arrow::Result<std::string> Where(const ReadRequest& request,
                                   const arrow::Schema& described) const {
    if (!request.cursor_range) return std::string();
    const auto& r = *request.cursor_range;
    auto field = described.GetFieldByName(r.column);
    if (!field) {
      std::string columns;
      for (const auto& f : described.fields())
        columns += (columns.empty() ? "" : ", ") + f->name();
      return Failed("the cursor column '" + r.column + "' is not among its columns (" +
                    columns + ")");
    }
    auto type = Storage(field->type())->id();
    bool comparable = type == arrow::Type::TIMESTAMP || type == arrow::Type::DATE32 ||
                      type == arrow::Type::INT16 || type == arrow::Type::INT32 ||
                      type == arrow::Type::INT64;
    if (!comparable) return std::string();  // the strategy selects (or refuses) alone
    std::string column = "inlet_source." + QuoteIdent(r.column);
    std::vector<std::string> terms;
    // A backfill's bounds are read as the strategy reads them (a zone offset applied, a
    // bound the column's type cannot take left to the strategy to refuse), and written
    // back in one form.
    auto bound = [&](const std::string& text) -> std::optional<std::string> {
      auto scalar = ScalarFromText(text, Storage(field->type()));
      if (!scalar.ok() || !(*scalar)->is_valid) return std::nullopt;
      const arrow::Scalar& s = **scalar;
      switch (s.type->id()) {
        case arrow::Type::TIMESTAMP:
          return TimestampLiteral(static_cast<const arrow::TimestampScalar&>(s).value);
        case arrow::Type::DATE32:
          return QuoteLiteral(
              FormatDate(static_cast<const arrow::Date32Scalar&>(s).value));
        case arrow::Type::INT16:
          return std::to_string(static_cast<const arrow::Int16Scalar&>(s).value);
        case arrow::Type::INT32:
          return std::to_string(static_cast<const arrow::Int32Scalar&>(s).value);
        case arrow::Type::INT64:
          return std::to_string(static_cast<const arrow::Int64Scalar&>(s).value);
        default:
          return std::nullopt;
      }
    };
    if (r.from) {
      if (auto b = bound(*r.from)) terms.push_back(column + " >= " + *b);
    }
    if (r.to) {
      if (auto b = bound(*r.to)) terms.push_back(column + " < " + *b);
    }
    if (r.lowest) {
      std::string literal;
      if (r.kind == "timestamp" && type == arrow::Type::TIMESTAMP) {
        literal = TimestampLiteral(*r.lowest);
      } else if (r.kind == "date" && type == arrow::Type::DATE32) {
        literal = QuoteLiteral(FormatDate(static_cast<int32_t>(*r.lowest)));
      } else if (r.kind == "integer" && type != arrow::Type::TIMESTAMP &&
                 type != arrow::Type::DATE32) {
        literal = std::to_string(*r.lowest);
      }
      if (!literal.empty()) terms.push_back(column + " >= " + literal);
    }
    if (terms.empty()) return std::string();
    std::string where;
    for (const auto& t : terms) where += (where.empty() ? "" : " AND ") + t;
    if (r.nulls) where = "(" + where + ") OR " + column + " IS NULL";
    return " WHERE " + where;
  }

  PostgresSourceConfig config_;
  std::string uri_;
  std::string name_;
  std::vector<std::string> secrets_;
};

}  // namespace

arrow::Result<std::string> QuoteQualifiedName(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string part =
        name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty())
      return arrow::Status::Invalid("'", name, "' is not a table name (schema.table)");
    out += (out.empty() ? "" : ".") + QuoteIdent(part);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string NestableQuery(const std::string& sql) {
  // One past the last character outside comments that is neither blank nor ';'. Quoted
  // text ('...', E'...', "...", $tag$...$tag$) is skipped whole.
  size_t end = 0;
  const size_t n = sql.size();
  for (size_t i = 0; i < n;) {
    char c = sql[i];
    char next = i + 1 < n ? sql[i + 1] : '\0';
    if (c == '-' && next == '-') {
      i = sql.find('\n', i);
      if (i == std::string::npos) break;
      continue;
    }
    if (c == '/' && next == '*') {
      size_t e = sql.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
      continue;
    }
    if (c == '\'' || c == '"') {
      bool escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      size_t e = i + 1;
      while (e < n) {
        if (escapes && sql[e] == '\\') {
          e += 2;
          continue;
        }
        if (sql[e] == c) {
          if (e + 1 < n && sql[e + 1] == c) {
            e += 2;
            continue;
          }
          break;
        }
        ++e;
      }
      i = std::min(e + 1, n);
      end = i;
      continue;
    }
    if (c == '$') {
      size_t close = i + 1;
      while (close < n &&
             (std::isalnum(static_cast<unsigned char>(sql[close])) || sql[close] == '_'))
        ++close;
      if (close < n && sql[close] == '$') {
        std::string tag = sql.substr(i, close - i + 1);
        size_t e = sql.find(tag, close + 1);
        i = e == std::string::npos ? n : e + tag.size();
        end = i;
        continue;
      }
    }
    if (!std::isspace(static_cast<unsigned char>(c)) && c != ';') end = i + 1;
    ++i;
  }
  return sql.substr(0, end);
}

PostgresConnection ConnectionOf(const PostgresSourceConfig& config) {
  PostgresConnection c;
  c.uri = config.connection;
  if (!config.password.empty()) {
    // libpq takes any connection keyword as a URI parameter.
    c.uri += (c.uri.find('?') == std::string::npos ? "?" : "&");
    c.uri += "password=" + UriEncode(config.password);
    c.secrets = {config.password, UriEncode(config.password)};
  }
  c.name = RedactUri(config.connection);
  size_t scheme = config.connection.find("://");
  if (scheme != std::string::npos) {
    size_t end = config.connection.find_first_of("/?#", scheme + 3);
    std::string userinfo = config.connection.substr(scheme + 3, end - scheme - 3);
    size_t at = userinfo.rfind('@');
    size_t colon = userinfo.find(':');
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      std::string pw = userinfo.substr(colon + 1, at - colon - 1);
      c.secrets.push_back(pw);
      c.secrets.push_back(PercentDecode(pw));
    }
  }
  for (const auto& s : c.secrets) RegisterSecret(s);
  return c;
}

arrow::Result<std::unique_ptr<BoundedSource>> OpenPostgresSource(
    const PostgresSourceConfig& config) {
  return std::unique_ptr<BoundedSource>(new PostgresSource(config));
}

}  // namespace inlet
