// ops::Embedding against its reference twin on a padded time-major batch
// (lengths 7, 4 and 1), bit-reproducibility of the gradient across thread
// counts, finite differences of the reference, and that Backward adds.
#include "ops/embedding.h"

#include <gtest/gtest.h>

#include <vector>

#include "ops/embedding_ref.h"
#include "tests/ops/check.h"

namespace rnnsearch::ops {
namespace {

using testing::PaddedTimeMajorIds;
using testing::RandomVector;

constexpr int kT = 7, kVocab = 11, kDim = 5;
const std::vector<int> kLengths = {7, 4, 1};

TEST(Embedding, ForwardMatchesReference) {
  Context ctx(2);
  const auto ids = PaddedTimeMajorIds(kLengths, kT, kVocab, 1);
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  const auto table = RandomVector<float>(kVocab * kDim, 2);
  Embedding op(ctx, kVocab, kDim);
  std::vector<float> out(static_cast<std::size_t>(n * kDim), -9.f), want(out.size());
  op.Forward(out.data(), ids.data(), table.data(), n);
  ref::EmbeddingForward(want.data(), ids.data(), table.data(), n, kDim);
  EXPECT_EQ(out, want);  // a copy: exact
}

TEST(Embedding, BackwardMatchesReferenceExactly) {
  Context ctx(2);
  const auto ids = PaddedTimeMajorIds(kLengths, kT, kVocab, 3);
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  const auto dout = RandomVector<float>(static_cast<std::size_t>(n * kDim), 4);
  const auto dtable0 = RandomVector<float>(kVocab * kDim, 5);
  Embedding op(ctx, kVocab, kDim);
  std::vector<float> dtable = dtable0, want = dtable0;
  op.Backward(dtable.data(), dout.data(), ids.data(), n);
  ref::EmbeddingBackward(want.data(), dout.data(), ids.data(), n, kDim);
  // Same accumulation order as the serial loop: bit-identical.
  EXPECT_EQ(dtable, want);
  for (int j = 0; j < kDim; ++j) EXPECT_EQ(dtable[j], dtable0[j]) << "<pad> row got a gradient";
  EXPECT_NE(dtable, dtable0);
}

TEST(Embedding, BackwardIsIdenticalForAnyThreadCount) {
  const std::int64_t vocab = 50, dim = 72;  // 5 cache lines, the last one partial
  std::vector<int> lengths(16);
  for (std::size_t b = 0; b < lengths.size(); ++b) lengths[b] = 1 + static_cast<int>(b % 9);
  const auto ids = PaddedTimeMajorIds(lengths, 9, static_cast<int>(vocab), 6);
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  const auto dout = RandomVector<float>(static_cast<std::size_t>(n * dim), 7);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    Context ctx(threads);
    Embedding op(ctx, vocab, dim);
    std::vector<float> dtable(static_cast<std::size_t>(vocab * dim), 0.f);
    op.Backward(dtable.data(), dout.data(), ids.data(), n);
    results.push_back(dtable);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(Embedding, BackwardAdds) {
  Context ctx(1);
  const auto ids = PaddedTimeMajorIds(kLengths, kT, kVocab, 8);
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  const auto dout = RandomVector<float>(static_cast<std::size_t>(n * kDim), 9);
  Embedding op(ctx, kVocab, kDim);
  std::vector<float> once(kVocab * kDim, 0.f);
  op.Backward(once.data(), dout.data(), ids.data(), n);
  std::vector<float> twice = once;
  op.Backward(twice.data(), dout.data(), ids.data(), n);
  std::vector<double> doubled(once.begin(), once.end());
  for (double& v : doubled) v *= 2;
  // Repeated ids make `once` a sum, so twice = (a + b) + a + b is 2 (a + b)
  // up to rounding.
  testing::ExpectAllClose(twice, doubled, testing::SumTolerance(2 * n), "dtable");
  EXPECT_NE(once, std::vector<float>(once.size(), 0.f));
}

// L = sum over real positions of R .* out (the model masks padded
// positions, so the <pad> row's lookups never reach the loss).
TEST(Embedding, ReferenceGradientMatchesFiniteDifferences) {
  const auto ids = PaddedTimeMajorIds(kLengths, kT, kVocab, 10);
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  auto table = RandomVector<double>(kVocab * kDim, 11);
  auto R = RandomVector<double>(static_cast<std::size_t>(n * kDim), 12);
  for (std::int64_t i = 0; i < n; ++i) {
    if (ids[static_cast<std::size_t>(i)] == 0) {
      for (int j = 0; j < kDim; ++j) R[static_cast<std::size_t>(i * kDim + j)] = 0;
    }
  }
  std::vector<double> out(static_cast<std::size_t>(n * kDim));
  auto loss = [&] {
    ref::EmbeddingForward(out.data(), ids.data(), table.data(), n, kDim);
    double l = 0;
    for (std::size_t i = 0; i < out.size(); ++i) l += R[i] * out[i];
    return l;
  };
  std::vector<double> grad(table.size(), 0.0);
  ref::EmbeddingBackward(grad.data(), R.data(), ids.data(), n, kDim);
  testing::ExpectAllClose(grad, testing::NumericGradient(table, loss), 1e-8, "dtable");
}

}  // namespace
}  // namespace rnnsearch::ops
