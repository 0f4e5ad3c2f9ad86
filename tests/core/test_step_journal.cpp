// The study journal: records survive reopening, a torn last line (a kill inside a write) is
// dropped and truncated away, nothing is overwritten or recorded twice, two writers never share a
// journal, and looking at a journal changes nothing.
#include <gtest/gtest.h>

#include <fstream>

#include "bnrecal/core/files.h"
#include "bnrecal/core/step_journal.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {
const nlohmann::json kHeader = {{"bnrecal_study", 1}};
}

TEST(StepJournal, RecordsSurviveReopeningAndATornLastLineIsDropped) {
  const std::string path = temp_dir() + "/sub/journal.jsonl";
  {
    StepJournal j(path, kHeader, JournalMode::kCreate);
    j.append("a/1", {{"result", 1}});
    j.append("a/2", {{"result", 2}});
    EXPECT_NE(input_error_message([&] { j.append("a/1", {}); }).find("already"), std::string::npos);
  }
  const std::string complete = read_file(path);
  std::ofstream(path, std::ios::app) << R"({"step": "a/3", "res)";  // killed mid-write
  const StepJournal look(path, kHeader, JournalMode::kRead);
  EXPECT_EQ(look.records().size(), 2u);
  EXPECT_EQ(look.dropped_lines(), 1);
  EXPECT_NE(read_file(path), complete);  // looking leaves the torn bytes for the writer to drop
  StepJournal j(path, kHeader, JournalMode::kResume);
  EXPECT_EQ(j.dropped_lines(), 1);
  ASSERT_EQ(j.records().size(), 2u);
  EXPECT_EQ(j.records()[1]["result"], 2);
  EXPECT_TRUE(j.done("a/2"));
  EXPECT_FALSE(j.done("a/3"));
  EXPECT_EQ(read_file(path), complete);  // the torn bytes are gone before anything is appended
  j.append("a/3", {{"result", 3}});
  EXPECT_EQ(StepJournal(path, kHeader, JournalMode::kRead).records().size(), 3u);
}

TEST(StepJournal, RefusesToOverwriteOrToMixConfigurations) {
  const std::string path = temp_dir() + "/journal.jsonl";
  StepJournal(path, kHeader, JournalMode::kCreate).append("x", {});
  EXPECT_NE(input_error_message([&] { StepJournal(path, kHeader, JournalMode::kCreate); }).find("--resume"),
            std::string::npos);
  EXPECT_NE(input_error_message([&] { StepJournal(path, {{"bnrecal_study", 2}}, JournalMode::kResume); })
                .find("another configuration"),
            std::string::npos);
  std::ofstream(path, std::ios::app) << "{\"step\": \"x\"}\n";
  EXPECT_NE(input_error_message([&] { StepJournal(path, kHeader, JournalMode::kResume); }).find("recorded twice"),
            std::string::npos);
}

TEST(StepJournal, ASecondWriterIsRefusedWhileTheFirstHoldsTheFolder) {
  const std::string path = temp_dir() + "/journal.jsonl";
  {
    StepJournal first(path, kHeader, JournalMode::kCreate);
    EXPECT_NE(input_error_message([&] { StepJournal(path, kHeader, JournalMode::kResume); }).find("in use by another run"),
              std::string::npos);
    EXPECT_NO_THROW(StepJournal(path, kHeader, JournalMode::kRead));  // looking needs no lock
    first.append("a", {});
  }
  StepJournal again(path, kHeader, JournalMode::kResume);  // the lock ended with the first writer
  EXPECT_TRUE(again.done("a"));
}
