// DecoderStep (trainer/decode/decoder_step.h).
#include "trainer/decode/decoder_step.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "trainer/model/model_params.h"

namespace rnnsearch {

struct DecoderStep::Ops {
  ops::AttentionDecode att;
  ops::DecoderCellDecode cell;
  ops::ReadoutLoss readout;
};

namespace {

template <class T>
T* Grow(std::vector<T>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

}  // namespace

DecoderStep::DecoderStep(ops::Context& ctx, const ModelDims& dims, int rows_per_sentence)
    : ctx_(ctx), d_(dims), rows_per_sentence_(rows_per_sentence) {
  assert(rows_per_sentence >= 1);
}

DecoderStep::~DecoderStep() = default;

void DecoderStep::Reserve(int B, int Tx) {
  if (ops_ != nullptr && B <= cap_batch_ && Tx <= cap_src_) return;
  cap_batch_ = std::max(cap_batch_, B);
  cap_src_ = std::max(cap_src_, Tx);
  const int rows = cap_batch_ * rows_per_sentence_;
  const ops::AttentionDims ad{.steps = 0,
                              .src_len = cap_src_,
                              .batch = cap_batch_,
                              .ctx_dim = static_cast<int>(2 * d_.He),
                              .dec_dim = static_cast<int>(d_.Hd),
                              .att_dim = static_cast<int>(d_.A)};
  const ops::DecoderCellDims cd{.steps = 0,
                                .batch = rows,
                                .emb_dim = static_cast<int>(d_.E),
                                .ctx_dim = static_cast<int>(2 * d_.He),
                                .dec_dim = static_cast<int>(d_.Hd)};
  const ops::ReadoutShape rs{.max_rows = rows,
                             .dec = d_.Hd,
                             .ctx = 2 * d_.He,
                             .emb = d_.E,
                             .readout = d_.O,
                             .vocab = d_.Vt,
                             .training = false};
  ops_.reset();  // free the old ones first
  ops_.reset(new Ops{ops::AttentionDecode(ctx_, AttentionOf(d_), ad, rows),
                     ops::DecoderCellDecode(ctx_, CellOf(d_), cd), ops::ReadoutLoss(ctx_, rs)});
}

void DecoderStep::Start(Model& encoder, const ParamSet& params, const std::int32_t* src,
                        const std::int32_t* src_len, int B, int Tx) {
  assert(B >= 1 && Tx >= 1);
  Reserve(B, Tx);
  const std::int64_t rows = std::int64_t{B} * rows_per_sentence_, C = 2 * d_.He, Hd = d_.Hd;
  Grow(h_, std::int64_t{Tx} * B * C);
  Grow(s_, rows * Hd);
  Grow(s_next_, rows * Hd);
  if (d_.lstm) {
    Grow(mem_, rows * Hd);
    Grow(mem_next_, rows * Hd);
  }
  Grow(y_emb_, rows * d_.E);
  Grow(context_, rows * C);
  Grow(alpha_, rows * Tx);
  Grow(logp_, rows * d_.Vt);
  src_len_.assign(src_len, src_len + B);
  ap_ = AttentionParams<float>(params);
  cp_ = DecoderCellParams<float>(params);
  rp_ = ReadoutParamsOf(params);
  tgt_embed_ = params.Get("tgt_embed.weight");
  encoder.Encode(h_.data(), s_.data(), params, src, src_len, B, Tx);  // H, s_0
  ops_->att.SetSource(h_.data(), Tx, B, ap_);
  if (d_.lstm) std::fill(mem_.begin(), mem_.begin() + std::int64_t{B} * Hd, 0.0f);
}

void DecoderStep::Run(const std::int32_t* prev, const int* src_of, int n) {
  const std::int64_t E = d_.E;
  float* y = y_emb_.data();
  const float* table = tgt_embed_;
#pragma omp parallel for schedule(static) if (std::int64_t{n} * E >= kParallelFloats)
  for (int r = 0; r < n; ++r) {
    std::memcpy(y + std::int64_t{r} * E, table + std::int64_t{prev[r]} * E, sizeof(float) * E);
  }
  float* mem = d_.lstm ? mem_.data() : nullptr;
  float* mem_next = d_.lstm ? mem_next_.data() : nullptr;
  ops_->att.Step(context_.data(), alpha_.data(), s_.data(), src_of, n, h_.data(), src_len_.data(),
                 ap_);
  ops_->cell.Step(s_next_.data(), mem_next, y, context_.data(), s_.data(), mem, n, cp_);
  ops_->readout.LogProbs(logp_.data(), s_next_.data(), context_.data(), y, rp_, n);
}

void DecoderStep::Keep(const int* from, int m) {
  const std::int64_t Hd = d_.Hd;
  float* s = s_.data();
  const float* s_next = s_next_.data();
  float* mem = d_.lstm ? mem_.data() : nullptr;
  const float* mem_next = d_.lstm ? mem_next_.data() : nullptr;
#pragma omp parallel for schedule(static) if (std::int64_t{m} * Hd >= kParallelFloats)
  for (int r = 0; r < m; ++r) {
    const std::int64_t at = std::int64_t{from[r]} * Hd;
    std::memcpy(s + std::int64_t{r} * Hd, s_next + at, sizeof(float) * Hd);
    if (mem != nullptr) std::memcpy(mem + std::int64_t{r} * Hd, mem_next + at, sizeof(float) * Hd);
  }
}

void DecoderStep::FreeBuffers() {
  for (std::vector<float>* v :
       {&h_, &s_, &s_next_, &mem_, &mem_next_, &y_emb_, &context_, &alpha_, &logp_}) {
    std::vector<float>().swap(*v);
  }
}

}  // namespace rnnsearch
