#include "trainer/dist/grad_sync.h"

#include <array>
#include <cmath>
#include <utility>

#include "common/log.h"
#include "trainer/dist/embedding_rows.h"
#include "trainer/dist/grad_sync_overlap.h"
#include "trainer/dist/grad_sync_shm.h"

namespace rnnsearch {
namespace {

class LocalGradSync final : public GradSync {
 public:
  GradReadyFn BeginLastBackward(ParamSet&) override { return {}; }
  void Finish(ParamSet&, StepTotals&) override {}
};

class AllreduceGradSync final : public GradSync {
 public:
  AllreduceGradSync(Comm& comm, WireDtype wire, bool sparse_embeddings)
      : comm_(comm), wire_(wire), rows_(comm, sparse_embeddings, wire) {}
  void SetTouchedRows(EmbeddingRows rows) override { rows_.SetRows(std::move(rows)); }
  GradReadyFn BeginLastBackward(ParamSet&) override { return {}; }
  void Finish(ParamSet& grads, StepTotals& totals) override {
    // The buffer but the ranges of rows_ (those are in buffer order), in
    // one allreduce per gap between them. The padding between tensors is
    // zero on every rank and stays zero (zero is exact in bf16 too).
    rows_.Plan(grads);
    std::int64_t begin = 0;
    auto reduce_to = [&](std::int64_t end) {
      if (end > begin) {
        AllreduceGradients(comm_, wire_, grads.data() + begin,
                           static_cast<std::size_t>(end - begin));
      }
    };
    for (const auto& [offset, count] : rows_.ranges()) {
      reduce_to(offset);
      begin = offset + count;
    }
    reduce_to(static_cast<std::int64_t>(grads.size()));
    rows_.Reduce(grads);
    AllreduceTotals(comm_, totals);
  }

 private:
  Comm& comm_;
  const WireDtype wire_;
  EmbeddingRowSync rows_;
};

}  // namespace

void AllreduceTotals(Comm& comm, StepTotals& totals) {
  std::array<double, 5> v = {
      totals.loss, static_cast<double>(totals.tgt_tokens), static_cast<double>(totals.src_tokens),
      static_cast<double>(totals.stop_signal), static_cast<double>(totals.stop_time)};
  comm.Allreduce(v.data(), v.size(), ReduceOp::kSum);
  totals.loss = v[0];
  totals.tgt_tokens = std::llround(v[1]);
  totals.src_tokens = std::llround(v[2]);
  totals.stop_signal = std::llround(v[3]);
  totals.stop_time = std::llround(v[4]);
}

std::unique_ptr<GradSync> MakeLocalGradSync() { return std::make_unique<LocalGradSync>(); }

std::unique_ptr<GradSync> MakeAllreduceGradSync(Comm& comm, WireDtype wire,
                                                bool sparse_embeddings) {
  return std::make_unique<AllreduceGradSync>(comm, wire, sparse_embeddings);
}

bool UseOverlappedSync(OverlapMode overlap, int ranks, int ranks_on_this_node) {
  if (overlap == OverlapMode::kAuto) return ranks_on_this_node < ranks;
  return overlap == OverlapMode::kOn;
}

std::unique_ptr<GradSync> MakeGradSync(Comm& comm, const DistConfig& dist) {
  if (comm.size() == 1) return MakeLocalGradSync();
  const OverlapMode overlap = ChoiceValue<OverlapMode>(dist.overlap);
  const WireDtype wire = ChoiceValue<WireDtype>(dist.wire_dtype);
  if (!UseOverlappedSync(overlap, comm.size(), comm.local_size())) {
    const std::string why =
        overlap == OverlapMode::kAuto
            ? "dist.overlap: auto, all ranks on one node, where the copies and sums of an "
              "allreduce take the cores the backward pass computes on"
            : "dist.overlap: false";
    if (dist.shared_memory && comm.local_size() == comm.size()) {
      RNN_LOG(kInfo) << "gradient sync: blocking, each rank sums its slice of the ranks' "
                        "gradients in shared memory after the backward pass ("
                     << why << "; dist.shared_memory: true; no wire: f32 sums, dist.wire_dtype "
                     << dist.wire_dtype << " does not apply)";
      return std::make_unique<SharedMemoryGradSync>(comm);
    }
    RNN_LOG(kInfo) << "gradient sync: blocking, one allreduce of the gradient after the "
                      "backward pass ("
                   << why << "; wire dtype " << dist.wire_dtype << ")";
    return MakeAllreduceGradSync(comm, wire, dist.sparse_embeddings);
  }
  return std::make_unique<OverlapGradSync>(comm, BucketFloats(dist.bucket_mb),
                                           static_cast<int>(dist.comm_poll_us), wire,
                                           dist.sparse_embeddings);
}

}  // namespace rnnsearch
