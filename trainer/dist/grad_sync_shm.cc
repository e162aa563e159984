#include "trainer/dist/grad_sync_shm.h"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "common/log.h"
#include "trainer/dist/shm_segment.h"
#include "trainer/optim/buffer_loops.h"
#include "trainer/optim/optimizer.h"

namespace rnnsearch {

SharedMemoryGradSync::SharedMemoryGradSync(Comm& comm, std::size_t max_segment_bytes)
    : comm_(comm), max_segment_bytes_(max_segment_bytes) {}

SharedMemoryGradSync::~SharedMemoryGradSync() = default;

void SharedMemoryGradSync::Create(std::size_t floats) {
  const int n = comm_.size();
  grads_ = ShmSegment::Create(comm_, floats, static_cast<std::size_t>(n), 0, max_segment_bytes_,
                              "the " + std::to_string(n) + " gradient buffers", fallback_reason_);
  if (grads_ == nullptr) {
    if (comm_.rank() == 0) {
      RNN_LOG(kWarn) << "gradient sync: all ranks use one blocking MPI allreduce of the whole "
                        "gradient instead";
    }
    // Whole: this sync does not take the touched rows (SetTouchedRows).
    fallback_ = MakeAllreduceGradSync(comm_, WireDtype::kF32, false);
    return;
  }
  const std::int64_t chunks = buffer_loops::NumChunks(floats);
  first_chunk_ = chunks * comm_.rank() / n;
  last_chunk_ = chunks * (comm_.rank() + 1) / n;
}

void SharedMemoryGradSync::Adopt(ParamSet& grads) {
  if (grads_ == nullptr && fallback_ == nullptr) Create(grads.size());
  if (fallback_ != nullptr) return;
  float* mine = grads_->buffers[static_cast<std::size_t>(comm_.rank())];
  if (grads.data() == mine) return;
  if (grads.size() != grads_->floats) {
    throw std::logic_error("internal error: the shared-memory gradient sync was set up for " +
                           std::to_string(grads_->floats) + " floats, got a buffer of " +
                           std::to_string(grads.size()));
  }
  grads.MoveTo(mine, grads_);
}

bool SharedMemoryGradSync::ShareState(const std::vector<ParamSet*>& buffers) {
  if (buffers.empty() || state_ != nullptr) return state_ != nullptr;
  const std::size_t floats = buffers.front()->size();
  for (const ParamSet* b : buffers) {
    if (b->size() != floats) {
      throw std::logic_error("internal error: ShareState got buffers of different sizes");
    }
  }
  if (grads_ == nullptr && fallback_ == nullptr) Create(floats);
  if (fallback_ != nullptr) return false;
  std::string reason;
  auto seg = ShmSegment::Create(comm_, floats, buffers.size(),
                                static_cast<std::size_t>(buffer_loops::NumChunks(floats)),
                                max_segment_bytes_, "the shared training state", reason);
  if (seg == nullptr) {
    if (comm_.rank() == 0) {
      RNN_LOG(kWarn) << "gradient sync: every rank keeps and updates its own copy of the "
                        "parameters and the optimizer's state instead";
    }
    return false;
  }
  if (comm_.rank() == 0) {
    for (std::size_t k = 0; k < buffers.size(); ++k) buffers[k]->MoveTo(seg->buffers[k], seg);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  comm_.Barrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (comm_.rank() != 0) {
    for (std::size_t k = 0; k < buffers.size(); ++k) {
      buffers[k]->MoveTo(seg->buffers[k], seg, /*copy=*/false);
    }
  }
  state_ = std::move(seg);
  if (comm_.rank() == 0) {
    RNN_LOG(kInfo) << "gradient sync: the parameters and the optimizer's state (" << buffers.size()
                   << " buffers of " << (floats * sizeof(float)) / 1048576.0
                   << " MB) are one copy in shared memory; each of the " << comm_.size()
                   << " ranks sums and updates 1/" << comm_.size() << " of them";
  }
  return true;
}

GradReadyFn SharedMemoryGradSync::BeginLastBackward(ParamSet& grads) {
  Adopt(grads);
  return fallback_ != nullptr ? fallback_->BeginLastBackward(grads) : GradReadyFn{};
}

void SharedMemoryGradSync::ReduceSlice() {
  const std::vector<float*>& b = grads_->buffers;
  const std::size_t n = b.size(), total = grads_->floats;
  float* const own = b[static_cast<std::size_t>(comm_.rank())];
  double* const partial = state_ != nullptr ? state_->extra : nullptr;
#pragma omp parallel
  {
    std::vector<float> tmp(n > 2 ? buffer_loops::kChunk : 0);
#pragma omp for schedule(static)
    for (std::int64_t c = first_chunk_; c < last_chunk_; ++c) {
      const std::size_t begin = static_cast<std::size_t>(c) * buffer_loops::kChunk;
      const std::size_t len = std::min(total, begin + buffer_loops::kChunk) - begin;
      // own[begin, +len) = ((b_0 + b_1) + b_2) + ...: in place for 2 ranks
      // (b_0 + b_1 is b_1 + b_0), through a chunk of scratch for more.
      if (n == 2) {
        const float* __restrict x0 = b[0] + begin;
        const float* __restrict x1 = b[1] + begin;
        float* __restrict y = own + begin;
#pragma omp simd
        for (std::size_t i = 0; i < len; ++i) y[i] = x0[i] + x1[i];
      } else if (n > 2) {
        float* __restrict y = tmp.data();
        std::memcpy(y, b[0] + begin, len * sizeof(float));
        for (std::size_t k = 1; k < n; ++k) {
          const float* __restrict x = b[k] + begin;
#pragma omp simd
          for (std::size_t i = 0; i < len; ++i) y[i] += x[i];
        }
        std::memcpy(own + begin, y, len * sizeof(float));
      }
      if (partial != nullptr) {
        // Only this rank's buffer gets the sum: the update reads it there.
        partial[c] = ChunkSumOfSquares(own, begin, begin + len);
      } else {
        for (float* other : b) {
          if (other != own) std::memcpy(other + begin, own + begin, len * sizeof(float));
        }
      }
    }
  }
}

void SharedMemoryGradSync::Finish(ParamSet& grads, StepTotals& totals) {
  Adopt(grads);
  if (fallback_ != nullptr) return fallback_->Finish(grads, totals);
  // Every rank's backward pass has ended: its buffer is final.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  comm_.Barrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  ReduceSlice();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // No rank leaves this before every rank has entered it, that is, has
  // summed its slice.
  AllreduceTotals(comm_, totals);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (state_ != nullptr) {
    // SumOfSquares' order: chunk by chunk.
    const std::int64_t chunks = buffer_loops::NumChunks(grads_->floats);
    double s = 0.0;
    for (std::int64_t c = 0; c < chunks; ++c) s += state_->extra[c];
    sum_of_squares_ = s;
  }
}

UpdatePart SharedMemoryGradSync::Part() const {
  if (state_ == nullptr) return {};
  UpdatePart part;
  part.range = {first_chunk_, last_chunk_};
  part.grad_sum_of_squares = sum_of_squares_;
  return part;
}

void SharedMemoryGradSync::EndUpdate() {
  if (state_ == nullptr) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  comm_.Barrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace rnnsearch
