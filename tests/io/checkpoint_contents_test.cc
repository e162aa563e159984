// Checkpoints whose HDF5 structure is sound but whose contents are wrong
// (rewritten through the HDF5 API and sealed again, as tests/fuzz/
// checkpoint_fuzz does): an attribute that holds a list or another type, a
// shape larger than the file. Each was a bug found by that fuzzer (a stack
// overrun, an int64 overflow); each is now a UserError naming the file, the
// object, what was expected and what was found.
#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <string>

#include "io/checkpoint.h"
#include "io/hdf5_util.h"
#include "tests/io/checkpoint_fixture.h"

namespace rnnsearch {
namespace {

using testing::CheckpointFile;
using testing::ErrorOf;

// Saves the toy run, lets `edit` change the file, and seals it again.
void SaveAndEdit(const std::string& path, const testing::ToyRun& run,
                 const std::function<void(hid_t)>& edit) {
  SaveCheckpoint(path, run.Contents());
  {
    H5Id f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(f.get(), 0);
    edit(f.get());
  }
  testing::Reseal(path);
}

// Replaces attribute `name` of `obj` with int64 values (a list of two, or
// a scalar when `two` is false).
void IntAttr(hid_t file, const char* obj, const char* name, bool two) {
  H5Id o(H5Oopen(file, obj, H5P_DEFAULT), H5Oclose);
  ASSERT_GE(H5Adelete(o.get(), name), 0);
  const hsize_t dims[1] = {2};
  H5Id space(two ? H5Screate_simple(1, dims, nullptr) : H5Screate(H5S_SCALAR), H5Sclose);
  H5Id a(H5Acreate2(o.get(), name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const std::int64_t v[2] = {7, 8};
  ASSERT_GE(H5Awrite(a.get(), H5T_NATIVE_INT64, v), 0);
}

// Replaces dataset `name` with an unwritten float32 one of `dims`.
void HugeDataset(hid_t file, const char* name, std::vector<hsize_t> dims) {
  ASSERT_GE(H5Ldelete(file, name, H5P_DEFAULT), 0);
  H5Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Id d(H5Dcreate2(file, name, H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         H5Dclose);
  ASSERT_GE(d.get(), 0);
}

TEST_F(CheckpointFile, AnAttributeWithAListOrAnotherTypeIsRefused) {
  SaveAndEdit(path_, run_, [](hid_t f) { IntAttr(f, "/state", "step", true); });
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "'" + path_ +
                "': cannot read the integer attribute 'step': expected one value, "
                "found 2");
  SaveAndEdit(path_, run_, [](hid_t f) { IntAttr(f, "/", "git_revision", false); });
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "'" + path_ +
                "': cannot read the string attribute 'git_revision': expected a "
                "string, found an integer");
  SaveAndEdit(path_, run_, [](hid_t f) { IntAttr(f, "/state", "best_value", false); });
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "'" + path_ +
                "': cannot read the number attribute 'best_value': expected a "
                "number, found an integer");
}

TEST_F(CheckpointFile, AShapeLargerThanTheFileIsRefused) {
  auto error = [&](const std::string& object, const std::string& shape) {
    return "the checkpoint '" + path_ + "' is damaged: " + object + " has shape " + shape +
           " (4-byte elements), too large for a file of " +
           std::to_string(testing::ReadBytes(path_).size()) + " bytes";
  };
  // 21 * 2^62 overflowed int64 in the element count (before the 0).
  SaveAndEdit(path_, run_, [](hid_t f) {
    HugeDataset(f, "/params/output.bias", {21, hsize_t{1} << 62, 0});
  });
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            error("/params/output.bias", "[21, " + std::to_string(std::int64_t{1} << 62) + ", 0]"));
  // 2^30 floats (4 GB) were allocated before the read could fail.
  SaveAndEdit(path_, run_, [](hid_t f) { HugeDataset(f, "/ema/output.bias", {hsize_t{1} << 30}); });
  EXPECT_EQ(ErrorOf([&] { CheckpointReader(path_).VerifyTensors(); }),
            error("/ema/output.bias", "[" + std::to_string(1 << 30) + "]"));
}

}  // namespace
}  // namespace rnnsearch
