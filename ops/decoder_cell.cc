#include "ops/decoder_cell.h"

#include <algorithm>
#include <cassert>

#include "ops/affine.h"
#include "ops/decoder_cell_kernels.h"

namespace rnnsearch::ops {

namespace k = cell_kernels;

namespace {

std::size_t Size(std::int64_t a, std::int64_t b, std::int64_t c = 1) {
  return static_cast<std::size_t>(a * b * c);
}

}  // namespace

double DecoderCell::ForwardBackwardFlops(CellType cell, const DecoderCellDims& d) {
  const double G = GateCount(cell) * static_cast<double>(d.dec_dim);
  return 3 * 2.0 * d.steps * d.batch * G * (d.emb_dim + d.ctx_dim + d.dec_dim);
}

DecoderCell::DecoderCell(Context& ctx, CellType cell, const DecoderCellDims& dims)
    : cell_(cell), d_(dims), gates_(GateCount(cell) * dims.dec_dim) {
  const std::int64_t Ty = d_.steps, B = d_.batch, E = d_.emb_dim, C = d_.ctx_dim;
  const std::int64_t Hd = d_.dec_dim, G = gates_, TB = Ty * B, ld_ih = E + C;
  assert(Ty >= 1 && B >= 1 && E >= 1 && C >= 1 && Hd >= 1);
  const bool gru = cell_ == CellType::kGru;
  gx_.resize(Size(TB, G));
  d_gx_.resize(gx_.size());
  if (gru) {
    gh_.resize(gx_.size());
    d_gh_.resize(gx_.size());
  } else {
    mem_.assign(Size(Ty + 1, B, Hd), 0.0f);
    d_mem_.resize(Size(B, Hd));
  }
  // gx [Ty*B, G] = Y [Ty*B, E] . W_ih[:, :E]^T + b_ih.
  y_mm_ = MatmulView(ctx, TB, E, G, RowMajor(E), Transposed(ld_ih), RowMajor(G), true, false);
  // gx_i [B, G] += c_i [B, C] . W_ih[:, E:]^T.
  c_mm_ = MatmulView(ctx, B, C, G, RowMajor(C), Transposed(ld_ih), RowMajor(G), false, true);
  // GRU: gh_i [B, G] = s_i . W_hh^T + b_hh; LSTM: gx_i += the same.
  h_mm_ = MatmulView(ctx, B, Hd, G, RowMajor(Hd), Transposed(Hd), RowMajor(G), true, !gru);
  // ds_i [B, Hd] += d_gh_i [B, G] . W_hh [G, Hd].
  d_h_mm_ = MatmulView(ctx, B, G, Hd, RowMajor(G), RowMajor(Hd), RowMajor(Hd), false, true);
  // dc_i [B, C] += d_gx_i [B, G] . W_ih[:, E:] [G, C].
  d_c_mm_ = MatmulView(ctx, B, G, C, RowMajor(G), RowMajor(ld_ih), RowMajor(C), false, true);
  // dW_ih[:, :E] [G, E] += d_gx^T [G, Ty*B] . Y [Ty*B, E].
  d_wy_mm_ = MatmulView(ctx, G, TB, E, Transposed(G), RowMajor(E), RowMajor(ld_ih), false, true);
  // dW_ih[:, E:] [G, C] += d_gx^T . contexts [Ty*B, C].
  d_wc_mm_ = MatmulView(ctx, G, TB, C, Transposed(G), RowMajor(C), RowMajor(ld_ih), false, true);
  // dW_hh [G, Hd] += d_gh^T . s_{0..Ty-1} [Ty*B, Hd].
  d_whh_mm_ = MatmulView(ctx, G, TB, Hd, Transposed(G), RowMajor(Hd), RowMajor(Hd), false, true);
  // dY [Ty*B, E] += d_gx [Ty*B, G] . W_ih[:, :E] [G, E].
  d_y_mm_ = MatmulView(ctx, TB, G, E, RowMajor(G), RowMajor(ld_ih), RowMajor(E), false, true);
}

void DecoderCell::ForwardBatch(const float* y_emb, const RnnParams& p) {
  y_mm_.Run(gx_.data(), y_emb, p.weight_ih, p.bias_ih);
}

void DecoderCell::ForwardStep(int i, float* states, const float* contexts, const RnnParams& p) {
  assert(i >= 0 && i < d_.steps);
  const int B = d_.batch, C = d_.ctx_dim, Hd = d_.dec_dim, G = gates_;
  const float* s = states + Size(i, B, Hd);
  float* s_next = states + Size(i + 1, B, Hd);
  float* gx = gx_.data() + Size(i, B, G);
  c_mm_.Run(gx, contexts + Size(i, B, C), p.weight_ih + d_.emb_dim);
  if (cell_ == CellType::kGru) {
    float* gh = gh_.data() + Size(i, B, G);
    h_mm_.Run(gh, s, p.weight_hh, p.bias_hh);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b) {
      k::GruForward(s_next + Size(b, Hd), gx + Size(b, G), gh + Size(b, G), s + Size(b, Hd), Hd);
    }
  } else {
    h_mm_.Run(gx, s, p.weight_hh, p.bias_hh);
    const float* mem = mem_.data() + Size(i, B, Hd);
    float* mem_next = mem_.data() + Size(i + 1, B, Hd);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b) {
      k::LstmForward(s_next + Size(b, Hd), mem_next + Size(b, Hd), gx + Size(b, G),
                     mem + Size(b, Hd), Hd);
    }
  }
}

void DecoderCell::BackwardStep(int i, float* d_states, float* d_contexts, const float* states,
                               const RnnParams& p) {
  assert(i >= 0 && i < d_.steps);
  const int B = d_.batch, C = d_.ctx_dim, Hd = d_.dec_dim, G = gates_;
  const float* ds = d_states + Size(i + 1, B, Hd);
  float* ds_prev = d_states + Size(i, B, Hd);
  const float* act = gx_.data() + Size(i, B, G);
  float* d_gx = d_gx_.data() + Size(i, B, G);
  float* d_gh = d_gx;
  if (cell_ == CellType::kGru) {
    d_gh = d_gh_.data() + Size(i, B, G);
    const float* gh = gh_.data() + Size(i, B, G);
    const float* s = states + Size(i, B, Hd);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b) {
      k::GruBackward(d_gx + Size(b, G), d_gh + Size(b, G), ds_prev + Size(b, Hd), ds + Size(b, Hd),
                     act + Size(b, G), gh + Size(b, G), s + Size(b, Hd), Hd);
    }
  } else {
    if (i == d_.steps - 1) std::fill(d_mem_.begin(), d_mem_.end(), 0.0f);
    const float* mem = mem_.data() + Size(i + 1, B, Hd);
    const float* mem_prev = mem_.data() + Size(i, B, Hd);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b) {
      k::LstmBackward(d_gx + Size(b, G), d_mem_.data() + Size(b, Hd), ds + Size(b, Hd),
                      act + Size(b, G), mem + Size(b, Hd), mem_prev + Size(b, Hd), Hd);
    }
  }
  d_h_mm_.Run(ds_prev, d_gh, p.weight_hh);
  d_c_mm_.Run(d_contexts + Size(i, B, C), d_gx, p.weight_ih + d_.emb_dim);
}

void DecoderCell::BackwardBatch(float* d_y_emb, const RnnGrads& g, const float* y_emb,
                                const float* states, const float* contexts, const RnnParams& p) {
  const std::int64_t TB = static_cast<std::int64_t>(d_.steps) * d_.batch;
  const float* d_gh = cell_ == CellType::kGru ? d_gh_.data() : d_gx_.data();
  d_wy_mm_.Run(g.weight_ih, d_gx_.data(), y_emb);
  d_wc_mm_.Run(g.weight_ih + d_.emb_dim, d_gx_.data(), contexts);
  d_whh_mm_.Run(g.weight_hh, d_gh, states);
  d_y_mm_.Run(d_y_emb, d_gx_.data(), p.weight_ih);
  AddColumnSums(g.bias_ih, d_gx_.data(), TB, gates_, gates_, 1.0f);
  AddColumnSums(g.bias_hh, d_gh, TB, gates_, gates_, 1.0f);
}

}  // namespace rnnsearch::ops
