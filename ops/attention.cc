#include "ops/attention.h"

#include <algorithm>
#include <cassert>

#include "ops/affine.h"
#include "ops/attention_kernels.h"

namespace rnnsearch::ops {

namespace k = attention_kernels;

namespace {

std::size_t Size(std::int64_t a, std::int64_t b, std::int64_t c = 1) {
  return static_cast<std::size_t>(a * b * c);
}

}  // namespace

int AttentionKeyDim(AttentionKind kind, const AttentionDims& d) {
  switch (kind) {
    case AttentionKind::kAdditive: return d.att_dim;
    case AttentionKind::kGeneral: return d.dec_dim;
    case AttentionKind::kDot: return d.ctx_dim;
  }
  return 0;
}

double Attention::ForwardBackwardFlops(AttentionKind kind, const AttentionDims& d) {
  const double Ty = d.steps, Tx = d.src_len, B = d.batch, C = d.ctx_dim, Hd = d.dec_dim;
  const double A = d.att_dim, D = AttentionKeyDim(kind, d);
  double keys = 0, per_row = 2 * Tx * D + 2 * Tx * C;
  if (kind == AttentionKind::kAdditive) {
    keys = 2 * Tx * B * C * A;
    per_row = 2 * Hd * A + 2 * Tx * A + 2 * Tx * C;
  } else if (kind == AttentionKind::kGeneral) {
    keys = 2 * Tx * B * C * Hd;
  }
  return 3 * (keys + Ty * B * per_row);
}

Attention::Attention(Context& ctx, AttentionKind kind, const AttentionDims& dims)
    : kind_(kind), d_(dims), key_dim_(AttentionKeyDim(kind, dims)) {
  const std::int64_t Ty = d_.steps, Tx = d_.src_len, B = d_.batch;
  const std::int64_t C = d_.ctx_dim, Hd = d_.dec_dim, A = d_.att_dim, D = key_dim_;
  assert(Ty >= 1 && Tx >= 1 && B >= 1 && C >= 1 && Hd >= 1);
  assert(kind != AttentionKind::kDot || Hd == C);
  d_alpha_.resize(Size(B, Tx));
  if (kind_ != AttentionKind::kDot) {
    assert(D >= 1);
    keys_.resize(Size(Tx, B, D));
    d_keys_.resize(keys_.size());
    // keys [Tx*B, D] = H [Tx*B, C] . Wk^T, Wk = U_a or W_g: [D, C].
    keys_mm_ = MatmulView(ctx, Tx * B, C, D, RowMajor(C), Transposed(C), RowMajor(D), false, false);
    // dWk [D, C] += d_keys^T [D, Tx*B] . H [Tx*B, C].
    d_wk_mm_ = MatmulView(ctx, D, Tx * B, C, Transposed(D), RowMajor(C), RowMajor(C), false, true);
    // dH [Tx*B, C] += d_keys [Tx*B, D] . Wk [D, C].
    d_h_mm_ = MatmulView(ctx, Tx * B, D, C, RowMajor(D), RowMajor(C), RowMajor(C), false, true);
  }
  if (kind_ == AttentionKind::kAdditive) {
    query_.resize(Size(Ty, B, A));
    d_query_.resize(query_.size());
    d_v_rows_.resize(Size(B, A));
    // q [B, A] = s [B, Hd] . W_a^T + b_a.
    query_mm_ = MatmulView(ctx, B, Hd, A, RowMajor(Hd), Transposed(Hd), RowMajor(A), true, false);
    // ds [B, Hd] += dq [B, A] . W_a [A, Hd].
    d_state_mm_ = MatmulView(ctx, B, A, Hd, RowMajor(A), RowMajor(Hd), RowMajor(Hd), false, true);
    // dW_a [A, Hd] += dq^T [A, Ty*B] . s_{0..Ty-1} [Ty*B, Hd].
    d_wa_mm_ =
        MatmulView(ctx, A, Ty * B, Hd, Transposed(A), RowMajor(Hd), RowMajor(Hd), false, true);
  }
}

void Attention::ForwardBatch(const float* H, const AttentionParams& p) {
  if (kind_ == AttentionKind::kDot) return;
  const float* wk = kind_ == AttentionKind::kAdditive ? p.U_a : p.W_g;
  keys_mm_.Run(keys_.data(), H, wk);
}

void Attention::ForwardStep(int i, float* contexts, float* alphas, const float* states,
                            const float* H, const int* lengths, const AttentionParams& p) {
  assert(i >= 0 && i < d_.steps);
  const int Tx = d_.src_len, B = d_.batch, C = d_.ctx_dim, Hd = d_.dec_dim, A = d_.att_dim;
  const int D = key_dim_;
  const float* s = states + Size(i, B, Hd);
  float* alpha = alphas + Size(i, B, Tx);
  float* ctx = contexts + Size(i, B, C);
  float* q = nullptr;  // [B, A] W_a s_i + b_a, kept for the backward
  if (kind_ == AttentionKind::kAdditive) {
    q = query_.data() + Size(i, B, A);
    query_mm_.Run(q, s, p.W_a, p.b_a);
  }
  const float* keys = kind_ == AttentionKind::kDot ? H : keys_.data();
  const std::int64_t key_stride = static_cast<std::int64_t>(B) * D;
  const std::int64_t h_stride = static_cast<std::int64_t>(B) * C;
  const AttentionKind kind = kind_;
#pragma omp parallel for schedule(static)
  for (int b = 0; b < B; ++b) {
    const int len = lengths[b];
    assert(len >= 1 && len <= Tx);
    float* e = alpha + Size(b, Tx);
    if (kind == AttentionKind::kAdditive) {
      k::AdditiveEnergies(e, q + Size(b, A), keys + Size(b, D), key_stride, len, p.v_a, A);
    } else {
      k::DotEnergies(e, s + Size(b, Hd), keys + Size(b, D), key_stride, len, D);
    }
    k::MaskedSoftmax(e, len, Tx);
    k::WeightedSum(ctx + Size(b, C), e, H + Size(b, C), h_stride, len, C);
  }
}

void Attention::BackwardStep(int i, float* d_states, float* dH, const float* d_contexts,
                             const float* alphas, const float* states, const float* H,
                             const int* lengths, const AttentionParams& p) {
  assert(i >= 0 && i < d_.steps);
  const int Tx = d_.src_len, B = d_.batch, C = d_.ctx_dim, Hd = d_.dec_dim, A = d_.att_dim;
  const int D = key_dim_;
  if (i == d_.steps - 1) {  // the first backward step of a batch
    std::fill(d_keys_.begin(), d_keys_.end(), 0.0f);
    std::fill(d_v_rows_.begin(), d_v_rows_.end(), 0.0f);
  }
  const float* s = states + Size(i, B, Hd);
  float* ds = d_states + Size(i, B, Hd);
  const float* alpha = alphas + Size(i, B, Tx);
  const float* d_ctx = d_contexts + Size(i, B, C);
  const float* keys = kind_ == AttentionKind::kDot ? H : keys_.data();
  float* d_keys = kind_ == AttentionKind::kDot ? dH : d_keys_.data();
  const std::int64_t key_stride = static_cast<std::int64_t>(B) * D;
  const std::int64_t h_stride = static_cast<std::int64_t>(B) * C;
  const AttentionKind kind = kind_;
#pragma omp parallel for schedule(static)
  for (int b = 0; b < B; ++b) {
    const int len = lengths[b];
    assert(len >= 1 && len <= Tx);
    float* de = d_alpha_.data() + Size(b, Tx);
    k::ContextSoftmaxBackward(de, dH + Size(b, C), alpha + Size(b, Tx), d_ctx + Size(b, C),
                              H + Size(b, C), h_stride, len, C);
    if (kind == AttentionKind::kAdditive) {
      k::AdditiveBackward(d_query_.data() + Size(i * B + b, A), d_keys + Size(b, D),
                          d_v_rows_.data() + Size(b, A), query_.data() + Size(i * B + b, A),
                          keys + Size(b, D), key_stride, p.v_a, de, len, A);
    } else {
      k::DotBackward(ds + Size(b, Hd), d_keys + Size(b, D), s + Size(b, Hd), keys + Size(b, D),
                     key_stride, de, len, D);
    }
  }
  if (kind_ == AttentionKind::kAdditive) {
    d_state_mm_.Run(ds, d_query_.data() + Size(i, B, A), p.W_a);
  }
}

void Attention::BackwardBatch(float* dH, const AttentionGrads& g, const float* states,
                              const float* H, const AttentionParams& p) {
  const int B = d_.batch, A = d_.att_dim;
  if (kind_ == AttentionKind::kAdditive) {
    d_wa_mm_.Run(g.W_a, d_query_.data(), states);
    AddColumnSums(g.b_a, d_query_.data(), static_cast<std::int64_t>(d_.steps) * B, A, A, 1.0f);
    AddColumnSums(g.v_a, d_v_rows_.data(), B, A, A, 1.0f);
  }
  if (kind_ != AttentionKind::kDot) {
    const bool additive = kind_ == AttentionKind::kAdditive;
    d_wk_mm_.Run(additive ? g.U_a : g.W_g, d_keys_.data(), H);
    d_h_mm_.Run(dH, d_keys_.data(), additive ? p.U_a : p.W_g);
  }
}

}  // namespace rnnsearch::ops
