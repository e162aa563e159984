// main() for MPI tests: the same bootstrap as the program (MPI when started
// by mpiexec, the single-process stand-in otherwise), every test on every
// rank, and a non-zero exit status on every rank if any rank failed.
#include <gtest/gtest.h>

#include <cstdio>

#include "launch/mpi_session.h"
#include "tests/mpi_test_env.h"

namespace rnnsearch::testing {
Comm* g_test_world = nullptr;
Comm& World() { return *g_test_world; }
}  // namespace rnnsearch::testing

namespace {

// On ranks other than 0: print failed assertions, with the rank, and nothing else.
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                 r.file_name() ? r.file_name() : "?", r.line_number(), r.message());
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result()->Failed()) {
      std::fprintf(stderr, "[rank %d] [  FAILED  ] %s.%s\n", rank_, info.test_suite_name(),
                   info.name());
    }
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  rnnsearch::MpiSession session(&argc, &argv);
  rnnsearch::testing::g_test_world = &session.world();
  ::testing::InitGoogleTest(&argc, argv);
  if (session.world().rank() != 0) {
    // Only rank 0 prints the progress of passing tests; failures print everywhere.
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(session.world().rank()));
  }
  std::int64_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  session.world().Allreduce(&failed, 1, rnnsearch::ReduceOp::kMax);
  return failed != 0 ? 1 : 0;
}
