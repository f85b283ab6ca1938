// FileSource: what each scope reads, and the position it resumes from.
#include "inlet/source/file_source.h"

#include <chrono>
#include <filesystem>
#include <functional>

#include "inlet/testing/util.h"

namespace inlet {

namespace {

class FileSourceTest : public ::testing::Test {
 protected:
  void Add(const std::string& name, const std::string& text) {
    testing::WriteTextFile(dir_.Sub("src/" + name), text);
  }
  FileSource Source() const {
    return FileSource(FileSourceConfig{dir_.Sub("src/*.csv"), {}});
  }
  static std::vector<std::string> Names(const SourceRead& read) {
    std::vector<std::string> out;
    for (const auto& p : read.parts)
      out.push_back(std::filesystem::path(p).filename().string());
    return out;
  }
  testing::TempDir dir_;
};

ReadRequest Request(SourceScope scope,
                    std::function<bool(const PartMark&)> skippable = nullptr) {
  ReadRequest r;
  r.scope = scope;
  r.skippable = std::move(skippable);
  return r;
}

}  // namespace

TEST_F(FileSourceTest, NewScopeReadsOnlyFilesThePositionLacks) {
  Add("a.csv", "id\n1\n");
  FileSource source = Source();
  INLET_ASSIGN_OR_FAIL(auto first,
                       source.Read(Json::object(), Request(SourceScope::kNew)));
  EXPECT_EQ(Names(first), std::vector<std::string>{"a.csv"});
  EXPECT_EQ(first.rows->num_rows(), 1);
  Add("b.csv", "id\n2\n3\n");
  INLET_ASSIGN_OR_FAIL(auto second,
                       source.Read(first.position, Request(SourceScope::kNew)));
  EXPECT_EQ(Names(second), std::vector<std::string>{"b.csv"});
  EXPECT_EQ(second.position["loaded_files"].size(), 2u);
  INLET_ASSIGN_OR_FAIL(auto third,
                       source.Read(second.position, Request(SourceScope::kNew)));
  EXPECT_EQ(third.rows, nullptr);
}

TEST_F(FileSourceTest, WholeExtractIsReadOnlyWhenItChanged) {
  FileSource source = Source();
  std::filesystem::create_directories(dir_.Sub("src"));
  auto empty = source.Read(Json::object(), Request(SourceScope::kWholeExtract));
  ASSERT_FALSE(empty.ok());  // it would empty the table
  EXPECT_NE(empty.status().message().find("matches no files"), std::string::npos);
  Add("a.csv", "id\n1\n");
  INLET_ASSIGN_OR_FAIL(auto first,
                       source.Read(Json::object(), Request(SourceScope::kWholeExtract)));
  ASSERT_NE(first.rows, nullptr);
  EXPECT_FALSE(first.position["source_fingerprint"].get<std::string>().empty());
  INLET_ASSIGN_OR_FAIL(auto same,
                       source.Read(first.position, Request(SourceScope::kWholeExtract)));
  EXPECT_EQ(same.rows, nullptr);
  Add("b.csv", "id\n2\n");
  INLET_ASSIGN_OR_FAIL(auto changed,
                       source.Read(first.position, Request(SourceScope::kWholeExtract)));
  EXPECT_EQ(Names(changed), (std::vector<std::string>{"a.csv", "b.csv"}));
}

TEST_F(FileSourceTest, SkipsOnlyUnchangedMarkedFiles) {
  Add("a.csv", "id\n1\n");
  Add("b.csv", "id\n2\n");
  FileSource source = Source();
  auto request = Request(SourceScope::kAll, [](const PartMark& m) {
    return m.max_cursor && *m.max_cursor < 10;
  });
  INLET_ASSIGN_OR_FAIL(auto first, source.Read(Json::object(), request));
  ASSERT_EQ(first.parts.size(), 2u);
  source.Mark(0, PartMark{1, false}, &first);   // a.csv: below the bound
  source.Mark(1, PartMark{20, false}, &first);  // b.csv: not
  INLET_ASSIGN_OR_FAIL(auto second, source.Read(first.position, request));
  EXPECT_EQ(Names(second), std::vector<std::string>{"b.csv"});
  EXPECT_TRUE(second.position["file_marks"].contains(
      first.parts[0]));  // the skipped file keeps its mark
  // A file that was touched, or grew, is read again whatever its mark says.
  auto a = std::filesystem::path(first.parts[0]);
  std::filesystem::last_write_time(
      a, std::filesystem::last_write_time(a) + std::chrono::seconds(1));
  INLET_ASSIGN_OR_FAIL(auto touched, source.Read(first.position, request));
  EXPECT_EQ(Names(touched), (std::vector<std::string>{"a.csv", "b.csv"}));
  Add("a.csv", "id\n1\n5\n");
  INLET_ASSIGN_OR_FAIL(auto grown, source.Read(first.position, request));
  EXPECT_EQ(Names(grown), (std::vector<std::string>{"a.csv", "b.csv"}));
  // Without a skip rule (other options, a backfill) every file is read.
  INLET_ASSIGN_OR_FAIL(auto all, source.Read(first.position, Request(SourceScope::kAll)));
  EXPECT_EQ(all.parts.size(), 2u);
}

}  // namespace inlet
