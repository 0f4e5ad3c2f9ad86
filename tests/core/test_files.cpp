// AtomicFileWriter (and write_file_atomic on top of it): the file appears under its name only at
// commit, replacing the old one whole; a writer dropped without commit leaves the old file and no
// temporary; misuse is a logic_error and an unwritable folder an InputError naming the path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"

namespace bnrecal {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "bnrecal_files_" + std::to_string(::getpid()) + "_" + name;
}

std::string temporary_of(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

TEST(AtomicFileWriter, OldFileStaysWholeUntilCommit) {
  const std::string path = temp_path("replace.txt");
  write_file_atomic(path, "old contents");
  for (const bool sync : {true, false}) {
    AtomicFileWriter out(path, sync);
    out.append("new ");
    out.append("");
    EXPECT_EQ(read_file(path), "old contents");
    out.append(std::string(100000, 'x'));
    EXPECT_EQ(out.bytes_written(), 100004);
    EXPECT_EQ(read_file(path), "old contents");
    out.commit();
    EXPECT_EQ(read_file(path), "new " + std::string(100000, 'x'));
    EXPECT_FALSE(file_exists(temporary_of(path)));
    write_file_atomic(path, "old contents");
  }
  std::remove(path.c_str());
}

TEST(AtomicFileWriter, DroppedWithoutCommitLeavesTheOldFileAndNoTemporary) {
  const std::string path = temp_path("dropped.txt");
  write_file_atomic(path, "kept");
  {
    AtomicFileWriter out(path);
    out.append("half of a file");
    EXPECT_TRUE(file_exists(temporary_of(path)));
  }
  EXPECT_EQ(read_file(path), "kept");
  EXPECT_FALSE(file_exists(temporary_of(path)));
  std::remove(path.c_str());
}

TEST(AtomicFileWriter, MisuseAndUnwritableFolders) {
  const std::string path = temp_path("twice.txt");
  AtomicFileWriter out(path);
  out.commit();
  EXPECT_EQ(read_file(path), "");
  EXPECT_THROW(out.append("late"), std::logic_error);
  EXPECT_THROW(out.commit(), std::logic_error);
  std::remove(path.c_str());
  try {
    AtomicFileWriter nowhere("/nonexistent_dir_bnrecal/x.bin");
    ADD_FAILURE() << "opened a file in a missing folder";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent_dir_bnrecal/x.bin"), std::string::npos);
  }
}

}  // namespace
}  // namespace bnrecal
