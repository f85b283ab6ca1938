#include "inlet/source/pg_text.h"

#include <arrow/array.h>
#include <gtest/gtest.h>

namespace inlet::pgtext {
namespace {

// The one value `text` becomes for a column of catalog type t (or the error's message).
std::string Read(const CatalogType& t, const std::string& text) {
  auto type = TypeOf(t, UnconstrainedNumeric::kDecimal, UnknownTypes::kFail);
  if (!type.ok()) return "error: " + type.status().message();
  auto builder = *arrow::MakeBuilder(type->type);
  auto st = Append(*type, text, builder.get());
  if (!st.ok()) return "error: " + st.message();
  std::shared_ptr<arrow::Array> a;
  EXPECT_TRUE(builder->Finish(&a).ok());
  return (*a->GetScalar(0))->ToString();
}

CatalogType Builtin(uint32_t oid, int32_t typmod = -1) {
  CatalogType t;
  t.oid = oid;
  t.typmod = typmod;
  t.name = "type " + std::to_string(oid);
  return t;
}

TEST(PgText, Scalars) {
  EXPECT_EQ(Read(Builtin(16), "t"), "true");
  EXPECT_EQ(Read(Builtin(16), "f"), "false");
  EXPECT_EQ(Read(Builtin(21), "-32768"), "-32768");
  EXPECT_EQ(Read(Builtin(21), "32768"), "error: '32768' is not a smallint");
  EXPECT_EQ(Read(Builtin(20), "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Read(Builtin(701), "0.30000000000000004"), "0.30000000000000004");
  EXPECT_EQ(Read(Builtin(701), "-Infinity"), "-inf");
  EXPECT_EQ(Read(Builtin(700), "1.5"), "1.5");
  EXPECT_EQ(Read(Builtin(17), "\\x00ff41"), std::string("\0\xff"
                                                        "A",
                                                        3));
  EXPECT_EQ(Read(Builtin(17), "\\x0"), "error: '\\x0' is not bytea in hex");
  EXPECT_EQ(Read(Builtin(2950), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

// Text that is not UTF-8 (a database in another encoding) never becomes a table's string.
TEST(PgText, TextMustBeUtf8) {
  EXPECT_EQ(Read(Builtin(25), "caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_NE(Read(Builtin(25), "caf\xe9").find("error: a text value that is not UTF-8"),
            std::string::npos);
}

TEST(PgText, Numerics) {
  // numeric(10,2): typmod is (precision << 16 | scale) + 4.
  CatalogType n = Builtin(1700, (10 << 16 | 2) + 4);
  EXPECT_EQ(Read(n, "12345678.91"), "12345678.91");
  EXPECT_EQ(Read(n, "-0.005"), "-0.01");  // half away from zero
  EXPECT_EQ(Read(n, "123456789.00"), "error: '123456789.00' does not fit decimal(10,2)");
  EXPECT_EQ(Read(n, "NaN"), "error: 'NaN' does not fit decimal(10,2)");
  EXPECT_EQ(Read(Builtin(1700), "1.000000000000000001"), "1.000000000000000001");
  EXPECT_EQ(Read(Builtin(1700, (40 << 16) + 4), "1"),
            "error: type type 1700 is wider than a table's decimals (38 digits)");
}

TEST(PgText, DatesAndTimes) {
  EXPECT_EQ(Read(Builtin(1082), "2024-02-29"), "2024-02-29");
  EXPECT_EQ(Read(Builtin(1082), "0044-03-15 BC"), "-0043-03-15");
  // A year past PostgreSQL's range (once an overflow, found by fuzzing).
  EXPECT_EQ(Read(Builtin(1114), "45586419725308640-01-01 00:00:00"),
            "error: '45586419725308640-01-01 00:00:00' is not a timestamp");
  EXPECT_EQ(Read(Builtin(1082), "infinity"),
            "error: infinity has no place in a table's dates: map it to a value at the "
            "source");
  EXPECT_EQ(Read(Builtin(1114), "2024-01-31 12:34:56.789"), "2024-01-31 12:34:56.789000");
  EXPECT_EQ(Read(Builtin(1114), "10000-01-01 00:00:00"), "10000-01-01 00:00:00.000000");
  EXPECT_EQ(Read(Builtin(1114), "0001-01-01 00:00:00 BC"), "0000-01-01 00:00:00.000000");
  EXPECT_EQ(Read(Builtin(1184), "2024-01-31 12:34:56.000001+00"),
            "2024-01-31 12:34:56.000001Z");
  EXPECT_EQ(Read(Builtin(1184), "2024-01-31 12:34:56+05:30"),
            "2024-01-31 07:04:56.000000Z");
  EXPECT_EQ(Read(Builtin(1184), "-infinity").substr(0, 27),
            "error: infinity has no plac");
  EXPECT_EQ(Read(Builtin(1114), "2024-01-31"), "error: '2024-01-31' is not a timestamp");
  EXPECT_EQ(Read(Builtin(1114), "294276-12-31 23:59:59.999999"),
            "error: '294276-12-31 23:59:59.999999' is beyond a table's timestamps");
  EXPECT_EQ(Read(Builtin(1083), "23:59:59.5"), "23:59:59.500000");
  EXPECT_EQ(Read(Builtin(1083), "24:00:00"), "24:00:00.000000");
}

TEST(PgText, IntervalsInIso8601) {
  EXPECT_EQ(Read(Builtin(1186), "P1Y2M3DT4H5M6.5S"), "P1Y2M3DT4H5M6.5S");
  EXPECT_EQ(Read(Builtin(1186), "PT0S"), "PT0S");
  EXPECT_EQ(Read(Builtin(1186), "P-1Y-2M3DT-4H-5M-6S"), "P-1Y-2M3DT-4H-5M-6S");
  EXPECT_EQ(Read(Builtin(1186), "P14M"), "P1Y2M");
  EXPECT_EQ(Read(Builtin(1186), "PT90M"), "PT1H30M");
  EXPECT_EQ(Read(Builtin(1186), "1 day"), "error: '1 day' is not an interval");
  EXPECT_EQ(Read(Builtin(1186), "PT-0.000001S"), "PT-0.000001S");
  EXPECT_EQ(Read(Builtin(1186), "PT2562047788H0.000001S"), "PT2562047788H0.000001S");
  EXPECT_EQ(Read(Builtin(1186), "P1.5Y"), "error: 'P1.5Y' is not an interval");
}

TEST(PgText, EnumsDomainsAndUnknownTypes) {
  CatalogType e = Builtin(99999);
  e.is_enum = true;
  EXPECT_EQ(Read(e, "happy"), "happy");
  CatalogType money = Builtin(790);
  auto fail = TypeOf(money, UnconstrainedNumeric::kDecimal, UnknownTypes::kFail);
  EXPECT_EQ(fail->kind, ColumnType::kUnknown);
  auto text = TypeOf(money, UnconstrainedNumeric::kDecimal, UnknownTypes::kText);
  EXPECT_EQ(text->kind, ColumnType::kString);
}

TEST(PgText, Arrays) {
  CatalogType a = Builtin(1009);
  a.element = std::make_shared<CatalogType>(Builtin(25));
  EXPECT_EQ(Read(a, "{a,\"b c\",NULL,\"NULL\",\"q\\\"x\",\"back\\\\slash\"}"),
            "list<item: string>[a, b c, null, NULL, q\"x, back\\slash]");
  EXPECT_EQ(Read(a, "{}"), "list<item: string>[]");
  EXPECT_EQ(Read(a, "[0:1]={x,y}"), "list<item: string>[x, y]");
  EXPECT_EQ(Read(a, "{{a,b},{c,NULL}}"), "list<item: string>[a, b, c, null]");
  EXPECT_EQ(Read(a, "[1:2][1:1]={{a},{b}}"), "list<item: string>[a, b]");
  EXPECT_EQ(Read(a, "{a,b"), "error: '{a,b' is not an array: no braces");
  CatalogType ints = Builtin(1007);
  ints.element = std::make_shared<CatalogType>(Builtin(23));
  EXPECT_EQ(Read(ints, "{1,-2,NULL}"), "list<item: int32>[1, -2, null]");
  EXPECT_EQ(Read(ints, "{1,x}"), "error: an element: 'x' is not an integer");
}

TEST(PgText, CopyRows) {
  std::vector<std::optional<std::string>> f;
  ASSERT_TRUE(SplitCopyRow("1\t\\N\ta\\tb\\\\c\\nd\t", &f).ok());
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(*f[0], "1");
  EXPECT_FALSE(f[1].has_value());
  EXPECT_EQ(*f[2], "a\tb\\c\nd");
  EXPECT_EQ(*f[3], "");
  ASSERT_TRUE(SplitCopyRow("\\101\\x42\\r", &f).ok());
  EXPECT_EQ(*f[0], "AB\r");
  EXPECT_FALSE(SplitCopyRow("a\\", &f).ok());
  EXPECT_FALSE(SplitCopyRow("a\\N", &f).ok());
}

TEST(PgText, Quoting) {
  EXPECT_EQ(QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
}

}  // namespace
}  // namespace inlet::pgtext
