// The MPI session's choices for Open MPI, read back through the MPI tool
// information interface (MPI_T) of the running library, and the MPI
// communicator's bf16 sum (Comm::AllreduceSumBf16).
#include <gtest/gtest.h>
#include <mpi.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "common/bf16.h"
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

// Rank r's value number i: signs, magnitudes over 2^-12 .. 2^12 and
// mantissas of all bits (so that both the inputs and the sums round), the
// same function on every rank, so each rank can compute the reference.
float Input(int r, std::size_t i) {
  std::uint32_t h =
      static_cast<std::uint32_t>(i) * 2654435761u + static_cast<std::uint32_t>(r) * 40503u + 12345u;
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  const float mantissa = static_cast<float>(h & 0xffffffu) / 16777216.0f + 0.5f;  // [0.5, 1.5)
  const int exponent = static_cast<int>((h >> 24) % 25) - 12;
  return std::ldexp((h & 0x80000000u) ? -mantissa : mantissa, exponent);
}

TEST(MpiComm, Bf16SumIsTheSameOnEveryRankAndMatchesItsArithmetic) {
  Comm& comm = testing::World();
  const int n = comm.size(), me = comm.rank();
  // Fewer elements than ranks (blocks of 0), a count no rank count divides.
  for (const std::size_t count :
       {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{10007}}) {
    for (const int poll_us : {0, 50}) {  // blocking and non-blocking collectives
      std::vector<float> x(count);
      for (std::size_t i = 0; i < count; ++i) x[i] = Input(me, i);
      comm.AllreduceSumBf16(x.data(), count, poll_us, nullptr);
      // The same bits on every rank: rank 0's result broadcast and compared.
      std::vector<float> root = x;
      comm.Broadcast(root.data(), count * sizeof(float), 0);
      // (memcmp of count 0 would pass the empty vectors' null pointers)
      ASSERT_TRUE(count == 0 || std::memcmp(root.data(), x.data(), count * sizeof(float)) == 0)
          << "count " << count << ", poll_us " << poll_us;
      // The bound of common/comm.h for n ranks: n - 1 additions, each
      // rounded to float (2^-24 of the partial sum) and then to bf16 (2^-8
      // of it), after the inputs' rounding to bf16 (2^-8), so every input
      // is scaled by at most n factors of (1 + 2^-7).
      const double rel = std::pow(1.0 + std::ldexp(1.0, -7), n) - 1.0;
      for (std::size_t i = 0; i < count; ++i) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(x[i]) & 0xffffu, 0u) << "not a bf16: " << x[i];
        if (n == 1) {
          ASSERT_EQ(x[i], Bf16ToFloat(FloatToBf16(Input(0, i)))) << i;
        } else if (n == 2) {
          // Exactly one addition, of the two rounded inputs (commutative).
          const float a = Bf16ToFloat(FloatToBf16(Input(0, i)));
          const float b = Bf16ToFloat(FloatToBf16(Input(1, i)));
          ASSERT_EQ(x[i], Bf16ToFloat(FloatToBf16(a + b))) << i;
        } else {
          double sum = 0, abs = 0;
          for (int r = 0; r < n; ++r) {
            sum += Input(r, i);
            abs += std::fabs(Input(r, i));
          }
          ASSERT_LE(std::fabs(x[i] - sum), rel * abs) << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace rnnsearch
