// ReadoutLoss: the decoder's readout, output projection and label-smoothed
// cross-entropy (docs/model.md, Forward 5-6), fused, over N = Ty * B time-major
// rows at once. Reference twin: ops/readout_loss_ref.h.
//
//   t      = tanh(W_o [s ; c ; y~prev] + b_o)     t: [N, O]
//   t'     = t * mask (optional dropout)           mask: [N, O], 0 or 1 / (1 - p)
//   logits = W_v t' + b_v                         logits: [N, Vt]
//   loss_n = -sum_k q_k log softmax(logits_n)_k,  q = (1 - eps) onehot(y_n) + eps / Vt
//
// summed over the rows whose target id is not <pad> (0); pad rows give no
// loss and no gradient. W_o is readout.weight [O, Hd + 2He + E] with
// columns s, c, y~: s, c and y~prev are three separate inputs and each
// multiplies a strided column block of W_o in place (no concatenation).
// W_v is output.weight [Vt, O], or with tied embeddings tgt_embed.weight
// [Vt, E] (O == E): only the pointer differs.
//
// Forward computes the loss and, in place of the logits, the unscaled
// gradient softmax - q (zero on pad rows), plus partial column sums of it
// for db_v; that [max_rows, Vt] buffer, allocated once in the constructor
// with the rest of the workspace, is the only big one. Backward then folds
// `grad_scale` (1 / global token count, docs/model.md's data-parallel
// semantics) into oneDNN's output scale and ADDS every gradient. The
// log-sum-exp subtracts each row's maximum, so large logits neither
// overflow nor lose the loss.
//
// Dropout on t (docs/model.md's readout, train.dropout) is an optional mask of
// multipliers the caller draws (inverted dropout: 0 for a dropped unit,
// 1 / (1 - p) for a kept one); Backward must get the same mask. Without a
// mask (nullptr) t' = t, as in evaluation and decoding.
//
// All matmuls are oneDNN (ops::Affine, runtime row count, sum post-ops to
// accumulate, tanh as a post-op); the softmax pass is an OpenMP loop over
// rows with a vectorised exp (ops/vec_math.h). Results are deterministic
// for a given thread count.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "ops/affine.h"
#include "ops/context.h"

namespace rnnsearch::ops {

struct ReadoutShape {
  std::int64_t max_rows = 0;  // the largest N = Ty * B a call may pass
  std::int64_t dec = 0;       // Hd
  std::int64_t ctx = 0;       // 2He
  std::int64_t emb = 0;       // E
  std::int64_t readout = 0;   // O
  std::int64_t vocab = 0;     // Vt
  // false: LogProbs only (no [max_rows, Vt] training buffer is allocated).
  bool training = true;
};

// Pointers into the parameters (shapes as docs/model.md names them).
struct ReadoutParams {
  const float* w_o = nullptr;  // readout.weight [O, Hd + 2He + E]
  const float* b_o = nullptr;  // readout.bias [O]
  const float* w_v = nullptr;  // output.weight [Vt, O] (tied: tgt_embed.weight [Vt, E])
  const float* b_v = nullptr;  // output.bias [Vt]
};

// Their gradients, same shapes; Backward adds into all four.
struct ReadoutGrads {
  float* w_o = nullptr;
  float* b_o = nullptr;
  float* w_v = nullptr;
  float* b_v = nullptr;
};

struct TokenLoss {
  double sum = 0;           // sum of the per-token losses
  std::int64_t tokens = 0;  // rows whose target is not <pad>
};

class ReadoutLoss {
 public:
  ReadoutLoss(Context& ctx, const ReadoutShape& shape);

  const ReadoutShape& shape() const { return shape_; }

  // s: [rows, Hd], c: [rows, 2He], yprev: [rows, E] (y~_{i-1}),
  // target: [rows] ids in [0, Vt), 0 = <pad>; rows <= max_rows;
  // label_smoothing: eps in [0, 1); dropout: [rows, O] multipliers of t
  // or nullptr (none). Keeps what Backward needs.
  TokenLoss Forward(const float* s, const float* c, const float* yprev, const std::int32_t* target,
                    const ReadoutParams& p, float label_smoothing, std::int64_t rows,
                    const float* dropout = nullptr);

  // After Forward: the loss of each of its rows (0 for a <pad> target).
  const double* row_losses() const { return row_loss_.get(); }

  // After Forward with the same inputs: adds grad_scale * d(loss sum) into
  // g and into ds: [rows, Hd], dc: [rows, 2He], dyprev: [rows, E] (each may
  // be nullptr to skip it). dropout: the mask given to Forward (or
  // nullptr if it had none). May be called more than once.
  void Backward(const ReadoutGrads& g, float* ds, float* dc, float* dyprev, const float* s,
                const float* c, const float* yprev, const ReadoutParams& p, float grad_scale,
                const float* dropout = nullptr);

  // Inference: out: [rows, Vt] = log softmax(logits) of each row, for
  // rows <= max_rows. Overwrites the state kept by Forward.
  void LogProbs(float* out, const float* s, const float* c, const float* yprev,
                const ReadoutParams& p, std::int64_t rows);

 private:
  struct Free {
    void operator()(void* q) const { std::free(q); }
  };
  template <class T>
  using Buffer = std::unique_ptr<T[], Free>;

  // t_[0:rows] = tanh(W_o [s ; c ; yprev] + b_o).
  void ReadoutForward(const float* s, const float* c, const float* yprev, const ReadoutParams& p,
                      std::int64_t rows);
  void SoftmaxGradient(const std::int32_t* target, float eps, std::int64_t rows);

  ReadoutShape shape_;
  int threads_;
  Affine read_s_;            // t  = s W_s^T + b_o
  Affine read_c_;            // t += c W_c^T
  Affine read_y_;            // t  = tanh(t + yprev W_y^T)
  Affine output_;            // logits = t W_v^T + b_v
  Buffer<float> t_;          // [max_rows, O]
  Buffer<float> t_drop_;     // [max_rows, O] (training): t * dropout mask
  Buffer<float> dt_;         // [max_rows, O] (training)
  Buffer<float> logits_;     // [max_rows, Vt] (training): the logits, then softmax - q
  Buffer<float> db_v_;       // [threads, Vt] (training): per-thread column sums of softmax - q
  Buffer<double> row_loss_;  // [max_rows] (training)
  std::int64_t rows_ = 0;    // of the last Forward
  bool has_state_ = false;   // Forward ran and LogProbs has not overwritten t_ since
  bool dropped_ = false;     // the last Forward had a dropout mask
};

}  // namespace rnnsearch::ops
