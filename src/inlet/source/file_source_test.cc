// FileSource: what each scope reads, and the position it resumes from.
#include "inlet/source/file_source.h"

#include <arrow/array.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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
  EXPECT_EQ(second.position["files"].size(), 2u);
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
  EXPECT_TRUE(second.position["file_marks"].contains("a.csv"));  // the skipped file
                                                                 // keeps its mark
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

namespace {

void AppendText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

std::vector<int64_t> Ids(const SourceRead& read) {
  std::vector<int64_t> out;
  auto column = read.rows->GetColumnByName("id");
  for (const auto& chunk : column->chunks()) {
    const auto& ids = static_cast<const arrow::Int64Array&>(*chunk);
    for (int64_t i = 0; i < ids.length(); ++i) out.push_back(ids.Value(i));
  }
  return out;
}

}  // namespace

TEST_F(FileSourceTest, FilesAreKnownByTheirNameUnderAMovedRoot) {
  Add("a.csv", "id\n1\n");
  FileSource before = Source();
  INLET_ASSIGN_OR_FAIL(auto first,
                       before.Read(Json::object(), Request(SourceScope::kNew)));
  EXPECT_EQ(first.position["source_root"], dir_.Sub("src"));
  EXPECT_TRUE(first.position["files"].contains("a.csv"));
  std::filesystem::rename(dir_.Sub("src"), dir_.Sub("moved"));
  FileSource moved(FileSourceConfig{dir_.Sub("moved/*.csv"), {}});
  INLET_ASSIGN_OR_FAIL(auto again,
                       moved.Read(first.position, Request(SourceScope::kNew)));
  EXPECT_EQ(again.rows, nullptr);  // nothing new
  ASSERT_EQ(again.warnings.size(), 1u);
  EXPECT_NE(again.warnings[0].find("moved from " + dir_.Sub("src") + " to " +
                                   dir_.Sub("moved")),
            std::string::npos);
  // A copy (new modification times) is recognized by its content.
  std::filesystem::copy(dir_.Sub("moved"), dir_.Sub("copied"),
                        std::filesystem::copy_options::recursive);
  FileSource copied(FileSourceConfig{dir_.Sub("copied/*.csv"), {}});
  INLET_ASSIGN_OR_FAIL(auto copy,
                       copied.Read(first.position, Request(SourceScope::kNew)));
  EXPECT_EQ(copy.rows, nullptr);
  EXPECT_EQ(copy.position["source_root"], dir_.Sub("copied"));
}

TEST_F(FileSourceTest, AGrownFileHasItsAppendedLinesRead) {
  Add("a.csv", "id,name\n1,x\n2,y\n");
  FileSource source = Source();
  INLET_ASSIGN_OR_FAIL(auto first,
                       source.Read(Json::object(), Request(SourceScope::kNew)));
  EXPECT_EQ(Ids(first), (std::vector<int64_t>{1, 2}));
  AppendText(dir_.Sub("src/a.csv"), "3,z\n4,w\n");
  INLET_ASSIGN_OR_FAIL(auto grown,
                       source.Read(first.position, Request(SourceScope::kNew)));
  ASSERT_NE(grown.rows, nullptr);
  EXPECT_EQ(Ids(grown), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(grown.rows->schema()->field(1)->name(), "name");  // under the header
  INLET_ASSIGN_OR_FAIL(auto same,
                       source.Read(grown.position, Request(SourceScope::kNew)));
  EXPECT_EQ(same.rows, nullptr);
  // A bad value in the appended part is named by its line in the whole file.
  AppendText(dir_.Sub("src/a.csv"), "5,v\nfive,u\n");
  FileSource typed(
      FileSourceConfig{dir_.Sub("src/*.csv"), {{}, {{"id", arrow::int64()}}}});
  auto bad = typed.Read(grown.position, Request(SourceScope::kNew));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("a.csv: line 7, column 'id'"), std::string::npos)
      << bad.status().message();
}

TEST_F(FileSourceTest, AGrownNdjsonFileHasItsAppendedLinesRead) {
  Add("a.ndjson", "{\"id\": 1}\n");
  FileSource source(FileSourceConfig{dir_.Sub("src"), {}});
  INLET_ASSIGN_OR_FAIL(auto first,
                       source.Read(Json::object(), Request(SourceScope::kNew)));
  AppendText(dir_.Sub("src/a.ndjson"), "{\"id\": 2}\n{\"id\": 3}\n");
  INLET_ASSIGN_OR_FAIL(auto grown,
                       source.Read(first.position, Request(SourceScope::kNew)));
  EXPECT_EQ(Ids(grown), (std::vector<int64_t>{2, 3}));
  // A last line continued (the file was loaded while being written) is a change.
  Add("b.ndjson", "{\"id\": 4}");
  INLET_ASSIGN_OR_FAIL(auto b, source.Read(grown.position, Request(SourceScope::kNew)));
  AppendText(dir_.Sub("src/b.ndjson"), "0}\n");
  auto continued = source.Read(b.position, Request(SourceScope::kNew));
  ASSERT_FALSE(continued.ok());
  EXPECT_NE(continued.status().message().find("continuing the last line"),
            std::string::npos)
      << continued.status().message();
}

TEST_F(FileSourceTest, ARewrittenFileFailsUnlessAPolicySaysOtherwise) {
  Add("a.csv", "id\n1\n2\n");
  FileSource source = Source();
  INLET_ASSIGN_OR_FAIL(auto first,
                       source.Read(Json::object(), Request(SourceScope::kNew)));
  Add("a.csv", "id\n7\n2\n3\n");  // its first bytes changed
  auto failed = source.Read(first.position, Request(SourceScope::kNew));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find(dir_.Sub("src/a.csv") +
                                           " changed since it was loaded"),
            std::string::npos)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("changed_files"), std::string::npos);
  Add("a.csv", "id\n1\n");  // shrank
  EXPECT_FALSE(source.Read(first.position, Request(SourceScope::kNew)).ok());

  Add("a.csv", "id\n7\n2\n3\n");
  FileSourceConfig reload{dir_.Sub("src/*.csv"), {}};
  reload.changed_files = ChangedFiles::kReload;
  INLET_ASSIGN_OR_FAIL(
      auto again, FileSource(reload).Read(first.position, Request(SourceScope::kNew)));
  EXPECT_EQ(Ids(again), (std::vector<int64_t>{7, 2, 3}));
  ASSERT_EQ(again.warnings.size(), 1u);
  EXPECT_NE(again.warnings[0].find("loaded again whole"), std::string::npos);

  FileSourceConfig ignore = reload;
  ignore.changed_files = ChangedFiles::kIgnore;
  INLET_ASSIGN_OR_FAIL(
      auto ignored, FileSource(ignore).Read(first.position, Request(SourceScope::kNew)));
  EXPECT_EQ(ignored.rows, nullptr);
  ASSERT_EQ(ignored.warnings.size(), 1u);
  // The change is remembered: the next run neither warns nor reads.
  INLET_ASSIGN_OR_FAIL(
      auto quiet, FileSource(ignore).Read(ignored.position, Request(SourceScope::kNew)));
  EXPECT_TRUE(quiet.warnings.empty());
  EXPECT_EQ(quiet.rows, nullptr);
}

TEST_F(FileSourceTest, APositionOfAbsolutePathsIsReadAndRewritten) {
  Add("a.csv", "id\n1\n");
  Add("b.csv", "id\n2\n");
  Json legacy = {{"loaded_files", Json::array({dir_.Sub("src/a.csv")})},
                 {"source_fingerprint", ""}};
  FileSource source = Source();
  INLET_ASSIGN_OR_FAIL(auto read, source.Read(legacy, Request(SourceScope::kNew)));
  EXPECT_EQ(Names(read), std::vector<std::string>{"b.csv"});
  EXPECT_FALSE(read.position.contains("loaded_files"));
  EXPECT_EQ(read.position["files"]["a.csv"][0], 5);  // its size, recorded now
  EXPECT_TRUE(source.Advanced(legacy, read.position));
}

TEST_F(FileSourceTest, AGlobMatchingNothingWarnsOrFails) {
  std::filesystem::create_directories(dir_.Sub("src"));
  INLET_ASSIGN_OR_FAIL(auto none,
                       Source().Read(Json::object(), Request(SourceScope::kNew)));
  EXPECT_EQ(none.rows, nullptr);
  ASSERT_EQ(none.warnings.size(), 1u);
  EXPECT_NE(none.warnings[0].find("matches no files"), std::string::npos);
  FileSourceConfig required{dir_.Sub("src/*.csv"), {}};
  required.require_files = true;
  auto failed = FileSource(required).Read(Json::object(), Request(SourceScope::kNew));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("require_files"), std::string::npos);
}

}  // namespace inlet
