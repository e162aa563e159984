// DecoderCellDecode (ops/decoder_cell.h): the decoder cell step of beam
// search, for any number of rows up to the maximum, nothing kept.
#include <cassert>

#include "ops/decoder_cell.h"
#include "ops/decoder_cell_kernels.h"

namespace rnnsearch::ops {

namespace k = cell_kernels;

DecoderCellDecode::DecoderCellDecode(Context& ctx, CellType cell, const DecoderCellDims& dims)
    : cell_(cell), d_(dims), gates_(GateCount(cell) * dims.dec_dim) {
  const std::int64_t B = d_.batch, E = d_.emb_dim, C = d_.ctx_dim, Hd = d_.dec_dim;
  const std::int64_t G = gates_, ld_ih = E + C;
  assert(B >= 1 && E >= 1 && C >= 1 && Hd >= 1);
  const bool gru = cell_ == CellType::kGru;
  gx_.resize(static_cast<std::size_t>(B * G));
  if (gru) gh_.resize(gx_.size());
  // gx [n, G] = y [n, E] . W_ih[:, :E]^T + b_ih, then += c [n, C] . W_ih[:, E:]^T.
  y_mm_ = MatmulView(ctx, B, E, G, RowMajor(E), Transposed(ld_ih), RowMajor(G), true, false,
                     /*runtime_rows=*/true);
  c_mm_ = MatmulView(ctx, B, C, G, RowMajor(C), Transposed(ld_ih), RowMajor(G), false, true,
                     /*runtime_rows=*/true);
  // GRU: gh [n, G] = s . W_hh^T + b_hh; LSTM: gx += the same.
  h_mm_ = MatmulView(ctx, B, Hd, G, RowMajor(Hd), Transposed(Hd), RowMajor(G), true, !gru,
                     /*runtime_rows=*/true);
}

void DecoderCellDecode::Step(float* s_out, float* mem_out, const float* y_emb, const float* ctx,
                             const float* s_prev, const float* mem_prev, int n,
                             const RnnParams& p) {
  assert(n >= 1 && n <= d_.batch);
  const int Hd = d_.dec_dim, G = gates_;
  const std::int64_t rows = n;
  y_mm_.Run(gx_.data(), y_emb, p.weight_ih, p.bias_ih, rows);
  c_mm_.Run(gx_.data(), ctx, p.weight_ih + d_.emb_dim, nullptr, rows);
  if (cell_ == CellType::kGru) {
    h_mm_.Run(gh_.data(), s_prev, p.weight_hh, p.bias_hh, rows);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; ++b) {
      const std::int64_t o = static_cast<std::int64_t>(b) * Hd,
                         og = static_cast<std::int64_t>(b) * G;
      k::GruForward(s_out + o, gx_.data() + og, gh_.data() + og, s_prev + o, Hd);
    }
  } else {
    assert(mem_out != nullptr && mem_prev != nullptr);
    h_mm_.Run(gx_.data(), s_prev, p.weight_hh, p.bias_hh, rows);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; ++b) {
      const std::int64_t o = static_cast<std::int64_t>(b) * Hd,
                         og = static_cast<std::int64_t>(b) * G;
      k::LstmForward(s_out + o, mem_out + o, gx_.data() + og, mem_prev + o, Hd);
    }
  }
}

}  // namespace rnnsearch::ops
