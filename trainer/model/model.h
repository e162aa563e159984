// The whole RNNsearch model of docs/model.md composed from the ops:
//
//   x~ = drop(Es[x])                                   [Tx, B, E]
//   h  = encoder layers 0..L-1 (bidirectional)         [Tx, B, 2He]
//   s_0 = tanh(W_init mean_{j < len}(h_j) + b_init)    [B, Hd]
//   y~ = drop(Et[<s>, y_1 .. y_{Ty-1}])                [Ty, B, E]
//   for i: attention on s_{i-1} -> c_i; cell([y~_{i-1}; c_i], s_{i-1}) -> s_i
//   t = drop(tanh(W_o [s_i; c_i; y~_{i-1}] + b_o)), logits = W_v t + b_v,
//   loss = label-smoothed cross-entropy summed over the real target tokens
//
// and its backward in reverse. Every implemented option of docs/model.md
// (all but the conditional GRU decoder): model.cell (gru, lstm),
// model.attention (additive, general, dot), model.enc_layers,
// model.tie_target_embeddings, train.label_smoothing, and train.dropout on
// both embeddings and on t (inverted dropout, trainer/model/dropout.h: masks are
// a hash of (seed, step, tensor, global sentence, position, feature), so
// they depend neither on threads nor on the split of a batch over ranks;
// the RNG state to checkpoint is (options.seed, dropout_step)).
//
// Parameters and gradients are ParamSets (trainer/model/params.h); every
// gradient is ADDED into (callers zero once per optimizer step, so batches
// can be accumulated).
//
// Shapes. A batch has its own (B, Tx, Ty). The fixed-shape ops are built
// per shape and kept in two LRU caches: the encoder layers per (B, Tx) and
// the attention + decoder cell per (B, Tx, Ty), options.shape_cache
// entries each. An entry's memory is the ops' own per-shape buffers,
// measured (malloc'ed bytes) at the base shapes B = 64, Tx = Ty = 20, GRU:
//   encoder entry  88 MB per layer: oneDNN's training workspace, 24 MB per
//                  direction, its scratchpad (21 MB), input/output copies
//                  (grows like B Tx G He);
//   decoder entry  45 MB: the cell's gate buffers 4 x B Ty G Hd floats
//                  (32 MB) and the attention's keys, queries and their
//                  gradients 2 x (B Tx + B Ty) A floats (13 MB);
// (`rnnsearch bench ops` prints CONFIG.cache_entry_mb). Batches from the
// sampler rarely repeat a shape, and a miss costs little (the first step
// on a new shape takes 1.02-1.06x a repeated one: oneDNN's primitive
// cache makes rebuilding primitives cheap; the bench prints
// CONFIG.new_shape_step_vs_repeat), so the default keeps two entries.
// Evicted entries are freed. The readout is shared by all shapes and works
// in chunks of at most options.readout_rows rows: its logits buffer is
// readout_rows x Vt floats (41 MB at Vt = 10000, 1024 rows). The
// activations (embeddings, states, contexts, masks, their gradients) live
// in buffers that grow to the largest batch seen and are then reused: no
// primitive is created in a time loop and nothing is allocated per step
// once shapes repeat.
//
// Results are deterministic for a given thread count: the same call on the
// same batch gives bit-identical loss and gradients (exact resume).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>
#include <vector>

#include "io/batch_reader.h"
#include "ops/affine.h"
#include "ops/context.h"
#include "ops/embedding.h"
#include "ops/readout_loss.h"
#include "trainer/model/dropout.h"
#include "trainer/model/lru_cache.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct ModelOptions {
  float dropout = 0.0f;              // train.dropout: p on x~, y~ and t in ForwardBackward
  float label_smoothing = 0.0f;      // train.label_smoothing: eps
  std::uint64_t seed = 0;            // train.seed: the dropout masks' seed
  std::int64_t readout_rows = 1024;  // most Ty*B rows per readout chunk
  int shape_cache = 2;               // entries of each per-shape cache (encoder, decoder)

  // dropout, label_smoothing and seed from the train section.
  static ModelOptions FromConfig(const TrainConfig& train);
};

struct StepResult {
  double loss = 0;          // summed over the real target tokens (not scaled)
  std::int64_t tokens = 0;  // real target tokens of this batch part
};

// Called with a range [offset, offset + count) of the flat gradient buffer
// (ParamSet::data()) as soon as the gradients in it are final.
using GradReadyFn = std::function<void(std::int64_t offset, std::int64_t count)>;

// Wall time per part of the model, accumulated over calls (bench ops).
struct ModelProfile {
  enum Part { kEmbedding, kEncoder, kInit, kAttention, kCell, kReadout, kDropout, kParts };
  static const char* Name(int part);
  std::array<double, kParts> seconds{};
};

// FLOPs of one forward + backward on a (B, Tx, Ty) batch, matrix products
// only (multiply-add = 2, training = 3 x forward), counted exactly as the
// PyTorch peer counts them (../shared/peers/pytorch_rnnsearch.py), per
// layer for stacked encoders and with G gates (G = 3 GRU, 4 LSTM):
//   encoder   2 dirs x 2 Tx B G He (in + He) per layer
//   init      2 B 2He Hd
//   keys      2 Tx B 2He A (additive), 2 Tx B 2He Hd (general), 0 (dot)
//   per target token (B Ty of them):
//     query   2 Hd A (additive)   scores 2 Tx K (K = A, Hd, 2He)
//     context 2 Tx 2He            cell   2 G Hd (E + 2He + Hd)
//     readout 2 O (Hd + 2He + E)  output 2 O Vt
double TrainingFlops(const ModelDims& dims, int B, int Tx, int Ty);

// The ranges (offset, count) of a gradient ParamSet's flat buffer that
// ForwardBackward's `ready` gets, grouped per call point in call order:
// [readout.*, output.*], [attention.*, decoder.cell.*], [decoder.init.*],
// [tgt_embed], [encoder.L-1.*], ..., [encoder.0.*], [src_embed]. Each
// tensor's range runs to the next tensor's offset (padding included),
// adjacent ranges of one group are merged, and all ranges together tile
// [0, grads.size()).
std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> GradientReadyStages(
    const ParamSet& grads);

// Rows of the embedding tables, as sorted ids without duplicates.
struct EmbeddingRows {
  std::vector<std::int32_t> src;  // of src_embed.weight
  std::vector<std::int32_t> tgt;  // of tgt_embed.weight
  bool operator==(const EmbeddingRows&) const = default;
};

// Adds to `rows` the rows whose gradient ForwardBackward on `batch` can
// make non-zero through the embedding lookups: src_embed's rows of the
// source ids, tgt_embed's rows of the target-side inputs (<s> and every
// target but those of the last step, which are only predicted). <pad> (0)
// is left out, as the lookups' backward pass adds nothing to its row
// (ops/embedding.h). A row stays in the set when dropout happens to zero
// its gradient. With model.tie_target_embeddings tgt_embed is also the
// output layer, whose gradient reaches every row: these rows are then
// not all of them (the caller's concern; trainer/dist/grad_sync.h).
void AddTouchedRows(const Batch& batch, EmbeddingRows& rows);

class Model {
 public:
  Model(ops::Context& ctx, const ModelDims& dims, const ModelOptions& options);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelDims& dims() const { return dims_; }
  const ModelOptions& options() const { return options_; }

  // One batch part's forward and backward with dropout: ADDS grad_scale x
  // d(loss sum)/d(params) into grads (grad_scale = 1 / global target
  // tokens gives docs/model.md's data-parallel gradient) and returns the
  // unscaled loss sum and token count. `dropout_step` selects the masks
  // (with options.seed): the trainer passes a counter that differs per
  // call (e.g. the batches processed before this one) and checkpoints it;
  // the ranks of one global batch pass the same value. A part with batch.size == 0 returns {0, 0}
  // and adds nothing. If `ready` is set it is called with ranges of the flat gradient buffer that
  // together cover it exactly once (padding included), each as soon as that range is final, in
  // backward order: readout and output first, then decoder cell and attention, decoder.init,
  // tgt_embed, the encoder layers from the top, src_embed last; for B = 0 too, so every rank makes
  // the same calls.
  StepResult ForwardBackward(const ParamSet& params, ParamSet& grads, const Batch& batch,
                             float grad_scale, std::uint64_t dropout_step,
                             const GradReadyFn& ready = {});

  // The loss without dropout and without any gradient (validation), with
  // the label smoothing of the options, or eps = label_smoothing (0: the
  // plain cross-entropy, for perplexity).
  StepResult Evaluate(const ParamSet& params, const Batch& batch);
  StepResult Evaluate(const ParamSet& params, const Batch& batch, float label_smoothing);
  // The same, and each sentence's loss summed over its target tokens in
  // time order: (*sentence_losses)[b] for b in [0, B), resized to B.
  StepResult Evaluate(const ParamSet& params, const Batch& batch, float label_smoothing,
                      std::vector<double>* sentence_losses);

  // For decoding: the encoder output H: [Tx, B, 2He] and the initial
  // decoder state s0: [B, Hd] of source ids src: [Tx, B] with lengths
  // src_len: [B] (1..Tx), without dropout. B >= 1.
  void Encode(float* H, float* s0, const ParamSet& params, const std::int32_t* src,
              const std::int32_t* src_len, int B, int Tx);

  // Per-part wall times are added into *profile while set (nullptr: off).
  void set_profile(ModelProfile* profile) { profile_ = profile; }

  // Cache statistics: hits and misses of the encoder and decoder caches.
  std::array<std::int64_t, 4> cache_stats() const;

 private:
  struct EncoderShape;
  struct DecoderShape;
  struct Buffers;
  using Range = std::pair<std::int64_t, std::int64_t>;

  StepResult Run(const ParamSet& params, ParamSet* grads, const Batch& batch, float grad_scale,
                 const DropoutKey* dropout, const GradReadyFn& ready, float label_smoothing,
                 std::vector<double>* sentence_losses = nullptr);
  EncoderShape& Encoder(int B, int Tx);
  DecoderShape& Decoder(int B, int Tx, int Ty);
  // Embeds, encodes and computes s0 into the buffers (forward only).
  void ForwardEncoder(EncoderShape& enc, const ParamSet& params, const std::int32_t* src,
                      const std::int32_t* src_len, int B, int Tx, std::int64_t first,
                      const DropoutKey* dropout);
  void BackwardEncoder(EncoderShape& enc, ParamSet& grads, const std::int32_t* src,
                       const std::int32_t* src_len, int B, int Tx, const GradReadyFn& ready);
  void Ready(int stage, const GradReadyFn& ready) const;

  ops::Context& ctx_;
  ModelDims dims_;
  ModelOptions options_;
  ops::Embedding src_embed_, tgt_embed_;
  ops::Affine init_;  // s0 = tanh(mean . W_init^T + b_init), rows = B at run time
  std::unique_ptr<ops::ReadoutLoss> readout_;
  LruCache<std::tuple<int, int>, EncoderShape> encoders_;
  LruCache<std::tuple<int, int, int>, DecoderShape> decoders_;
  std::unique_ptr<Buffers> buf_;
  std::vector<std::vector<Range>> stages_;  // GradientReadyStages of the grads, once known
  ModelProfile* profile_ = nullptr;
};

}  // namespace rnnsearch
