// RefuseDirectory and ReadWholeFile: a directory is refused naming the
// path, a missing file names the system's reason, a file reads whole.
#include "common/file_read.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

class FileRead : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnsearch_file_read_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "sub");
    std::ofstream(dir_ / "f.txt", std::ios::binary) << std::string("a\0b\n", 4);
    fs::create_directory_symlink(dir_ / "sub", dir_ / "link");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The message of the UserError that `f` throws ("" if none).
  template <typename F>
  static std::string ErrorOf(F f) {
    try {
      f();
    } catch (const UserError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(FileRead, DirectoryIsRefusedNamingThePath) {
  const std::string sub = (dir_ / "sub").string(), link = (dir_ / "link").string();
  EXPECT_EQ(ErrorOf([&] { RefuseDirectory(sub); }), "'" + sub + "' is a directory, not a file");
  EXPECT_EQ(ErrorOf([&] { RefuseDirectory(link, "the checkpoint"); }),
            "the checkpoint '" + link + "' is a directory, not a file");
  EXPECT_EQ(ErrorOf([&] { ReadWholeFile(sub, "the manifest"); }),
            "the manifest '" + sub + "' is a directory, not a file");
}

TEST_F(FileRead, FilesPassAndReadWhole) {
  const std::string file = (dir_ / "f.txt").string(), missing = (dir_ / "no.txt").string();
  EXPECT_EQ(ErrorOf([&] { RefuseDirectory(file, "x"); }), "");
  EXPECT_EQ(ErrorOf([&] { RefuseDirectory(missing, "x"); }), "");  // the open names it
  EXPECT_EQ(ReadWholeFile(file, "x"), std::string("a\0b\n", 4));
  EXPECT_EQ(ErrorOf([&] { ReadWholeFile(missing, "the config file"); }),
            "cannot read the config file '" + missing + "': No such file or directory");
}

}  // namespace
}  // namespace rnnsearch
