#include "trainer/dist/grad_sync_overlap.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/clock.h"
#include "common/log.h"

namespace rnnsearch {
namespace {

double Mb(std::int64_t floats) {
  return std::round(static_cast<double>(floats) * sizeof(float) / 1048576.0 * 1000.0) / 1000.0;
}

std::string RangeText(std::int64_t offset, std::int64_t count) {
  return "[" + std::to_string(offset) + ", " + std::to_string(offset + count) + ")";
}

}  // namespace

BucketPlan PlanBuckets(
    const std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>>& stages,
    std::int64_t cap) {
  BucketPlan plan;
  for (const auto& stage : stages) {
    for (const auto& r : stage) {
      if (r.second > 0) plan.ranges.push_back(r);
    }
  }
  GradBucket open;
  bool is_open = false;
  for (std::size_t k = 0; k < plan.ranges.size(); ++k) {
    const auto [offset, count] = plan.ranges[k];
    const bool touches =
        is_open && (offset + count == open.offset || open.offset + open.count == offset);
    if (touches && cap > 0 && open.count + count <= cap) {
      open.offset = std::min(open.offset, offset);
      open.count += count;
      open.last_range = static_cast<int>(k);
      continue;
    }
    if (is_open) plan.buckets.push_back(open);
    open = GradBucket{offset, count, static_cast<int>(k)};
    is_open = true;
  }
  if (is_open) plan.buckets.push_back(open);
  return plan;
}

std::int64_t BucketFloats(double bucket_mb) {
  return static_cast<std::int64_t>(std::llround(bucket_mb * 1048576.0 / sizeof(float)));
}

OverlapGradSync::OverlapGradSync(Comm& comm, std::int64_t bucket_floats, int poll_us,
                                 WireDtype wire, bool sparse_embeddings)
    : comm_(comm),
      bucket_floats_(bucket_floats),
      poll_us_(poll_us),
      wire_(wire),
      rows_(comm, sparse_embeddings, wire),
      thread_([this] { Loop(); }) {}

OverlapGradSync::~OverlapGradSync() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void OverlapGradSync::EnsurePlan(ParamSet& grads) {
  if (!plan_.buckets.empty()) return;
  rows_.Plan(grads);
  auto stages = GradientReadyStages(grads);
  for (auto& stage : stages) {
    std::erase_if(stage, [&](const std::pair<std::int64_t, std::int64_t>& r) {
      return std::ranges::find(rows_.ranges(), r) != rows_.ranges().end();
    });
  }
  plan_ = PlanBuckets(stages, bucket_floats_);
  size_ = grads.size();
  std::int64_t largest = 0;
  for (const GradBucket& b : plan_.buckets) largest = std::max(largest, b.count);
  RNN_LOG(kInfo) << "gradient sync: overlapped, " << plan_.buckets.size() << " buckets (largest "
                 << Mb(largest) << " MB, cap dist.bucket_mb " << Mb(bucket_floats_)
                 << " MB) of the " << Mb(static_cast<std::int64_t>(size_))
                 << " MB gradient, all-reduced on a communication thread during the backward "
                    "pass ("
                 << (poll_us_ > 0 ? "polled every " + std::to_string(poll_us_) + " us"
                                  : std::string("blocking waits"))
                 << "; wire dtype " << ChoiceName(wire_) << ")";
}

GradReadyFn OverlapGradSync::BeginLastBackward(ParamSet& grads) {
  if (next_range_ != 0 || next_bucket_ != 0) {
    throw std::logic_error(
        "internal error: OverlapGradSync::BeginLastBackward called twice "
        "in one step (without Finish)");
  }
  EnsurePlan(grads);
  if (grads.size() != size_) {
    throw std::logic_error("internal error: OverlapGradSync used with gradient buffers of " +
                           std::to_string(size_) + " and " + std::to_string(grads.size()) +
                           " floats");
  }
  data_ = grads.data();
  return [this](std::int64_t offset, std::int64_t count) { OnReady(offset, count); };
}

void OverlapGradSync::OnReady(std::int64_t offset, std::int64_t count) {
  if (count == 0) return;
  if (std::ranges::find(rows_.ranges(), std::make_pair(offset, count)) != rows_.ranges().end()) {
    return;  // an embedding table: Finish sums it
  }
  const auto& ranges = plan_.ranges;
  if (next_range_ >= static_cast<int>(ranges.size()) ||
      ranges[static_cast<std::size_t>(next_range_)] != std::make_pair(offset, count)) {
    throw std::logic_error("internal error: the model reported gradient range " +
                           RangeText(offset, count) + " final, the bucket plan expects " +
                           (next_range_ < static_cast<int>(ranges.size())
                                ? RangeText(ranges[static_cast<std::size_t>(next_range_)].first,
                                            ranges[static_cast<std::size_t>(next_range_)].second)
                                : std::string("no more ranges")));
  }
  ++next_range_;
  int n = next_bucket_;
  const int total = static_cast<int>(plan_.buckets.size());
  while (n < total && plan_.buckets[static_cast<std::size_t>(n)].last_range < next_range_) ++n;
  if (n > next_bucket_) {
    Post(n);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.backward_posted += n - next_bucket_;
  }
  next_bucket_ = n;
}

void OverlapGradSync::Post(int buckets) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets <= posted_) return;
    posted_ = buckets;
  }
  cv_.notify_all();
}

void OverlapGradSync::Finish(ParamSet& grads, StepTotals& totals) {
  EnsurePlan(grads);
  if (next_range_ != 0 && data_ != grads.data()) {
    throw std::logic_error(
        "internal error: OverlapGradSync::Finish got another gradient buffer "
        "than BeginLastBackward");
  }
  if (grads.size() != size_) {
    throw std::logic_error("internal error: OverlapGradSync used with gradient buffers of " +
                           std::to_string(size_) + " and " + std::to_string(grads.size()) +
                           " floats");
  }
  data_ = grads.data();
  const int total = static_cast<int>(plan_.buckets.size());
  const double t0 = Now();
  hurry_.store(true, std::memory_order_release);  // the backward pass is over: no more sleeping
  Post(total);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ == total; });
    posted_ = done_ = 0;
    hurry_.store(false, std::memory_order_release);  // the thread is idle until the next Post
    std::swap(error, error_);
  }
  next_range_ = next_bucket_ = 0;
  const double t1 = Now();
  if (error) std::rethrow_exception(error);
  rows_.Reduce(grads);
  AllreduceTotals(comm_, totals);
  const double t2 = Now();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.steps += 1;
  stats_.wait_seconds += t1 - t0;
  stats_.totals_seconds += t2 - t1;
}

OverlapSyncStats OverlapGradSync::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void OverlapGradSync::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || done_ < posted_; });
    if (done_ == posted_) return;  // stopping, nothing in flight
    const GradBucket b = plan_.buckets[static_cast<std::size_t>(done_)];
    float* data = data_;
    const bool skip = error_ != nullptr;  // after a failure only count the rest
    lock.unlock();
    const double t0 = Now();
    std::exception_ptr error;
    if (!skip) {
      try {
        AllreduceGradients(comm_, wire_, data + b.offset, static_cast<std::size_t>(b.count),
                           poll_us_, &hurry_);
      } catch (...) {
        error = std::current_exception();
      }
    }
    const double dt = Now() - t0;
    lock.lock();
    if (error) error_ = error;
    ++done_;
    stats_.buckets += 1;
    stats_.bytes += static_cast<double>(b.count) *
                    (wire_ == WireDtype::kBf16 ? sizeof(std::uint16_t) : sizeof(float));
    stats_.comm_seconds += dt;
    cv_.notify_all();
  }
}

}  // namespace rnnsearch
