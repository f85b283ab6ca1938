// The SQL catalog on SQLite: names, the compare-and-set that makes a commit, the schema
// older Java catalogs created, and that no password reaches a message.
#include "inlet/iceberg/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "inlet/testing/util.h"

namespace inlet::iceberg {

namespace {

CatalogOptions Sqlite(const testing::TempDir& dir, const std::string& name = "default") {
  CatalogOptions o;
  o.uri = "sqlite:" + dir.path() + "/catalog.db";
  o.name = name;
  return o;
}

TEST(TableIdent, NamespaceLevelsAndName) {
  INLET_ASSIGN_OR_FAIL(auto id, TableIdent::Parse("a.b.events"));
  EXPECT_EQ(id.ns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(id.name, "events");
  EXPECT_EQ(id.Namespace(), "a.b");
  EXPECT_EQ(id.ToString(), "a.b.events");
  for (const char* bad : {"events", "", ".t", "a..t", "a."})
    EXPECT_FALSE(TableIdent::Parse(bad).ok()) << bad;
}

TEST(RedactUri, HidesPasswordsOnly) {
  EXPECT_EQ(RedactUri("postgresql://u:s3cret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUri("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactUri("postgresql://h/db?user=u&password=s3cret&sslmode=require"),
            "postgresql://h/db?user=u&password=***&sslmode=require");
  EXPECT_EQ(RedactUri("sqlite:/tmp/c.db"), "sqlite:/tmp/c.db");
  // A password holding '@', and secret query parameters of REST catalogs.
  EXPECT_EQ(RedactUri("postgresql://u:pa@ss@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactUri("https://h/cat?token=abc&x=1&client_secret=s"),
            "https://h/cat?token=***&x=1&client_secret=***");
  EXPECT_EQ(MaskSecrets("bad token \"p%w\" here", {"p%w", ""}), "bad token \"***\" here");
}

TEST(SqlCatalog, CommitIsACompareAndSet) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto catalog, OpenCatalog(Sqlite(dir), /*for_write=*/true));
  INLET_ASSIGN_OR_FAIL(auto t, TableIdent::Parse("ns.t"));
  INLET_ASSIGN_OR_FAIL(auto none, catalog->CurrentMetadata(t));
  EXPECT_FALSE(none.has_value());
  INLET_ASSIGN_OR_FAIL(bool added, catalog->AddTable(t, "file:///m1.json"));
  EXPECT_TRUE(added);
  INLET_ASSIGN_OR_FAIL(added, catalog->AddTable(t, "file:///other.json"));
  EXPECT_FALSE(added) << "a second create of one name must lose";
  // A writer that read m1 wins; one still holding a stale pointer loses and changes
  // nothing.
  INLET_ASSIGN_OR_FAIL(bool swapped,
                       catalog->SwapMetadata(t, "file:///m1.json", "file:///m2.json"));
  EXPECT_TRUE(swapped);
  INLET_ASSIGN_OR_FAIL(swapped,
                       catalog->SwapMetadata(t, "file:///m1.json", "file:///m2b.json"));
  EXPECT_FALSE(swapped);
  INLET_ASSIGN_OR_FAIL(auto current, catalog->CurrentMetadata(t));
  EXPECT_EQ(current.value_or(""), "file:///m2.json");
  // Another catalog name in the same database is another catalog.
  INLET_ASSIGN_OR_FAIL(auto other, OpenCatalog(Sqlite(dir, "other"), false));
  INLET_ASSIGN_OR_FAIL(auto elsewhere, other->CurrentMetadata(t));
  EXPECT_FALSE(elsewhere.has_value());
  INLET_ASSIGN_OR_FAIL(auto listed, catalog->ListTables(""));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].ToString(), "ns.t");
  INLET_ASSIGN_OR_FAIL(auto location, catalog->DefaultLocation(t));
  EXPECT_EQ(location, dir.path() + "/ns/t");
}

TEST(SqlCatalog, UsesAnOlderSchemaWithoutIcebergType) {
  testing::TempDir dir;
  {
    INLET_ASSIGN_OR_FAIL(auto db, OpenSqlite(dir.path() + "/catalog.db", true));
    INLET_ASSERT_OK(
        db->Exec("CREATE TABLE iceberg_tables (catalog_name VARCHAR(255) NOT NULL, "
                 "table_namespace VARCHAR(255) NOT NULL, table_name VARCHAR(255) NOT "
                 "NULL, metadata_location VARCHAR(1000), previous_metadata_location "
                 "VARCHAR(1000), PRIMARY KEY (catalog_name, table_namespace, "
                 "table_name))")
            .status());
  }
  INLET_ASSIGN_OR_FAIL(auto catalog, OpenCatalog(Sqlite(dir), /*for_write=*/true));
  INLET_ASSIGN_OR_FAIL(auto t, TableIdent::Parse("ns.t"));
  INLET_ASSIGN_OR_FAIL(bool added, catalog->AddTable(t, "file:///m1.json"));
  EXPECT_TRUE(added);
  INLET_ASSIGN_OR_FAIL(auto current, catalog->CurrentMetadata(t));
  EXPECT_EQ(current.value_or(""), "file:///m1.json");
}

TEST(SqlCatalog, ReadingAMissingCatalogCreatesNothing) {
  testing::TempDir dir;
  auto opened = OpenCatalog(Sqlite(dir), /*for_write=*/false);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("no SQLite catalog database"),
            std::string::npos)
      << opened.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/catalog.db"));
  CatalogOptions pg;
  pg.uri = "postgresql://u:s3cret@127.0.0.1:1/db";
  auto refused = OpenCatalog(pg, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().find("s3cret"), std::string::npos)
      << refused.status().ToString();
}

}  // namespace

}  // namespace inlet::iceberg
