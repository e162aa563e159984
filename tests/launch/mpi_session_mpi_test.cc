// The MPI session's choices for Open MPI, read back through the MPI tool
// information interface (MPI_T) of the running library.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "launch/mpi_session.h"
#include "tests/mpi_test_env.h"

namespace rnnsearch {
namespace {

// The value of an integer or boolean (as 0/1) Open MPI control variable,
// or nullopt when the library does not know it.
std::optional<int> ReadIntCvar(const char* name) {
  int provided = 0;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return std::nullopt;
  std::optional<int> value;
  int index = 0;
  if (MPI_T_cvar_get_index(name, &index) == MPI_SUCCESS) {
    int verbosity = 0, bind = 0, scope = 0, name_len = 0, desc_len = 0;
    MPI_Datatype type = MPI_DATATYPE_NULL;
    MPI_T_enum enum_type;
    MPI_T_cvar_handle handle;
    int count = 0;
    if (MPI_T_cvar_get_info(index, nullptr, &name_len, &verbosity, &type, &enum_type, nullptr,
                            &desc_len, &bind, &scope) == MPI_SUCCESS &&
        MPI_T_cvar_handle_alloc(index, nullptr, &handle, &count) == MPI_SUCCESS) {
      if (count == 1 && type == MPI_INT) {
        int v = 0;
        if (MPI_T_cvar_read(handle, &v) == MPI_SUCCESS) value = v;
      } else if (count == 1 && type == MPI_C_BOOL) {  // Open MPI's bool variables
        bool v = false;
        if (MPI_T_cvar_read(handle, &v) == MPI_SUCCESS) value = v ? 1 : 0;
      }
      MPI_T_cvar_handle_free(&handle);
    }
  }
  MPI_T_finalize();
  return value;
}

TEST(MpiSession, LargeAllreducesUseTheRingAlgorithm) {
  if (!StartedByMpiLauncher()) GTEST_SKIP() << "needs mpiexec (the .npN variants)";
  // The test suite does not set OMPI_MCA_coll_tuned_*: the session's default applies.
  EXPECT_EQ(ReadIntCvar("coll_tuned_use_dynamic_rules"), 1);
  EXPECT_EQ(ReadIntCvar("coll_tuned_allreduce_algorithm"), 4);
  // And the collective still sums correctly with it, also below one element per rank.
  for (std::int64_t n : {1, 3, 100003}) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n), testing::World().rank() + 1);
    testing::World().Allreduce(v.data(), v.size(), ReduceOp::kSum);
    const std::int64_t p = testing::World().size();
    for (std::int64_t x : v) ASSERT_EQ(x, p * (p + 1) / 2) << "n = " << n;
  }
}

}  // namespace
}  // namespace rnnsearch
