// The greedy decoder (trainer/decode/greedy.h) against the training model: every
// token it emits must be the one that minimises the teacher-forced loss of
// the prefix it decoded (Model::Evaluate, a separate code path: the
// training ops instead of the decoding ops), for every cell and attention.
#include "trainer/decode/greedy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "io/vocab.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/model/model.h"

namespace rnnsearch {
namespace {

using testing::AllVariants;
using testing::MakeBatch;
using testing::RandomParams;
using testing::TinyDims;

// One sentence with source ids src (ending with </s>) and target ids tgt.
Batch OneSentence(const std::vector<std::int32_t>& src, const std::vector<std::int32_t>& tgt) {
  Batch b;
  b.size = 1;
  b.src_steps = static_cast<std::int32_t>(src.size());
  b.tgt_steps = static_cast<std::int32_t>(tgt.size());
  b.src = src;
  b.tgt = tgt;
  b.src_len = {b.src_steps};
  b.tgt_len = {b.tgt_steps};
  b.global_sentences = 1;
  b.global_src_tokens = b.src_steps;
  b.global_tgt_tokens = b.tgt_steps;
  return b;
}

TEST(Greedy, EachTokenIsTheTeacherForcedArgmax) {
  int checked = 0, skipped = 0;
  for (const auto& v : AllVariants()) {
    SCOPED_TRACE(v.Name());
    const ModelDims d = TinyDims(v);
    ParamSet params(d);
    RandomParams(params, 17, 0.8);
    ops::Context ctx(1);
    Model model(ctx, d, ModelOptions{});
    GreedyDecoder greedy(ctx, model, GreedyOptions{.max_len_ratio = 1.0, .max_len_extra = 3});
    const Batch batch = MakeBatch({5, 2, 7, 4}, {1, 1, 1, 1}, d, 23);
    const auto out = greedy.Translate(params, batch.src.data(), batch.src_len.data(), batch.size,
                                      batch.src_steps);
    ASSERT_EQ(out.size(), 4u);
    for (int b = 0; b < batch.size; ++b) {
      const int len = batch.src_len[static_cast<std::size_t>(b)];
      std::vector<std::int32_t> src;
      for (int t = 0; t < len; ++t)
        src.push_back(batch.src[static_cast<std::size_t>(t * batch.size + b)]);
      std::vector<std::int32_t> y = out[static_cast<std::size_t>(b)];
      const int limit = len + 3;
      ASSERT_LE(static_cast<int>(y.size()), limit);
      for (std::int32_t id : y) {
        EXPECT_NE(id, Vocab::kEos);
        EXPECT_NE(id, Vocab::kPad);
        EXPECT_NE(id, Vocab::kBos);
      }
      if (static_cast<int>(y.size()) < limit) y.push_back(Vocab::kEos);  // it stopped at </s>
      for (std::size_t i = 0; i < y.size(); ++i) {
        // The loss of y_1..y_{i-1}, k for every candidate k: its prefix
        // part is the same for all k, so the argmin is the greedy choice.
        std::vector<double> loss(static_cast<std::size_t>(d.Vt),
                                 std::numeric_limits<double>::infinity());
        for (std::int32_t k = 1; k < d.Vt; ++k) {
          if (k == Vocab::kBos) continue;
          std::vector<std::int32_t> tgt(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(i));
          tgt.push_back(k);
          loss[static_cast<std::size_t>(k)] = model.Evaluate(params, OneSentence(src, tgt)).loss;
        }
        std::vector<double> sorted = loss;
        std::sort(sorted.begin(), sorted.end());
        // Skip near ties: the decoding ops and the training ops round
        // differently, each within a one-pair batch's rounding.
        const double tie = 2 * testing::ScoreBound(d, src.size() + 1, i + 1, sorted[0]);
        if (sorted[1] - sorted[0] < tie) {
          ++skipped;
          continue;
        }
        const auto best = std::min_element(loss.begin(), loss.end()) - loss.begin();
        EXPECT_EQ(best, y[i]) << "sentence " << b << " position " << i;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 50);
  EXPECT_LT(skipped, checked / 10 + 1);
}

TEST(Greedy, LengthLimitAndBestToken) {
  const ModelDims d = TinyDims({});
  ParamSet params(d);
  RandomParams(params, 5, 0.8);
  ops::Context ctx(1);
  Model model(ctx, d, ModelOptions{});
  GreedyDecoder greedy(ctx, model, GreedyOptions{.max_len_ratio = 0.0, .max_len_extra = 2});
  const Batch batch = MakeBatch({3, 6}, {1, 1}, d, 3);
  for (const auto& y :
       greedy.Translate(params, batch.src.data(), batch.src_len.data(), 2, batch.src_steps)) {
    EXPECT_LE(y.size(), 2u);
  }
  // <pad> and <s> are never chosen, ties go to the lowest id.
  const float row[6] = {9, 1, 9, 5, 5, 2};
  EXPECT_EQ(BestToken(row, 6), 3);
  const float unk[4] = {9, 7, 9, 6};
  EXPECT_EQ(BestToken(unk, 4), 1);
}

// A larger batch than the decoder has seen grows its ops; the results for
// the first sentences stay those of the smaller batch.
TEST(Greedy, GrowingBatchesGiveTheSameTranslations) {
  const ModelDims d = TinyDims({"lstm", "general", 1, false});
  ParamSet params(d);
  RandomParams(params, 9, 0.8);
  ops::Context ctx(1);
  Model model(ctx, d, ModelOptions{});
  GreedyDecoder greedy(ctx, model);
  const Batch small = MakeBatch({4, 3}, {1, 1}, d, 31);
  const auto a =
      greedy.Translate(params, small.src.data(), small.src_len.data(), 2, small.src_steps);
  GreedyDecoder fresh(ctx, model);
  const auto b =
      fresh.Translate(params, small.src.data(), small.src_len.data(), 2, small.src_steps);
  EXPECT_EQ(a, b);
  const Batch big = MakeBatch({4, 3, 9, 8, 2}, {1, 1, 1, 1, 1}, d, 77);
  const auto c = greedy.Translate(params, big.src.data(), big.src_len.data(), 5, big.src_steps);
  EXPECT_EQ(c.size(), 5u);
  const auto again =
      greedy.Translate(params, small.src.data(), small.src_len.data(), 2, small.src_steps);
  EXPECT_EQ(a, again);
}

}  // namespace
}  // namespace rnnsearch
