#include "common/comm.h"

#include <cstdlib>

#include "common/bf16.h"

namespace rnnsearch {

void Comm::BroadcastString(std::string& s, int root) {
  std::uint64_t n = s.size();
  Broadcast(&n, sizeof n, root);
  s.resize(n);
  if (n > 0) Broadcast(s.data(), n, root);
}

namespace {

class LocalComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  void Barrier() override {}
  void Broadcast(void*, std::size_t, int) override {}
  void Allreduce(double*, std::size_t, ReduceOp) override {}
  void Allreduce(float*, std::size_t, ReduceOp) override {}
  void Allreduce(std::int64_t*, std::size_t, ReduceOp) override {}
  void AllreduceSumBf16(float* data, std::size_t count, int, const std::atomic<bool>*) override {
    for (std::size_t i = 0; i < count; ++i) data[i] = Bf16ToFloat(FloatToBf16(data[i]));
  }
  std::vector<std::int32_t> Allgather(const std::vector<std::int32_t>& mine,
                                      std::vector<int>* counts) override {
    if (counts != nullptr) counts->assign(1, static_cast<int>(mine.size()));
    return mine;
  }
  [[noreturn]] void Abort(int code) override { std::_Exit(code); }
};

}  // namespace

std::unique_ptr<Comm> MakeLocalComm() { return std::make_unique<LocalComm>(); }

}  // namespace rnnsearch
