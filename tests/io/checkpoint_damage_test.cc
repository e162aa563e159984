// Damaged checkpoint files: truncated, a changed byte anywhere, a missing
// dataset, a format from the future, not a checkpoint at all. Each is a
// UserError naming the file and what is wrong, never a crash and never
// silently different contents.
#include <hdf5.h>

#include <string>

#include "io/checkpoint.h"
#include "io/hdf5_util.h"
#include "tests/io/checkpoint_fixture.h"

namespace rnnsearch {
namespace {

using testing::CheckpointFile;
using testing::Contains;
using testing::DataOffset;
using testing::Difference;
using testing::ErrorOf;
using testing::LoadAll;
using testing::Loaded;

TEST_F(CheckpointFile, ATruncatedFileIsNamed) {
  SaveCheckpoint(path_, run_.Contents());
  const std::string whole = testing::ReadBytes(path_);
  const std::string file = "the checkpoint '" + path_ + "'";
  for (const std::size_t keep : {whole.size() - 1, whole.size() / 2, std::size_t{600}}) {
    testing::WriteBytes(path_, whole.substr(0, keep));
    EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
              file + " is truncated: it has " + std::to_string(keep) +
                  " bytes, its header records " + std::to_string(whole.size()) +
                  " (a write or copy that did not finish?)");
  }
  testing::WriteBytes(path_, whole.substr(0, 100));
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            file + " is truncated: it has 100 bytes, fewer than its 512-byte header");
  testing::WriteBytes(path_, whole.substr(0, 10));
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }), file + " is truncated: it has 10 bytes");
  testing::WriteBytes(path_, "");
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }), file + " is empty (0 bytes)");
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(dir_ / "none.h5"); }),
            "cannot open the checkpoint '" + (dir_ / "none.h5") + "': No such file or directory");
}

TEST_F(CheckpointFile, AFlippedByteInADatasetIsCorruption) {
  SaveCheckpoint(path_, run_.Contents());
  const std::string clean = testing::ReadBytes(path_);
  for (const char* dataset :
       {"/params/decoder.init.weight", "/params/output.bias", "/optimizer/adam.v/readout.weight",
        "/ema/src_embed.weight", "/config", "/vocab/src", "/vocab/tgt", "/state/rng/dropout"}) {
    testing::WriteBytes(path_, clean);
    const std::int64_t at = DataOffset(path_, dataset) + 2;
    testing::FlipByte(path_, at);
    // The seal catches it before HDF5 reads anything.
    EXPECT_TRUE(Contains(ErrorOf([&] { CheckpointReader r(path_); }),
                         "the checkpoint '" + path_ +
                             "' is corrupt: the CRC-32 of its contents "
                             "is 0x"))
        << dataset;
    // The dataset's own checksum, should the seal be rewritten (by a tool
    // that edits files without knowing their contents).
    testing::Reseal(path_);
    const std::string needle = "the checkpoint '" + path_ +
                               "' is corrupt: " + std::string(dataset) +
                               " fails its checksum (stored CRC-32 0x";
    const std::string name = dataset;
    if (name.starts_with("/params") || name.starts_with("/optimizer") || name.starts_with("/ema")) {
      CheckpointReader r(path_);  // tensors are checked when read
      EXPECT_TRUE(Contains(ErrorOf([&] { r.VerifyTensors(); }), needle)) << dataset;
      EXPECT_TRUE(Contains(ErrorOf([&] { LoadAll(path_, run_); }), needle)) << dataset;
    } else {
      EXPECT_TRUE(Contains(ErrorOf([&] { CheckpointReader r(path_); }), needle)) << dataset;
    }
  }
}

TEST_F(CheckpointFile, EveryFlippedByteIsDetectedOrHarmless) {
  SaveCheckpoint(path_, run_.Contents());
  const std::string clean = testing::ReadBytes(path_);
  const std::string probe = dir_ / "probe.h5";
  // Every 97th byte of the ~60 KB file, each time another bit: the seal,
  // HDF5 metadata, attributes, data.
  int detected = 0, harmless = 0;
  for (std::size_t at = 0; at < clean.size(); at += 97) {
    std::string bytes = clean;
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (at % 8)));
    testing::WriteBytes(probe, bytes);
    try {
      const Loaded l = LoadAll(probe, run_);
      ASSERT_EQ(Difference(l, run_), "") << "byte " << at << " changed the contents undetected";
      ++harmless;  // the zero padding of the seal
    } catch (const UserError& e) {
      ASSERT_TRUE(Contains(e.what(), "the checkpoint '" + probe + "' is ")) << e.what();
      ++detected;
    }
  }
  EXPECT_GT(detected, 50 * harmless) << detected << " detected, " << harmless << " harmless";
}

TEST_F(CheckpointFile, AMissingDatasetOrGroupIsNamed) {
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(f.get(), "/state/rng", H5P_DEFAULT), 0);
  }
  testing::Reseal(path_);
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ + "' is incomplete: it has no /state/rng");
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(f.get(), "/params/readout.bias", H5P_DEFAULT), 0);
  }
  testing::Reseal(path_);
  EXPECT_EQ(ErrorOf([&] { LoadAll(path_, run_); }),
            "the checkpoint '" + path_ +
                "' does not fit the model: /params/readout.bias is missing (the model has [4])");
}

// /state's bad_steps and skipped_steps came later: a file written before
// them reads as one of a run that skipped no step.
TEST_F(CheckpointFile, StateCountersAddedLaterDefaultToZero) {
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Adelete_by_name(f.get(), "/state", "bad_steps", H5P_DEFAULT), 0);
    ASSERT_GE(H5Adelete_by_name(f.get(), "/state", "skipped_steps", H5P_DEFAULT), 0);
  }
  testing::Reseal(path_);
  const CheckpointReader r(path_);
  TrainingState want = run_.meta.state;
  ASSERT_NE(want.bad_steps, 0);
  want.bad_steps = want.skipped_steps = 0;
  EXPECT_EQ(r.info().meta.state, want);
}

TEST_F(CheckpointFile, AFormatFromTheFutureOrAnotherFileIsRefused) {
  SaveCheckpoint(path_, run_.Contents());
  testing::Reseal(path_, kCheckpointFormatVersion + 1);
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ +
                "' has format version 2, newer than this rnnsearch "
                "reads (up to 1); use a newer rnnsearch");
  // The version is also a root attribute (for h5py); the two must agree.
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    H5Id a(H5Aopen(f.get(), "format_version", H5P_DEFAULT), H5Aclose);
    const std::int64_t v = kCheckpointFormatVersion + 1;
    ASSERT_GE(H5Awrite(a.get(), H5T_NATIVE_INT64, &v), 0);
  }
  testing::Reseal(path_);
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ +
                "' is damaged: its header records format version 1, "
                "its root attribute 2");

  const std::string other = dir_ / "other.h5";
  {
    H5Id f(H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    WriteStringAttr(f.get(), "format", "rnnsearch-shard", other);
  }
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(other); }),
            "the checkpoint '" + other +
                "' is an HDF5 file but not an rnnsearch checkpoint (it "
                "has no rnnsearch header)");
  testing::WriteBytes(other, "model: {}\n");
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(other); }),
            "the checkpoint '" + other +
                "' is not an rnnsearch checkpoint (it does not start "
                "with the line 'rnnsearch-checkpoint')");
}

}  // namespace
}  // namespace rnnsearch
