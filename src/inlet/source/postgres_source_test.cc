#include "inlet/source/postgres_source.h"

#include <gtest/gtest.h>

namespace inlet {
namespace {

TEST(NestableQuery, RemovesWhatFollowsTheLastToken) {
  EXPECT_EQ(NestableQuery("SELECT 1;"), "SELECT 1");
  EXPECT_EQ(NestableQuery("SELECT 1 ;  \n;\n"), "SELECT 1");
  EXPECT_EQ(NestableQuery("SELECT a FROM t; -- the paid ones"), "SELECT a FROM t");
  EXPECT_EQ(NestableQuery("SELECT a FROM t /* note; */ ;"), "SELECT a FROM t");
  EXPECT_EQ(NestableQuery("SELECT a -- x;\nFROM t;"), "SELECT a -- x;\nFROM t");
}

TEST(NestableQuery, KeepsQuotedText) {
  EXPECT_EQ(NestableQuery("SELECT ';' -- c"), "SELECT ';'");
  EXPECT_EQ(NestableQuery("SELECT 'it''s; -- not a comment'"),
            "SELECT 'it''s; -- not a comment'");
  EXPECT_EQ(NestableQuery("SELECT E'a\\'; --' ;"), "SELECT E'a\\'; --'");
  EXPECT_EQ(NestableQuery("SELECT \"x;--y\" FROM t;"), "SELECT \"x;--y\" FROM t");
  EXPECT_EQ(NestableQuery("SELECT $f$ ; -- $f$ ;"), "SELECT $f$ ; -- $f$");
  EXPECT_EQ(NestableQuery("SELECT $1;"), "SELECT $1");
}

TEST(QuoteQualifiedName, QuotesEachPart) {
  EXPECT_EQ(*QuoteQualifiedName("public.orders"), "\"public\".\"orders\"");
  EXPECT_EQ(*QuoteQualifiedName("we\"ird"), "\"we\"\"ird\"");
  EXPECT_FALSE(QuoteQualifiedName("a..b").ok());
  EXPECT_FALSE(QuoteQualifiedName(".a").ok());
}

}  // namespace
}  // namespace inlet
