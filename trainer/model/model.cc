// The model's step: the decoder loop, the readout and the backward pass
// (the encoder side is in model_encoder.cc).
#include "trainer/model/model.h"

#include <algorithm>
#include <cassert>

#include "trainer/model/model_params.h"
#include "trainer/model/model_parts.h"

namespace rnnsearch {
namespace {

constexpr std::int32_t kBos = 2;  // <s>, docs/model.md's y_0

}  // namespace

Model::Model(ops::Context& ctx, const ModelDims& dims, const ModelOptions& options)
    : ctx_(ctx),
      dims_(dims),
      options_(options),
      src_embed_(ctx, dims.Vs, dims.E),
      tgt_embed_(ctx, dims.Vt, dims.E),
      init_(ctx, {.in = 2 * dims.He, .out = dims.Hd, .activation = ops::Activation::kTanh}),
      encoders_(static_cast<std::size_t>(options.shape_cache)),
      decoders_(static_cast<std::size_t>(options.shape_cache)),
      buf_(std::make_unique<Buffers>()) {
  assert(options.dropout >= 0.0f && options.dropout < 1.0f);
  assert(options.readout_rows >= 1 && options.shape_cache >= 1);
  assert(dims.attention != AttentionScore::kDot || dims.Hd == 2 * dims.He);
  assert(!dims.tie_target_embeddings || dims.O == dims.E);
  readout_ =
      std::make_unique<ops::ReadoutLoss>(ctx, ops::ReadoutShape{.max_rows = options.readout_rows,
                                                                .dec = dims.Hd,
                                                                .ctx = 2 * dims.He,
                                                                .emb = dims.E,
                                                                .readout = dims.O,
                                                                .vocab = dims.Vt,
                                                                .training = true});
  buf_->h.resize(static_cast<std::size_t>(dims.enc_layers));
}

Model::~Model() = default;

ModelOptions ModelOptions::FromConfig(const TrainConfig& train) {
  ModelOptions o;
  o.dropout = static_cast<float>(train.dropout);
  o.label_smoothing = static_cast<float>(train.label_smoothing);
  o.seed = static_cast<std::uint64_t>(train.seed);
  return o;
}

Model::DecoderShape& Model::Decoder(int B, int Tx, int Ty) {
  return decoders_.Get({B, Tx, Ty}, [&] {
    const int C = static_cast<int>(2 * dims_.He), Hd = static_cast<int>(dims_.Hd);
    const ops::AttentionDims ad{.steps = Ty,
                                .src_len = Tx,
                                .batch = B,
                                .ctx_dim = C,
                                .dec_dim = Hd,
                                .att_dim = static_cast<int>(dims_.A)};
    const ops::DecoderCellDims cd{
        .steps = Ty, .batch = B, .emb_dim = static_cast<int>(dims_.E), .ctx_dim = C, .dec_dim = Hd};
    return std::unique_ptr<DecoderShape>(new DecoderShape{
        ops::Attention(ctx_, AttentionOf(dims_), ad), ops::DecoderCell(ctx_, CellOf(dims_), cd)});
  });
}

std::array<std::int64_t, 4> Model::cache_stats() const {
  return {encoders_.hits(), encoders_.misses(), decoders_.hits(), decoders_.misses()};
}

void Model::Ready(int stage, const GradReadyFn& ready) const {
  if (!ready) return;
  for (const Range& r : stages_[static_cast<std::size_t>(stage)]) ready(r.first, r.second);
}

StepResult Model::ForwardBackward(const ParamSet& params, ParamSet& grads, const Batch& batch,
                                  float grad_scale, std::uint64_t dropout_step,
                                  const GradReadyFn& ready) {
  assert(params.dims() == dims_ && grads.dims() == dims_);
  if (stages_.empty()) stages_ = GradientReadyStages(grads);
  const DropoutKey key{options_.seed, dropout_step};
  return Run(params, &grads, batch, grad_scale, options_.dropout > 0 ? &key : nullptr, ready,
             options_.label_smoothing);
}

StepResult Model::Evaluate(const ParamSet& params, const Batch& batch) {
  return Evaluate(params, batch, options_.label_smoothing);
}

StepResult Model::Evaluate(const ParamSet& params, const Batch& batch, float label_smoothing) {
  assert(params.dims() == dims_);
  return Run(params, nullptr, batch, 0.0f, nullptr, {}, label_smoothing);
}

StepResult Model::Evaluate(const ParamSet& params, const Batch& batch, float label_smoothing,
                           std::vector<double>* sentence_losses) {
  assert(params.dims() == dims_);
  return Run(params, nullptr, batch, 0.0f, nullptr, {}, label_smoothing, sentence_losses);
}

StepResult Model::Run(const ParamSet& params, ParamSet* grads, const Batch& batch, float grad_scale,
                      const DropoutKey* dropout, const GradReadyFn& ready, float label_smoothing,
                      std::vector<double>* sentence_losses) {
  const int B = batch.size;
  if (sentence_losses != nullptr) sentence_losses->assign(static_cast<std::size_t>(B), 0.0);
  if (B == 0) {  // nothing to compute, but the same ready calls as every rank
    if (grads != nullptr) {
      for (std::size_t s = 0; s < stages_.size(); ++s) Ready(static_cast<int>(s), ready);
    }
    return {};
  }
  const int Tx = batch.src_steps, Ty = batch.tgt_steps;
  const std::int64_t E = dims_.E, C = 2 * dims_.He, Hd = dims_.Hd, O = dims_.O;
  const std::int64_t rows = static_cast<std::int64_t>(Ty) * B;
  assert(Tx >= 1 && Ty >= 1);
  assert(batch.src.size() == Elems(Tx, B) && batch.tgt.size() == Elems(Ty, B));
  Buffers& b = *buf_;
  EncoderShape& enc = Encoder(B, Tx);
  DecoderShape& dec = Decoder(B, Tx, Ty);
  const std::int32_t* src_len = batch.src_len.data();
  const std::int32_t* tgt = batch.tgt.data();
  float* states = b.states.Get(Elems(Ty + 1, B, Hd));
  ForwardEncoder(enc, params, batch.src.data(), src_len, B, Tx, batch.first, dropout);
  const float* H = b.h.back().data();

  // Target inputs y~_0 .. y~_{Ty-1}: <s>, then the targets shifted by one.
  std::int32_t* y_ids = b.y_ids.Get(Elems(Ty, B));
  float* y = b.y.Get(Elems(rows, E));
  float* y_mask = nullptr;
  {
    PartTimer timer(profile_, ModelProfile::kEmbedding);
    std::fill(y_ids, y_ids + B, kBos);
    std::copy(tgt, tgt + (rows - B), y_ids + B);
    tgt_embed_.Forward(y, y_ids, params.Get("tgt_embed.weight"), rows);
  }
  float* t_mask = nullptr;
  if (dropout != nullptr) {
    PartTimer timer(profile_, ModelProfile::kDropout);
    y_mask = b.y_mask.Get(Elems(rows, E));
    FillDropoutMask(y_mask, *dropout, DropoutTensor::kTargetEmbedding, options_.dropout, Ty, B,
                    batch.first, static_cast<int>(E));
    ApplyMask(y, y_mask, rows * E);
    t_mask = b.t_mask.Get(Elems(rows, O));
    FillDropoutMask(t_mask, *dropout, DropoutTensor::kReadout, options_.dropout, Ty, B, batch.first,
                    static_cast<int>(O));
  }

  // The decoder loop (docs/model.md, Forward 5): attention on s_i, then the cell to s_{i+1}.
  const ops::AttentionParams ap = AttentionParams<float>(params);
  const ops::RnnParams cp = DecoderCellParams<float>(params);
  float* contexts = b.contexts.Get(Elems(rows, C));
  float* alphas = b.alphas.Get(Elems(rows, Tx));
  {
    PartTimer timer(profile_, ModelProfile::kAttention);
    dec.att.ForwardBatch(H, ap);
  }
  {
    PartTimer timer(profile_, ModelProfile::kCell);
    dec.cell.ForwardBatch(y, cp);
  }
  for (int i = 0; i < Ty; ++i) {
    {
      PartTimer timer(profile_, ModelProfile::kAttention);
      dec.att.ForwardStep(i, contexts, alphas, states, H, src_len, ap);
    }
    PartTimer timer(profile_, ModelProfile::kCell);
    dec.cell.ForwardStep(i, states, contexts, cp);
  }

  // Readout and loss over all Ty*B rows, in equal chunks of at most
  // readout_rows; in training each chunk's backward follows at once.
  float* d_states = nullptr;
  float* d_contexts = nullptr;
  float* d_y = nullptr;
  if (grads != nullptr) {
    d_states = b.d_states.Zero(Elems(Ty + 1, B, Hd));
    d_contexts = b.d_contexts.Zero(Elems(rows, C));
    d_y = b.d_y.Zero(Elems(rows, E));
  }
  const ops::ReadoutParams rp = ReadoutParamsOf(params);
  const std::int64_t chunks = (rows + options_.readout_rows - 1) / options_.readout_rows;
  const std::int64_t chunk = (rows + chunks - 1) / chunks;
  StepResult result;
  {
    PartTimer timer(profile_, ModelProfile::kReadout);
    for (std::int64_t r0 = 0; r0 < rows; r0 += chunk) {
      const std::int64_t n = std::min(chunk, rows - r0);
      const float* s = states + (B + r0) * Hd;  // s_i: states block i + 1
      const float* mask = t_mask != nullptr ? t_mask + r0 * O : nullptr;
      const ops::TokenLoss loss = readout_->Forward(s, contexts + r0 * C, y + r0 * E, tgt + r0, rp,
                                                    label_smoothing, n, mask);
      result.loss += loss.sum;
      result.tokens += loss.tokens;
      if (sentence_losses != nullptr) {  // row r0 + k is sentence (r0 + k) mod B
        const double* row = readout_->row_losses();
        for (std::int64_t k = 0; k < n; ++k) (*sentence_losses)[(r0 + k) % B] += row[k];
      }
      if (grads != nullptr) {
        readout_->Backward(ReadoutGradsOf(*grads), d_states + (B + r0) * Hd, d_contexts + r0 * C,
                           d_y + r0 * E, s, contexts + r0 * C, y + r0 * E, rp, grad_scale, mask);
      }
    }
  }
  if (grads == nullptr) return result;
  ParamSet& g = *grads;
  Ready(0, ready);

  // Backward through time, then the once-per-batch parts.
  float* dH = b.d_h[0].Zero(Elems(Tx, B, C));
  for (int i = Ty - 1; i >= 0; --i) {
    {
      PartTimer timer(profile_, ModelProfile::kCell);
      dec.cell.BackwardStep(i, d_states, d_contexts, states, cp);
    }
    PartTimer timer(profile_, ModelProfile::kAttention);
    dec.att.BackwardStep(i, d_states, dH, d_contexts, alphas, states, H, src_len, ap);
  }
  {
    PartTimer timer(profile_, ModelProfile::kAttention);
    dec.att.BackwardBatch(dH, AttentionGrads<float>(g), states, H, ap);
  }
  {
    PartTimer timer(profile_, ModelProfile::kCell);
    dec.cell.BackwardBatch(d_y, DecoderCellGrads<float>(g), y, states, contexts, cp);
  }
  Ready(1, ready);

  // s0 = tanh(W_init mean + b_init): d_states block 0 is ds0.
  {
    PartTimer timer(profile_, ModelProfile::kInit);
    float* d_pre = b.d_pre0.Get(Elems(B, Hd));
    for (std::int64_t k = 0; k < B * Hd; ++k) {
      d_pre[k] = d_states[k] * (1.0f - states[k] * states[k]);
    }
    float* d_mean = b.d_mean.Zero(Elems(B, C));
    init_.Backward(d_mean, g.Get("decoder.init.weight"), g.Get("decoder.init.bias"), d_pre,
                   b.mean.data(), params.Get("decoder.init.weight"), B);
    // mean_b = sum_{j < len_b} h_jb / len_b.
#pragma omp parallel for schedule(static)
    for (int j = 0; j < Tx; ++j) {
      for (int s = 0; s < B; ++s) {
        if (j >= src_len[s]) continue;
        const float inv = 1.0f / static_cast<float>(src_len[s]);
        float* dh = dH + Elems(j * B + s, C);
        const float* dm = d_mean + Elems(s, C);
        for (std::int64_t c = 0; c < C; ++c) dh[c] += dm[c] * inv;
      }
    }
  }
  Ready(2, ready);
  {
    PartTimer timer(profile_, ModelProfile::kEmbedding);
    if (y_mask != nullptr) ApplyMask(d_y, y_mask, rows * E);
    tgt_embed_.Backward(g.Get("tgt_embed.weight"), d_y, y_ids, rows);
  }
  Ready(3, ready);
  BackwardEncoder(enc, g, batch.src.data(), src_len, B, Tx, ready);
  return result;
}

namespace {

// Merges the non-<pad> ids of [begin, end) into the sorted set `set`.
void MergeIds(const std::int32_t* begin, const std::int32_t* end, std::vector<std::int32_t>& set) {
  const std::size_t old = set.size();
  for (const std::int32_t* p = begin; p != end; ++p) {
    if (*p != 0) set.push_back(*p);
  }
  std::sort(set.begin() + static_cast<std::ptrdiff_t>(old), set.end());
  std::inplace_merge(set.begin(), set.begin() + static_cast<std::ptrdiff_t>(old), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
}

}  // namespace

void AddTouchedRows(const Batch& batch, EmbeddingRows& rows) {
  if (batch.size == 0) return;
  MergeIds(batch.src.data(), batch.src.data() + batch.src.size(), rows.src);
  // Run's y_ids: <s> for every sentence, then tgt without its last step.
  const std::int32_t bos = kBos;
  MergeIds(&bos, &bos + 1, rows.tgt);
  const std::size_t inputs = Elems(batch.tgt_steps - 1, batch.size);
  MergeIds(batch.tgt.data(), batch.tgt.data() + inputs, rows.tgt);
}

}  // namespace rnnsearch
