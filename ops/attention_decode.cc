// AttentionDecode (ops/attention.h): the attention step of beam search.
#include <cassert>

#include "ops/attention.h"
#include "ops/attention_kernels.h"

namespace rnnsearch::ops {

namespace k = attention_kernels;

AttentionDecode::AttentionDecode(Context& ctx, AttentionKind kind, const AttentionDims& dims,
                                 int max_hyps)
    : kind_(kind), d_(dims), max_hyps_(max_hyps), key_dim_(AttentionKeyDim(kind, dims)) {
  const std::int64_t Tx = d_.src_len, B = d_.batch, C = d_.ctx_dim, Hd = d_.dec_dim;
  const std::int64_t A = d_.att_dim, D = key_dim_;
  assert(Tx >= 1 && B >= 1 && C >= 1 && Hd >= 1 && max_hyps >= 1);
  assert(kind != AttentionKind::kDot || Hd == C);
  if (kind_ != AttentionKind::kDot) {
    keys_.resize(static_cast<std::size_t>(Tx * B * D));
    // keys [Tx*B, D] = H [Tx*B, C] . Wk^T, for any Tx*B up to the maximum.
    keys_mm_ = MatmulView(ctx, Tx * B, C, D, RowMajor(C), Transposed(C), RowMajor(D), false, false,
                          /*runtime_rows=*/true);
  }
  if (kind_ == AttentionKind::kAdditive) {
    query_.resize(static_cast<std::size_t>(max_hyps) * A);
    // q [n, A] = s [n, Hd] . W_a^T + b_a.
    query_mm_ = MatmulView(ctx, max_hyps, Hd, A, RowMajor(Hd), Transposed(Hd), RowMajor(A), true,
                           false, /*runtime_rows=*/true);
  }
}

void AttentionDecode::SetSource(const float* H, int src_len, int batch, const AttentionParams& p) {
  assert(src_len >= 1 && src_len <= d_.src_len && batch >= 1 && batch <= d_.batch);
  src_len_ = src_len;
  batch_ = batch;
  if (kind_ == AttentionKind::kDot) return;
  const float* wk = kind_ == AttentionKind::kAdditive ? p.U_a : p.W_g;
  keys_mm_.Run(keys_.data(), H, wk, nullptr, static_cast<std::int64_t>(src_len) * batch);
}

void AttentionDecode::Step(float* contexts, float* alphas, const float* s, const int* src_of, int n,
                           const float* H, const int* lengths, const AttentionParams& p) {
  assert(src_len_ >= 1 && n >= 1 && n <= max_hyps_);
  assert(src_of != nullptr || n <= batch_);
  const int Tx = src_len_, B = batch_, C = d_.ctx_dim, Hd = d_.dec_dim, A = d_.att_dim;
  const int D = key_dim_;
  if (kind_ == AttentionKind::kAdditive) query_mm_.Run(query_.data(), s, p.W_a, p.b_a, n);
  const float* keys = kind_ == AttentionKind::kDot ? H : keys_.data();
  const std::int64_t key_stride = static_cast<std::int64_t>(B) * D;
  const std::int64_t h_stride = static_cast<std::int64_t>(B) * C;
  const AttentionKind kind = kind_;
  const float* q = query_.data();
#pragma omp parallel for schedule(static)
  for (int h = 0; h < n; ++h) {
    const int b = src_of != nullptr ? src_of[h] : h;
    assert(b >= 0 && b < B);
    const int len = lengths[b];
    assert(len >= 1 && len <= Tx);
    float* e = alphas + static_cast<std::int64_t>(h) * Tx;
    const float* kb = keys + static_cast<std::int64_t>(b) * D;
    if (kind == AttentionKind::kAdditive) {
      k::AdditiveEnergies(e, q + static_cast<std::int64_t>(h) * A, kb, key_stride, len, p.v_a, A);
    } else {
      k::DotEnergies(e, s + static_cast<std::int64_t>(h) * Hd, kb, key_stride, len, D);
    }
    k::MaskedSoftmax(e, len, Tx);
    k::WeightedSum(contexts + static_cast<std::int64_t>(h) * C, e,
                   H + static_cast<std::int64_t>(b) * C, h_stride, len, C);
  }
}

}  // namespace rnnsearch::ops
