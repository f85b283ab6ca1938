// What a PostgreSQL server sends during logical replication: CopyData (XLogData and
// keepalives) carrying pgoutput messages (Begin, Relation, Insert, Update, Delete,
// Truncate, Type, Origin, logical messages), and the text values of COPY rows.
#include <arrow/builder.h>

#include <memory>
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/source/pg_text.h"
#include "inlet/source/pgoutput.h"
#include "inlet/source/source.h"

using namespace inlet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::Text(data, size);
  auto copy = pgoutput::DecodeCopyData(bytes);
  if (copy.ok()) {
    if (auto* x = std::get_if<pgoutput::XLogData>(&*copy))
      (void)pgoutput::Decode(x->data);
  }
  (void)pgoutput::Decode(bytes);
  auto lsn = pgoutput::ParseLsn(bytes);
  if (lsn.ok())
    fuzz::Require(pgoutput::ParseLsn(pgoutput::FormatLsn(*lsn)).ValueOr(~*lsn) == *lsn,
                  "an LSN round-trips");
  // A COPY row's fields (a query source's rows, an initial snapshot's), each read as a
  // column of the type the first byte picks: pgoutput's tuples carry the same text.
  std::vector<std::optional<std::string>> fields;
  if (size == 0 || !pgtext::SplitCopyRow(bytes.substr(1), &fields).ok()) return 0;
  static const std::vector<pgtext::ColumnType> types = [] {
    auto type = [](uint32_t oid, int32_t typmod, std::string name,
                   std::shared_ptr<pgtext::CatalogType> element = nullptr) {
      return pgtext::CatalogType{oid, typmod, std::move(name), false, std::move(element)};
    };
    // An array type: its element's name with [].
    auto array = [&](uint32_t oid, pgtext::CatalogType element) {
      std::string name = element.name + "[]";
      return type(oid, -1, std::move(name),
                  std::make_shared<pgtext::CatalogType>(std::move(element)));
    };
    std::vector<pgtext::CatalogType> catalog = {
        type(16, -1, "boolean"),
        type(21, -1, "smallint"),
        type(23, -1, "integer"),
        type(20, -1, "bigint"),
        type(700, -1, "real"),
        type(701, -1, "double precision"),
        type(1700, ((10 << 16) | 2) + 4, "numeric(10,2)"),
        type(1700, -1, "numeric"),
        type(25, -1, "text"),
        type(17, -1, "bytea"),
        type(1082, -1, "date"),
        type(1083, -1, "time without time zone"),
        type(1114, -1, "timestamp without time zone"),
        type(1184, -1, "timestamp with time zone"),
        type(1186, -1, "interval"),
        type(2950, -1, "uuid"),
        type(3802, -1, "jsonb"),
        array(1007, type(23, -1, "integer")),
        array(1231, type(1700, -1, "numeric")),
        array(1009, type(25, -1, "text")),
        array(1115, type(1114, -1, "timestamp without time zone"))};
    std::vector<pgtext::ColumnType> out;
    for (const auto& t : catalog) {
      for (auto numeric : {UnconstrainedNumeric::kDecimal, UnconstrainedNumeric::kString,
                           UnconstrainedNumeric::kDouble}) {
        auto c = pgtext::TypeOf(t, numeric, UnknownTypes::kText);
        if (!c.ok()) std::abort();
        out.push_back(*c);
      }
    }
    return out;
  }();
  size_t pick = data[0] % types.size();
  for (const auto& field : fields) {
    const auto& t = types[pick++ % types.size()];
    std::unique_ptr<arrow::ArrayBuilder> builder;
    if (!arrow::MakeBuilder(arrow::default_memory_pool(), t.type, &builder).ok())
      std::abort();
    if (field) (void)pgtext::Append(t, *field, builder.get());
    std::shared_ptr<arrow::Array> array;
    if (builder->Finish(&array).ok())
      fuzz::Require(array->ValidateFull().ok(), "a PostgreSQL value appends valid Arrow");
  }
  return 0;
}
