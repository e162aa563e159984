// The checkpoint directory of a run: rotation keeps the newest K and the
// best, the newest valid checkpoint is found past damaged ones (with a
// warning naming them), interrupted writes are cleaned up, and a resume
// from an earlier checkpoint sets the later ones aside.
#include "io/checkpoint_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/io/checkpoint_fixture.h"

namespace rnnsearch {
namespace {

using testing::Contains;

class CheckpointDirTest : public ::testing::Test {
 protected:
  // Saves the toy run at `step` (its parameters depend on the step).
  std::string SaveAt(CheckpointDir& d, std::int64_t step, bool best = false) {
    testing::ToyRun run(testing::ToyDims{}, static_cast<std::uint32_t>(step));
    run.meta.state.step = step;
    return d.Save(run.Contents(), best);
  }

  // The step stored in a checkpoint file.
  static std::int64_t StepIn(const std::string& path) {
    return CheckpointReader(path).info().meta.state.step;
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(run_dir_)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  testing::TempDir tmp_{"ckptdir"};
  std::string run_dir_ = tmp_ / "run";  // created by CheckpointDir
};

TEST_F(CheckpointDirTest, RotationKeepsTheNewestKAndTheBest) {
  CheckpointDir d(run_dir_, 2);
  EXPECT_TRUE(d.List().empty());
  EXPECT_EQ(d.NewestValid(), std::nullopt);
  SaveAt(d, 100);
  const std::string p200 = SaveAt(d, 200, /*best=*/true);
  EXPECT_EQ(p200, run_dir_ + "/ckpt-200.h5");
  SaveAt(d, 300);
  SaveAt(d, 400);
  const std::string p1000 = SaveAt(d, 1000);
  EXPECT_EQ(Names(), (std::vector<std::string>{"best.h5", "ckpt-1000.h5", "ckpt-400.h5"}));
  EXPECT_EQ(d.List(),
            (std::vector<CheckpointEntry>{{1000, p1000}, {400, run_dir_ + "/ckpt-400.h5"}}));
  EXPECT_EQ(StepIn(d.BestPath()), 200);  // outlived the rotation of ckpt-200.h5
  EXPECT_EQ(d.NewestValid(), p1000);

  SaveAt(d, 1100, /*best=*/true);
  EXPECT_EQ(Names(), (std::vector<std::string>{"best.h5", "ckpt-1000.h5", "ckpt-1100.h5"}));
  EXPECT_EQ(StepIn(d.BestPath()), 1100);
  // Saving a step again replaces it.
  SaveAt(d, 1100);
  EXPECT_EQ(StepIn(d.PathOf(1100)), 1100);
  EXPECT_EQ(Names(), (std::vector<std::string>{"best.h5", "ckpt-1000.h5", "ckpt-1100.h5"}));

  // keep = 1 and files that only look like checkpoints are left alone.
  testing::WriteBytes(run_dir_ + "/ckpt-latest.h5", "x");
  testing::WriteBytes(run_dir_ + "/notes.txt", "x");
  CheckpointDir one(run_dir_, 1);
  SaveAt(one, 1200);
  EXPECT_EQ(Names(),
            (std::vector<std::string>{"best.h5", "ckpt-1200.h5", "ckpt-latest.h5", "notes.txt"}));
}

TEST_F(CheckpointDirTest, NewestValidSkipsDamagedCheckpointsWithAWarning) {
  CheckpointDir d(run_dir_, 5);
  SaveAt(d, 100, /*best=*/true);
  const std::string p200 = SaveAt(d, 200);
  const std::string p300 = SaveAt(d, 300);
  // A flipped byte in the newest, in the middle of its data.
  testing::FlipByte(p300, static_cast<std::int64_t>(std::filesystem::file_size(p300) / 2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(d.NewestValid(), p200);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Contains(err, "skipping the checkpoint '" + p300 + "': the checkpoint '" + p300 +
                                "' is corrupt: the CRC-32 of its contents is"))
      << err;

  // And a truncated one before it: the oldest is used.
  const std::string whole = testing::ReadBytes(p200);
  testing::WriteBytes(p200, whole.substr(0, whole.size() / 3));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(d.NewestValid(), run_dir_ + "/ckpt-100.h5");
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Contains(err, "skipping the checkpoint '" + p200 + "': the checkpoint '" + p200 +
                                "' is truncated: it has "))
      << err;
  EXPECT_TRUE(Contains(err, "skipping the checkpoint '" + p300 + "'")) << err;

  // Only best.h5 left valid (ckpt-100.h5, the same file, rotated away):
  // it is the last resort.
  std::filesystem::remove(run_dir_ + "/ckpt-100.h5");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(d.NewestValid(), d.BestPath());
  ::testing::internal::GetCapturedStderr();
  // A damaged file linked under both names is checked and named once.
  std::filesystem::create_hard_link(d.BestPath(), run_dir_ + "/ckpt-100.h5");
  testing::FlipByte(d.BestPath(), 700);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(d.NewestValid(), std::nullopt);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Contains(err, "skipping the checkpoint '" + run_dir_ + "/ckpt-100.h5'")) << err;
  EXPECT_FALSE(Contains(err, "skipping the checkpoint '" + d.BestPath() + "'")) << err;
}

TEST_F(CheckpointDirTest, AnInterruptedWriteIsIgnoredAndCleanedUp) {
  {
    CheckpointDir d(run_dir_, 3);
    SaveAt(d, 100);
    SaveAt(d, 200, /*best=*/true);
  }
  // A crash in the middle of writing step 300 and of replacing best.h5:
  // half a file under the temporary names, the real names untouched.
  const std::string half = testing::ReadBytes(run_dir_ + "/ckpt-200.h5");
  testing::WriteBytes(run_dir_ + "/ckpt-300.h5.tmp", half.substr(0, half.size() / 2));
  testing::WriteBytes(run_dir_ + "/best.h5.tmp", half.substr(0, 1000));
  ::testing::internal::CaptureStderr();
  CheckpointDir d(run_dir_, 3);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Contains(err, "removing '" + run_dir_ +
                                "/ckpt-300.h5.tmp', left by a checkpoint "
                                "write that was interrupted"))
      << err;
  EXPECT_TRUE(Contains(err, "removing '" + run_dir_ + "/best.h5.tmp'")) << err;
  EXPECT_EQ(Names(), (std::vector<std::string>{"best.h5", "ckpt-100.h5", "ckpt-200.h5"}));
  EXPECT_EQ(d.NewestValid(), run_dir_ + "/ckpt-200.h5");
  EXPECT_EQ(StepIn(d.BestPath()), 200);
  SaveAt(d, 300);
  EXPECT_EQ(StepIn(*d.NewestValid()), 300);
}

TEST_F(CheckpointDirTest, AResumeFromAnEarlierCheckpointSetsTheLaterOnesAside) {
  CheckpointDir d(run_dir_, 2);
  SaveAt(d, 100);
  SaveAt(d, 200);
  SaveAt(d, 300);
  // Resumed from step 200 (say ckpt-300 was damaged), the run saves 250.
  ::testing::internal::CaptureStderr();
  const std::string p250 = SaveAt(d, 250);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Contains(err, "moving '" + run_dir_ + "/ckpt-300.h5' aside to '" + run_dir_ +
                                "/ckpt-300.h5.superseded': its step is after the checkpoint just "
                                "written (step 250)"))
      << err;
  EXPECT_EQ(Names(),
            (std::vector<std::string>{"ckpt-200.h5", "ckpt-250.h5", "ckpt-300.h5.superseded"}));
  EXPECT_EQ(d.NewestValid(), p250);
}

TEST_F(CheckpointDirTest, ARunDirectoryThatIsAFileIsAnError) {
  testing::WriteBytes(tmp_ / "file", "x");
  EXPECT_EQ(testing::ErrorOf([&] { CheckpointDir d(tmp_ / "file", 2); }),
            "the run directory '" + (tmp_ / "file") + "' exists and is not a directory");
  EXPECT_EQ(testing::ErrorOf([&] { CheckpointDir d(tmp_ / "file/run", 2); }),
            "cannot create the run directory '" + (tmp_ / "file/run") + "': Not a directory");
  EXPECT_THROW(CheckpointDir(run_dir_, 0), std::invalid_argument);
}

}  // namespace
}  // namespace rnnsearch
